package io.iris.bridge.edge;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.PacedMockConsumer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CompactedTopicViewTest {
  private static final String TOPIC = "iris.test-table";
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
  private static final TopicPartition P1 = new TopicPartition(TOPIC, 1);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final PacedMockConsumer<String, String> consumer = new PacedMockConsumer<>("earliest");
  private final Map<String, String> table = new ConcurrentHashMap<>();
  private final CompactedTopicView<String, String> view =
      EdgeFixtures.view(
          TOPIC,
          consumer,
          (k, v) -> {
            if ("poison".equals(v)) {
              throw new IllegalArgumentException("cannot apply " + k);
            }
            if (v == null) {
              table.remove(k);
            } else {
              table.put(k, v);
            }
          });

  CompactedTopicViewTest() {
    consumer.updatePartitions(
        TOPIC,
        List.of(
            new PartitionInfo(TOPIC, 0, null, null, null),
            new PartitionInfo(TOPIC, 1, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
  }

  @AfterEach
  void close() {
    view.close();
  }

  private void arrives(TopicPartition tp, long offset, String key, String value) {
    consumer.addRecord(new ConsumerRecord<>(tp.topic(), tp.partition(), offset, key, value));
  }

  @Test
  void shouldReturnFromStartOnlyOnceEverythingThatWasThereIsApplied() {
    consumer.updateEndOffsets(Map.of(P0, 2L, P1, 1L));
    consumer.schedulePollTask(
        () -> {
          arrives(P0, 0, "a", "1");
          arrives(P1, 0, "c", "3");
        });
    consumer.schedulePollTask(() -> {}); // a poll that brings nothing
    consumer.schedulePollTask(() -> arrives(P0, 1, "b", "2"));

    view.start(WAIT);

    assertEquals(Map.of("a", "1", "b", "2", "c", "3"), table);
    assertNull(view.failure());
  }

  @Test
  void shouldStartAtOnceOnAnEmptyTopic() {
    consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));

    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> view.start(WAIT));

    assertTrue(table.isEmpty());
  }

  @Test
  void shouldKeepFollowingTheTopicAfterLoadingIt() {
    consumer.updateEndOffsets(Map.of(P0, 1L, P1, 0L));
    consumer.schedulePollTask(() -> arrives(P0, 0, "a", "1"));
    view.start(WAIT);

    consumer.schedulePollTask(
        () -> {
          arrives(P0, 1, "a", "1b");
          arrives(P1, 0, "d", "4");
        });
    await().atMost(WAIT).until(() -> table.equals(Map.of("a", "1b", "d", "4")));

    consumer.schedulePollTask(() -> arrives(P1, 1, "d", null));
    await().atMost(WAIT).until(() -> table.equals(Map.of("a", "1b")));
    assertNull(view.failure());
  }

  @Test
  void shouldSkipARecordItsCallbackRefusesAndCarryOn() {
    consumer.updateEndOffsets(Map.of(P0, 3L, P1, 0L));
    consumer.schedulePollTask(
        () -> {
          arrives(P0, 0, "a", "1");
          arrives(P0, 1, "x", "poison");
          arrives(P0, 2, "b", "2");
        });

    view.start(WAIT);

    assertEquals(Map.of("a", "1", "b", "2"), table);
    assertNull(view.failure(), "one bad record does not stop the view");
  }

  @Test
  void shouldGiveUpStartingWhenTheTopicCannotBeReadInTime() {
    consumer.updateEndOffsets(Map.of(P0, 5L, P1, 0L)); // five records that never come

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> view.start(Duration.ofMillis(300)));

    assertTrue(e.getMessage().contains(TOPIC), e.getMessage());
  }

  @Test
  void shouldKeepWhyItStoppedWhenTheConsumerFails() {
    consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));
    view.start(WAIT);
    KafkaException broken = new KafkaException("broker gone");

    consumer.setPollException(broken);

    await().atMost(WAIT).until(() -> view.failure() != null);
    assertSame(broken, view.failure());
    await().atMost(WAIT).until(consumer::closed);
  }

  /**
   * When the consumer fails while the topic is being loaded (no ACL to read it, say), start() says
   * so at once with the cause, instead of waiting its whole timeout (60 s in IrisBridge) and
   * reporting a timeout without it.
   */
  @Test
  void shouldFailStartAtOnceWithTheCauseWhenTheConsumerDiesWhileLoading() {
    consumer.updateEndOffsets(Map.of(P0, 5L, P1, 0L));
    KafkaException broken = new KafkaException("not authorised");
    consumer.setPollException(broken);

    IllegalStateException e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(5),
            () ->
                assertThrows(
                    IllegalStateException.class, () -> view.start(Duration.ofSeconds(30))));

    assertSame(broken, e.getCause());
  }

  @Test
  void shouldStopCleanlyOnCloseAndCloseItsConsumer() {
    consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));
    view.start(WAIT);

    view.close();
    view.close();

    assertTrue(consumer.closed());
    assertNull(view.failure(), "a clean stop is not a failure");
  }

  @Test
  void shouldCloseQuietlyWhenNeverStarted() {
    view.close();

    assertNull(view.failure());
  }
}
