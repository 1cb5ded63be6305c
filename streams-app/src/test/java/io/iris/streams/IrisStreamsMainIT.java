package io.iris.streams;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.EmbeddedKafka;
import io.iris.topics.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process's promise on a real broker: when the Kafka Streams client dies while running, {@link
 * IrisStreamsMain} says so and exits with status 1 instead of idling on.
 */
class IrisStreamsMainIT {
  @TempDir Path dir;

  @Test
  void shouldExitWithStatus1WhenTheClientDiesWhileRunning() throws Exception {
    ExecutorService main = Executors.newSingleThreadExecutor();
    try (EmbeddedKafka kafka =
            new EmbeddedKafka(EmbeddedKafka.Settings.ephemeral(dir.resolve("kafka")));
        Admin admin = startWithTopics(kafka)) {
      StreamsMainConfig config =
          new StreamsMainConfig(
              Map.of(
                  StreamsMainConfig.BOOTSTRAP_SERVERS_CONFIG,
                  kafka.bootstrapServers(),
                  StreamsMainConfig.STATE_DIR_CONFIG,
                  dir.resolve("streams").toString(),
                  StreamsMainConfig.CLOSE_TIMEOUT_MS_CONFIG,
                  "10000",
                  // A failed thread does not leave the group: its replacement's rebalance waits
                  // for the session to time out, six times before the handler gives up.
                  StreamsAppConfig.SESSION_TIMEOUT_MS_CONFIG,
                  "6000"));
      IrisStreamsApp app =
          new IrisStreamsApp(config.appConfig(), config.bootstrapServers(), config.stateDir());
      ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
      PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
      CompletableFuture<Integer> status =
          CompletableFuture.supplyAsync(
              () -> IrisStreamsMain.runUntilFailed(app, config, err), main);
      try {
        await()
            .atMost(Duration.ofMinutes(2))
            .until(() -> app.state() == KafkaStreams.State.RUNNING);
        assertFalse(status.isDone());

        // Someone deletes the topic the app reads: every stream thread fails on the next
        // rebalance, the replacements fail alike, and the handler shuts the client down.
        admin.deleteTopics(List.of(Topics.COMMANDS.name())).all().get(30, TimeUnit.SECONDS);

        assertEquals(1, status.get(3, TimeUnit.MINUTES));
        String said = errBytes.toString(StandardCharsets.UTF_8);
        assertTrue(
            said.startsWith("iris-streams: the streams app failed (Kafka Streams state"), said);
        assertTrue(app.failed().isDone());
        assertEquals(KafkaStreams.State.NOT_RUNNING, app.state(), "closed after the failure");
      } finally {
        app.close(Duration.ofSeconds(10));
      }
    } finally {
      main.shutdownNow();
    }
  }

  private static Admin startWithTopics(EmbeddedKafka kafka) throws Exception {
    kafka.start();
    Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    admin
        .createTopics(
            List.of(
                new NewTopic(Topics.COMMANDS.name(), 1, (short) 1),
                new NewTopic(Topics.LOG.name(), 1, (short) 1),
                new NewTopic(Topics.DLQ.name(), 1, (short) 1)))
        .all()
        .get(30, TimeUnit.SECONDS);
    return admin;
  }
}
