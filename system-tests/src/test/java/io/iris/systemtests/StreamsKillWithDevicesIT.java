package io.iris.systemtests;

import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.Conversations;
import io.iris.testkit.FaultReport;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The streams app, run apart as {@code iris streams}, killed with SIGKILL while 10 pairs of devices
 * talk through a stack of its own, and started again: every device ends with every delta of its
 * user once, in position order, the same as iris.log and MySQL hold (StreamsCrashIT checks the same
 * crash on iris.log alone, at a higher rate).
 */
class StreamsKillWithDevicesIT {
  private static final int PAIRS = 10;
  private static final int ROUNDS = 45;

  @Test
  void aStreamsAppKilledHardShouldLoseAndDoubleNothingForDevices() throws Exception {
    Path dir = TestStacks.newDataDir("streams-kill");
    Map<String, Object> config = TestStacks.ephemeralConfig(dir);
    config.put(IrisConfig.RUN_STREAMS_CONFIG, false);
    IrisStack stack = new IrisStack(new IrisConfig(config));
    stack.preflight();
    stack.start(line -> {});
    Path streamsDir = dir.resolve("streams-process");
    Map<String, String> env =
        Map.of(
            "IRIS_KAFKA_BOOTSTRAP_SERVERS",
            stack.bootstrapServers(),
            "IRIS_DATA_DIR",
            streamsDir.toString(),
            "IRIS_STREAMS_SESSION_TIMEOUT_MS",
            "6000",
            "IRIS_STREAMS_REPLICATION_FACTOR",
            "1");
    LauncherProcess streams =
        LauncherProcess.start(env, "streams", "--instance", "a", "--ops-port", "0");
    try {
      streams.awaitOutput("streams app running", Duration.ofSeconds(90));
      try (Conversations talk =
          new Conversations(
              stack, UserIds.block(2 * PAIRS), PAIRS, i -> new String[] {StockMqtt.url(stack)})) {
        long killedAt = 0;
        long backIn = 0;
        for (int r = 0; r < ROUNDS; r++) {
          if (r == ROUNDS / 3) {
            streams.kill();
            killedAt = System.nanoTime();
            streams.close();
            streams = LauncherProcess.start(env, "streams", "--instance", "a", "--ops-port", "0");
          }
          if (r == ROUNDS / 2) {
            streams.awaitOutput("streams app running", Duration.ofSeconds(90));
            backIn = (System.nanoTime() - killedAt) / 1_000_000;
          }
          talk.round();
          // Pacing: a round every 100 ms, so that the kill and the restart fall mid-conversation.
          Thread.sleep(100);
        }
        talk.check(stack);
        FaultReport.row(
            "streams app process killed (SIGKILL) and restarted, with devices",
            String.format(
                "%d devices in %d pairs, %,d messages", 2 * PAIRS, PAIRS, talk.messages()),
            "kill -9 after a third of the rounds, a new process started at once",
            "0 (each device = iris.log = MySQL)",
            "0 (position chains unbroken at every device)",
            "new instance running " + backIn + " ms after the kill");
      }
    } finally {
      streams.close();
      stack.close();
      TestStacks.delete(dir);
    }
  }
}
