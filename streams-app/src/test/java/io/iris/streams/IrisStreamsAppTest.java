package io.iris.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a host can rely on without a broker; the failure of a real client is IrisStreamsMainIT's.
 */
class IrisStreamsAppTest {
  @TempDir Path dir;

  IrisStreamsApp app() {
    return new IrisStreamsApp(
        new StreamsAppConfig(new HashMap<>()), "127.0.0.1:" + Ports.freePort(), dir);
  }

  @Test
  void shouldPassTheTunedSettingsToKafkaStreams() {
    java.util.Properties p = app().streamsProperties();
    assertEquals(
        false, p.get(org.apache.kafka.streams.StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG));
    assertEquals(0L, p.get(org.apache.kafka.streams.StreamsConfig.MAX_TASK_IDLE_MS_CONFIG));
    java.util.Map<String, Object> set = new HashMap<>();
    set.put(StreamsAppConfig.TRANSACTIONAL_STATE_STORES_CONFIG, "true");
    set.put(StreamsAppConfig.MAX_TASK_IDLE_MS_CONFIG, "250");
    set.put(StreamsAppConfig.NUM_STANDBY_REPLICAS_CONFIG, "1");
    java.util.Properties tuned =
        new IrisStreamsApp(new StreamsAppConfig(set), "127.0.0.1:1", dir).streamsProperties();
    assertEquals(
        true, tuned.get(org.apache.kafka.streams.StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG));
    assertEquals(250L, tuned.get(org.apache.kafka.streams.StreamsConfig.MAX_TASK_IDLE_MS_CONFIG));
    assertEquals(0, p.get(org.apache.kafka.streams.StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG));
    assertEquals(1, tuned.get(org.apache.kafka.streams.StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG));
    assertEquals(
        java.util.List.of(), app().kafkaMetrics("stream-thread-metrics", "commit-latency-avg"));
  }

  @Test
  void shouldPassTheKafkaClientPropertiesOfTheStreamsRoleToEveryClient() {
    java.util.Map<String, Object> set = new HashMap<>();
    set.put("kafka.client.security.protocol", "SASL_SSL");
    set.put("kafka.client.streams.sasl.mechanism", "SCRAM-SHA-512");
    set.put("kafka.client.bridge.sasl.mechanism", "PLAIN");
    set.put("kafka.client.streams.processing.guarantee", "at_least_once");
    java.util.Properties p =
        new IrisStreamsApp(new StreamsAppConfig(set), "127.0.0.1:1", dir).streamsProperties();
    assertEquals("SASL_SSL", p.get("security.protocol"));
    assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"), "the streams role's, not the bridge's");
    assertEquals(
        "exactly_once_v2",
        p.get(org.apache.kafka.streams.StreamsConfig.PROCESSING_GUARANTEE_CONFIG),
        "the app's own settings win");
  }

  @Test
  void shouldJoinAsTheSameStaticMemberAcrossRestartsOfOneStateDirectory() throws Exception {
    String key =
        org.apache.kafka.streams.StreamsConfig.consumerPrefix(
            org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    Object first = app().streamsProperties().get(key);
    assertTrue(String.valueOf(first).startsWith("iris-streams-"), String.valueOf(first));
    assertEquals(first, app().streamsProperties().get(key), "kept in the state directory");
    assertEquals(
        first + "\n", java.nio.file.Files.readString(dir.resolve(IrisStreamsApp.INSTANCE_ID_FILE)));
    Path other = dir.resolve("other");
    Object second =
        new IrisStreamsApp(new StreamsAppConfig(new HashMap<>()), "127.0.0.1:1", other)
            .streamsProperties()
            .get(key);
    assertNotEquals(first, second, "another state directory is another member");

    java.util.Map<String, Object> named = new HashMap<>();
    named.put(StreamsAppConfig.GROUP_INSTANCE_ID_CONFIG, "streams-a");
    assertEquals(
        "streams-a",
        new IrisStreamsApp(new StreamsAppConfig(named), "127.0.0.1:1", other)
            .streamsProperties()
            .get(key));
    java.util.Map<String, Object> dynamic = new HashMap<>();
    dynamic.put(StreamsAppConfig.STATIC_MEMBERSHIP_CONFIG, "false");
    assertFalse(
        new IrisStreamsApp(new StreamsAppConfig(dynamic), "127.0.0.1:1", dir)
            .streamsProperties()
            .containsKey(key));
  }

  @Test
  void shouldNotReportAFailureBeforeOne() {
    IrisStreamsApp app = app();
    assertFalse(app.failed().isDone());
    assertEquals(KafkaStreams.State.NOT_RUNNING, app.state());
    app.close(); // before start: nothing to do
    assertFalse(app.failed().isDone(), "a close is not a failure");
  }

  @Test
  void shouldReportTheFirstFailingStateOnceOnAThreadOfItsOwn() throws Exception {
    IrisStreamsApp app = app();
    CompletableFuture<String> completedOn =
        app.failed().thenApply(s -> s + " on " + Thread.currentThread().getName());
    app.fail(KafkaStreams.State.PENDING_ERROR);
    app.fail(KafkaStreams.State.ERROR);
    assertEquals("PENDING_ERROR on iris-streams-failed", completedOn.get(10, TimeUnit.SECONDS));
    assertEquals(KafkaStreams.State.PENDING_ERROR, app.failed().get(10, TimeUnit.SECONDS));
  }

  @Test
  void shouldHandEachCallerACopyThatOnlyTheCallerCanComplete() throws Exception {
    IrisStreamsApp app = app();
    CompletableFuture<KafkaStreams.State> mine = app.failed();
    mine.complete(KafkaStreams.State.RUNNING);
    mine.cancel(true);
    assertFalse(app.failed().isDone());
    app.fail(KafkaStreams.State.ERROR);
    assertEquals(KafkaStreams.State.ERROR, app.failed().get(10, TimeUnit.SECONDS));
    assertNotEquals(KafkaStreams.State.ERROR, mine.getNow(null));
  }

  @Test
  void shouldGiveUpStartingAfterTheTimeoutAndCloseWithinItsOwn() {
    IrisStreamsApp app = app();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> app.start(Duration.ofMillis(500)));
    assertTrue(
        e.getMessage().startsWith("streams app did not reach RUNNING within"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> app.start(Duration.ofMillis(500)));
    assertTimeout(Duration.ofSeconds(10), () -> app.close(Duration.ofSeconds(2)));
    assertEquals(KafkaStreams.State.NOT_RUNNING, app.state());
    assertFalse(app.failed().isDone());
  }
}
