package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The operator's tools, run from the packaged jar as an operator runs them, against the shared
 * stack: {@code iris pointers}, {@code iris tail}, and Kafka's stock console consumer with the
 * project's formatter.
 */
class InspectToolsIT {
  private static final long ZOE = UserIds.next();
  private static final long ZOES_FRIEND = UserIds.next();

  static String run(Map<String, String> env, String... args) throws Exception {
    try (LauncherProcess p = LauncherProcess.start(env, args)) {
      int rc = p.waitFor(Duration.ofSeconds(90));
      assertEquals(0, rc, Arrays.toString(args) + ": " + p.stdout() + p.stderr());
      return p.stdout();
    }
  }

  @Test
  void shouldShowAUsersPointersDeltasAndRecords() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), ZOE, "phone");
    TestStacks.awaitRegistered(stack, before + 1);
    Phone phone = Phone.open(stack, ZOE, "phone", token);
    long thread =
        phone
            .device
            .createThread(List.of(ZOES_FRIEND), "tools")
            .get(30, TimeUnit.SECONDS)
            .getThreadId();
    Phone.sendAll(phone, thread, "tool", 4);
    Waits.await("5 deltas", () -> phone.applied.size() == 5);
    long last = phone.applied.get(4).getPos();
    Waits.await(
        "acked",
        () ->
            stack.pointers().get(ZOE, "phone") != null
                && stack.pointers().get(ZOE, "phone").getAckedPos() == phone.last());
    phone.device.close();
    Path dir = TestStacks.newDataDir("tools");
    try {
      Map<String, String> env = LauncherProcess.env(stack, dir);

      String pointers = run(env, "pointers", "--user", Long.toString(ZOE));
      // Every pointer is at or past the user's last delta: nothing of the user after them.
      assertTrue(pointers.contains("no delta of the user from offset "), pointers);
      assertTrue(last <= phone.last(), "the phone holds its last delta");
      assertTrue(
          pointers.matches(
              "(?s).*\\nphone\\s+" + String.format("%,d", phone.last()) + "\\s+0\\s.*"),
          pointers);
      assertTrue(pointers.contains("stored in MySQL"), pointers);
      assertTrue(pointers.contains("epoch " + stack.bridge().layout().epoch()), pointers);
      assertTrue(pointers.contains("connect-iris-mysql-sink"), pointers);
      assertTrue(pointers.contains("iris-mqtt-bridge"), pointers);

      String tail =
          run(env, "tail", "--user", Long.toString(ZOE), "--from-beginning", "--max", "5");
      List<String> lines = tail.lines().filter(l -> l.startsWith("{")).toList();
      assertEquals(5, lines.size(), tail);
      for (int i = 0; i < 5; i++) {
        assertTrue(
            lines.get(i).contains("\"pos\":\"" + phone.applied.get(i).getPos() + "\""),
            lines.get(i));
        assertTrue(lines.get(i).contains("\"userId\":\"" + ZOE + "\""), lines.get(i));
      }
      assertTrue(lines.get(1).contains("\"text\":\"tool 0\""), lines.get(1));

      String console =
          run(
              env,
              "kafka",
              "kafka-console-consumer",
              "--bootstrap-server",
              stack.bootstrapServers(),
              "--topic",
              "iris.devices",
              "--from-beginning",
              "--max-messages",
              "1",
              "--timeout-ms",
              "30000",
              "--formatter",
              "io.iris.topics.IrisRecordFormatter");
      String record = console.lines().filter(l -> l.startsWith("{")).findFirst().orElse("");
      assertTrue(record.contains("\"topic\":\"iris.devices\""), console);
      assertTrue(record.contains("\"deviceId\""), record);
      assertTrue(record.contains("\"tokenHash\":\"\""), "hash blanked: " + record);
      assertFalse(record.contains("base64"), record);
    } finally {
      TestStacks.delete(dir);
    }
  }
}
