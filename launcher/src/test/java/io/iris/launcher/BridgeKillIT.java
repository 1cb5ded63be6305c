package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.bridge.DeviceRegistry;
import io.iris.embedded.Ports;
import io.iris.protocol.thrift.Delta;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A bridge process ({@code iris bridge}, as an operator runs it) is killed with SIGKILL while two
 * devices talk through it and the shared stack's bridge, and restarted on the same port: its device
 * reconnects and catches up, the sends it made while the bridge was gone are resent, and each side
 * ends with every message exactly once, in seq order without a gap.
 */
class BridgeKillIT {
  private static final long KIM = 8_821;
  private static final long LEE = 8_822;
  private static final int EACH = 150;

  @Test
  void aBridgeKilledHardAndRestartedShouldLoseNothing() throws Exception {
    IrisStack shared = TestStacks.shared();
    Path dir = TestStacks.newDataDir("bridge-kill");
    int port = Ports.freePort();
    Map<String, String> env = new HashMap<>(InspectToolsIT.env(shared, dir));
    env.put("IRIS_MQTT_PORT", Integer.toString(port));
    env.put("IRIS_OPS_PORT", Integer.toString(Ports.freePort()));
    int before = shared.devices().size();
    String kimToken = DeviceRegistry.register(shared.bootstrapServers(), KIM, "phone");
    String leeToken = DeviceRegistry.register(shared.bootstrapServers(), LEE, "phone");
    DeviceAuthIT.awaitRegistered(shared, before + 2);
    LauncherProcess bridge = LauncherProcess.start(env, "bridge");
    try {
      bridge.awaitOutput("iris: up in", Duration.ofSeconds(90));
      String processBridge = "tcp://127.0.0.1:" + port;
      // Kim on the bridge that will die; Lee on the shared stack's bridge.
      DeviceSyncIT.Phone kim = BridgeScaleOutIT.open(null, KIM, kimToken, 0, processBridge);
      DeviceSyncIT.Phone lee =
          BridgeScaleOutIT.open(null, LEE, leeToken, 0, BridgeScaleOutIT.uri(shared));
      long thread =
          kim.device.createThread(List.of(LEE), "kill").get(30, TimeUnit.SECONDS).getThreadId();

      List<CompletableFuture<Delta>> sends = new ArrayList<>();
      long killedAt = 0;
      long restartedIn = 0;
      for (int i = 0; i < EACH; i++) {
        sends.add(kim.device.send(thread, "kim " + i));
        sends.add(lee.device.send(thread, "lee " + i));
        if (i == EACH / 3) {
          bridge.kill();
          killedAt = System.nanoTime();
        }
        if (i == EACH / 2) {
          bridge.close();
          bridge = LauncherProcess.start(env, "bridge");
          bridge.awaitOutput("iris: up in", Duration.ofSeconds(90));
          restartedIn = (System.nanoTime() - killedAt) / 1_000_000;
        }
        Thread.sleep(20);
      }
      for (CompletableFuture<Delta> f : sends) {
        f.get(120, TimeUnit.SECONDS);
      }
      long expected = 1 + 2L * EACH; // the thread, then every message
      DeviceSyncIT.await("Kim has everything", () -> kim.applied.size() >= expected);
      DeviceSyncIT.await("Lee has everything", () -> lee.applied.size() >= expected);
      Thread.sleep(500);
      ThreeWay.check(shared, KIM, kim.applied);
      ThreeWay.check(shared, LEE, lee.applied);
      for (DeviceSyncIT.Phone p : List.of(kim, lee)) {
        assertEquals(expected, p.applied.size(), "every delta once");
        DeviceSyncIT.assertContiguous(p.applied, 1);
        for (int i = 0; i < EACH; i++) {
          assertEquals(1, DeviceSyncIT.count(p, "kim " + i), "kim " + i);
          assertEquals(1, DeviceSyncIT.count(p, "lee " + i), "lee " + i);
        }
        p.device.close();
      }
      FaultReport.row(
          "bridge process killed (SIGKILL) and restarted",
          EACH + " messages each way between 2 devices, one on the killed bridge",
          "kill -9 after a third of the messages",
          "0 (each device = iris.log = MySQL, every message at both)",
          "0 (seqs contiguous at both)",
          "bridge up again in " + restartedIn + " ms; device reconnected, caught up, resent");
      System.out.printf(
          "bridge killed with SIGKILL and back in %d ms; %d messages each way, none lost or twice%n",
          restartedIn, EACH);
    } finally {
      bridge.close();
      TestStacks.delete(dir);
    }
  }
}
