package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.DeviceRegistry;
import io.iris.protocol.thrift.Delta;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Kafka broker stopped and started again while two devices talk, on a stack of its own: the
 * bridge, the streams app and the MySQL sink recover by themselves; every message reaches both
 * devices once, in seq order without a gap, and MySQL ends with the same seqs.
 */
class BrokerRestartIT {
  private static final long UMA = 8_831;
  private static final long VIC = 8_832;
  private static final int EACH = 120;
  private static final long DOWN_MS = 10_000;

  @Test
  void aBrokerRestartShouldLoseAndDoubleNothing() throws Exception {
    Path dir = TestStacks.newDataDir("broker-restart");
    IrisStack stack = new IrisStack(new IrisConfig(TestStacks.ephemeralConfig(dir)));
    stack.preflight();
    stack.start(line -> {});
    try {
      int before = stack.devices().size();
      String umaToken = DeviceRegistry.register(stack.bootstrapServers(), UMA, "phone");
      String vicToken = DeviceRegistry.register(stack.bootstrapServers(), VIC, "phone");
      DeviceAuthIT.awaitRegistered(stack, before + 2);
      DeviceSyncIT.Phone uma = DeviceSyncIT.open(stack, UMA, "phone", umaToken, 0);
      DeviceSyncIT.Phone vic = DeviceSyncIT.open(stack, VIC, "phone", vicToken, 0);
      long thread =
          uma.device.createThread(List.of(VIC), "restart").get(30, TimeUnit.SECONDS).getThreadId();

      // A third before, a third while the broker is down, a third after it is back.
      List<CompletableFuture<Delta>> sends = new ArrayList<>();
      long stoppedAt = 0;
      long startedAt = 0;
      for (int i = 0; i < EACH; i++) {
        if (i == EACH / 3) {
          stack.embeddedKafka().close();
          stoppedAt = System.nanoTime();
        }
        if (i == 2 * EACH / 3) {
          long left = TimeUnit.MILLISECONDS.toNanos(DOWN_MS) - (System.nanoTime() - stoppedAt);
          if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
          }
          stack.embeddedKafka().start();
          startedAt = System.nanoTime();
        }
        sends.add(uma.device.send(thread, "uma " + i));
        sends.add(vic.device.send(thread, "vic " + i));
        Thread.sleep(50);
      }
      assertTrue(startedAt > 0, "the broker came back during the run");
      for (CompletableFuture<Delta> f : sends) {
        f.get(180, TimeUnit.SECONDS);
      }
      long recoveredMs = (System.nanoTime() - startedAt) / 1_000_000;
      long expected = 1 + 2L * EACH;
      DeviceSyncIT.await("Uma has everything", () -> uma.applied.size() >= expected);
      DeviceSyncIT.await("Vic has everything", () -> vic.applied.size() >= expected);
      Thread.sleep(500);
      ThreeWay.check(stack, UMA, uma.applied);
      ThreeWay.check(stack, VIC, vic.applied);
      for (DeviceSyncIT.Phone p : List.of(uma, vic)) {
        assertEquals(expected, p.applied.size(), "every delta once");
        DeviceSyncIT.assertContiguous(p.applied, 1);
        for (int i = 0; i < EACH; i++) {
          assertEquals(1, DeviceSyncIT.count(p, "uma " + i), "uma " + i);
          assertEquals(1, DeviceSyncIT.count(p, "vic " + i), "vic " + i);
        }
        p.device.close();
      }
      // MySQL ends with the same seqs: 1..expected for each user, once each.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      for (long user : List.of(UMA, VIC)) {
        long[] row = {0, 0, 0};
        while (System.nanoTime() < deadline) {
          try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
              Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MAX(seq), 0) FROM iris_deltas WHERE user_id = "
                          + user)) {
            rs.next();
            row = new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
          }
          if (row[0] >= expected) {
            break;
          }
          Thread.sleep(500);
        }
        assertEquals(expected, row[0], "MySQL rows of user " + user);
        assertEquals(expected, row[1], "distinct seqs of user " + user);
        assertEquals(expected, row[2], "no gap for user " + user);
      }
      FaultReport.row(
          "Kafka broker stopped and started",
          EACH + " messages each way between 2 devices",
          (startedAt - stoppedAt) / 1_000_000 + " ms down, a third of the messages sent meanwhile",
          "0 (each device = iris.log = MySQL: seq 1.." + expected + " per user)",
          "0",
          "every send confirmed " + recoveredMs + " ms after the broker was back");
      System.out.printf(
          "broker restart: down %d ms while %d messages each way were sent; every send confirmed"
              + " %d ms after it was back; devices and MySQL complete, nothing twice%n",
          (startedAt - stoppedAt) / 1_000_000, EACH, recoveredMs);
    } finally {
      stack.close();
      TestStacks.delete(dir);
    }
  }
}
