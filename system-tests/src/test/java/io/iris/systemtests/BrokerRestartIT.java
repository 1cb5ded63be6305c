package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.Conversations;
import io.iris.testkit.FaultReport;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Kafka broker stopped and started again while 10 pairs of devices talk, on a stack of its own:
 * the bridge, the streams app and the MySQL sink recover by themselves; every device ends with
 * every delta of its user once, in position order, the same as iris.log and MySQL hold.
 */
class BrokerRestartIT {
  private static final int PAIRS = 10;
  private static final int ROUNDS = 60;
  private static final long DOWN_MS = 10_000;

  @Test
  void aBrokerRestartShouldLoseAndDoubleNothing() throws Exception {
    Path dir = TestStacks.newDataDir("broker-restart");
    IrisStack stack = new IrisStack(new IrisConfig(TestStacks.ephemeralConfig(dir)));
    stack.preflight();
    stack.start(line -> {});
    try (Conversations talk =
        new Conversations(
            stack, UserIds.block(2 * PAIRS), PAIRS, i -> new String[] {StockMqtt.url(stack)})) {
      // A third of the rounds before, a third while the broker is down, a third after.
      long stoppedAt = 0;
      long startedAt = 0;
      for (int r = 0; r < ROUNDS; r++) {
        if (r == ROUNDS / 3) {
          stack.embeddedKafka().close();
          stoppedAt = System.nanoTime();
        }
        if (r == 2 * ROUNDS / 3) {
          long left = TimeUnit.MILLISECONDS.toNanos(DOWN_MS) - (System.nanoTime() - stoppedAt);
          // The fault is held: the broker stays down DOWN_MS in all, whatever the rounds took.
          if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
          }
          stack.embeddedKafka().start();
          startedAt = System.nanoTime();
        }
        talk.round();
        // Pacing: a round every 150 ms, before, during and after the broker's absence.
        Thread.sleep(150);
      }
      assertTrue(startedAt > 0);
      talk.check(stack);
      long recoveredMs = (System.nanoTime() - startedAt) / 1_000_000;
      FaultReport.row(
          "Kafka broker stopped and started",
          String.format(
              "%d devices in %d pairs, %,d messages (about %d/s)",
              2 * PAIRS, PAIRS, talk.messages(), 2 * PAIRS * 1000 / 150),
          (startedAt - stoppedAt) / 1_000_000 + " ms down, a third of the messages sent meanwhile",
          "0 (each device = iris.log = MySQL)",
          "0",
          "every send confirmed and every device complete "
              + recoveredMs
              + " ms after the broker was back");
    } finally {
      stack.close();
      TestStacks.delete(dir);
    }
  }
}
