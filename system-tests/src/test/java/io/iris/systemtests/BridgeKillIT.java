package io.iris.systemtests;

import io.iris.embedded.Ports;
import io.iris.launcher.IrisStack;
import io.iris.testkit.Conversations;
import io.iris.testkit.FaultReport;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A bridge process ({@code iris bridge}, as an operator runs it) is killed with SIGKILL while 10
 * pairs of devices talk, one device of each pair on it and the other on the shared stack's bridge,
 * and restarted on the same port: its devices reconnect and catch up, the sends they made while it
 * was gone are resent, and every device ends with every delta once, in position order, the same as
 * iris.log and MySQL hold.
 */
class BridgeKillIT {
  private static final int PAIRS = 10;
  private static final int ROUNDS = 45;

  @Test
  void aBridgeKilledHardAndRestartedShouldLoseNothing() throws Exception {
    IrisStack shared = TestStacks.shared();
    Path dir = TestStacks.newDataDir("bridge-kill");
    int port = Ports.freePort();
    Map<String, String> env = new HashMap<>(LauncherProcess.env(shared, dir));
    env.put("IRIS_MQTT_PORT", Integer.toString(port));
    env.put("IRIS_OPS_PORT", Integer.toString(Ports.freePort()));
    LauncherProcess bridge = LauncherProcess.start(env, "bridge");
    String processBridge = "tcp://127.0.0.1:" + port;
    try {
      bridge.awaitOutput("iris: up in", Duration.ofSeconds(90));
      try (Conversations talk =
          new Conversations(
              shared,
              UserIds.block(2 * PAIRS),
              PAIRS,
              i -> new String[] {i % 2 == 0 ? processBridge : StockMqtt.url(shared)})) {
        long killedAt = 0;
        long restartedIn = 0;
        for (int r = 0; r < ROUNDS; r++) {
          if (r == ROUNDS / 3) {
            bridge.kill();
            killedAt = System.nanoTime();
          }
          if (r == ROUNDS / 2) {
            bridge.close();
            bridge = LauncherProcess.start(env, "bridge");
            bridge.awaitOutput("iris: up in", Duration.ofSeconds(90));
            restartedIn = (System.nanoTime() - killedAt) / 1_000_000;
          }
          talk.round();
          // Pacing: a round every 100 ms, so that the kill and the restart fall mid-conversation.
          Thread.sleep(100);
        }
        talk.check(shared);
        FaultReport.row(
            "bridge process killed (SIGKILL) and restarted",
            String.format(
                "%d devices in %d pairs, one of each pair on the killed bridge; %,d messages",
                2 * PAIRS, PAIRS, talk.messages()),
            "kill -9 after a third of the rounds",
            "0 (each device = iris.log = MySQL)",
            "0 (position chains unbroken at every device)",
            "bridge up again in "
                + restartedIn
                + " ms; its devices reconnected, caught up, resent");
      }
    } finally {
      bridge.close();
      TestStacks.delete(dir);
    }
  }
}
