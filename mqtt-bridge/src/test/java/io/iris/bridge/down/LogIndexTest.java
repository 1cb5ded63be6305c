package io.iris.bridge.down;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.PacedMockConsumer;
import io.iris.protocol.thrift.LogBookmarks;
import io.iris.topics.Topics;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class LogIndexTest {
  private static final String INDEX = Topics.LOG_INDEX.name();

  private final PacedMockConsumer<Long, LogBookmarks> consumer =
      new PacedMockConsumer<>("earliest");
  private final MockProducer<Long, LogBookmarks> producer =
      new MockProducer<>(
          true,
          null,
          Topics.LOG_INDEX.keySerde().serializer(),
          Topics.LOG_INDEX.valueSerde().serializer());
  private final LogIndex index = new LogIndex(producer, () -> consumer);
  private final UserLogs logs = new UserLogs(4, 10, 3, 3, b -> {});

  private static ConsumerRecord<Long, LogBookmarks> entry(
      int partition, long offset, long user, LogBookmarks value) {
    return new ConsumerRecord<>(INDEX, partition, offset, user, value);
  }

  private static LogBookmarks bookmarks(long user, int partition, long seq, long offset) {
    return new LogBookmarks(user, partition, List.of(seq), List.of(offset));
  }

  @Test
  void shouldWriteAUsersBookmarksToTheIndexPartitionNumberedLikeItsLogPartition() {
    LogBookmarks b = new LogBookmarks(42, 3, List.of(1L, 33L), List.of(100L, 900L));

    index.write(b);

    ProducerRecord<Long, LogBookmarks> r = producer.history().get(0);
    assertEquals(INDEX, r.topic());
    assertEquals(3, r.partition());
    assertEquals(42L, r.key());
    assertEquals(b, r.value());
  }

  @Test
  void shouldRestoreTheIndexPartitionsOfTheGivenLogPartitionsToTheirEnd() {
    TopicPartition i0 = new TopicPartition(INDEX, 0);
    TopicPartition i2 = new TopicPartition(INDEX, 2);
    consumer.updateBeginningOffsets(Map.of(i0, 0L, i2, 5L));
    consumer.updateEndOffsets(Map.of(i0, 2L, i2, 8L));
    consumer.schedulePollTask(
        () -> {
          consumer.addRecord(entry(0, 0, 42, bookmarks(42, 0, 1, 10)));
          consumer.addRecord(entry(2, 5, 44, bookmarks(44, 2, 1, 70)));
          consumer.addRecord(entry(2, 6, 45, null)); // a tombstone
        });
    consumer.schedulePollTask(
        () -> {
          consumer.addRecord(entry(0, 1, 42, bookmarks(42, 0, 9, 90)));
          consumer.addRecord(entry(2, 7, 46, bookmarks(46, 2, 3, 80)));
        });

    int restored =
        index.restore(
            List.of(
                new TopicPartition(Topics.LOG.name(), 0), new TopicPartition(Topics.LOG.name(), 2)),
            logs);

    assertEquals(4, restored, "tombstones are not bookmarks");
    assertEquals(2, consumer.polls(), "read to the end, not beyond");
    assertEquals(9, logs.head(42), "the newest entry of a user wins");
    assertEquals(new UserLogs.Bookmark(0, 9, 90), logs.bookmarkAtOrBefore(42, 9));
    assertEquals(new UserLogs.Bookmark(2, 3, 80), logs.bookmarkAtOrBefore(46, 5));
    assertTrue(consumer.closed());
  }

  @Test
  void shouldNotReadTheIndexForNoPartitions() {
    LogIndex unused =
        new LogIndex(
            producer,
            () -> {
              throw new AssertionError("no consumer needed");
            });

    assertEquals(0, unused.restore(List.of(), logs));
    assertNull(logs.bookmarkAtOrBefore(42, 1));
  }

  @Test
  void shouldCloseItsProducer() {
    index.close();

    assertTrue(producer.closed());
  }
}
