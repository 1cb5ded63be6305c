package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class BrokerAppendsTest {
  private static final TopicPartition LOG0 = new TopicPartition("iris.log", 0);
  private static final TopicPartition LOG1 = new TopicPartition("iris.log", 1);
  private static final TopicPartition DEDUP = new TopicPartition("iris-streams-dedup-changelog", 0);
  private static final TopicPartition RAW = new TopicPartition("bench.raw", 0);

  private static BrokerAppends.Count c(long records, long offsets) {
    return new BrokerAppends.Count(records, offsets);
  }

  @Test
  void grownRangesStartWhereThePartitionWasAndNewPartitionsStartAtZero() {
    Map<TopicPartition, long[]> ranges =
        BrokerAppends.grown(
            Map.of(LOG0, 100L, LOG1, 50L, RAW, 500L),
            Map.of(LOG0, 180L, LOG1, 50L, RAW, 500L, DEDUP, 30L));
    assertEquals(Set.of(LOG0, DEDUP), ranges.keySet());
    assertArrayEquals(new long[] {100, 180}, ranges.get(LOG0));
    assertArrayEquals(new long[] {0, 30}, ranges.get(DEDUP));
  }

  @Test
  void markersAreOffsetsBeyondRecords() {
    // iris.log: 300 records in transactions that wrote to its partitions 20 times.
    assertEquals(
        List.of(new BrokerAppends.Row("iris.log", 300, 20, 3.0)),
        BrokerAppends.rows(Map.of("iris.log", c(300, 320)), 100));
  }

  @Test
  void rowsGoMostRecordsFirstAndLeaveOutTopicsWithoutAppends() {
    assertEquals(
        List.of(
            new BrokerAppends.Row("iris.log", 300, 20, 3.0),
            new BrokerAppends.Row("iris-streams-dedup-changelog", 100, 10, 1.0),
            new BrokerAppends.Row("iris.commands", 100, 0, 1.0)),
        BrokerAppends.rows(
            Map.of(
                "iris.commands", c(100, 100),
                "quiet", c(0, 0),
                "iris.log", c(300, 320),
                "iris-streams-dedup-changelog", c(100, 110)),
            100));
  }

  @Test
  void offsetsBehindRecordsNeverMakeNegativeMarkers() {
    assertEquals(
        List.of(new BrokerAppends.Row("t", 12, 0, 3.0)),
        BrokerAppends.rows(Map.of("t", c(12, 10)), 4));
  }

  @Test
  void aRangeOfMarkersOnlyIsARowWithoutRecords() {
    // __consumer_offsets after transactional offset commits that were all compacted away: markers.
    assertEquals(
        List.of(new BrokerAppends.Row("__consumer_offsets", 0, 7, 0.0)),
        BrokerAppends.rows(Map.of("__consumer_offsets", c(0, 7)), 100));
  }

  @Test
  void totalsLeaveOutTheInputAndSumTheMarkers() {
    List<BrokerAppends.Row> rows =
        List.of(
            new BrokerAppends.Row("iris.log", 300, 20, 3.0),
            new BrokerAppends.Row("iris.commands", 100, 0, 1.0),
            new BrokerAppends.Row("changelog", 150, 10, 1.5));
    assertEquals(450, BrokerAppends.totalRecords(rows, Set.of("iris.commands")));
    assertEquals(550, BrokerAppends.totalRecords(rows, Set.of()));
    assertEquals(30, BrokerAppends.totalMarkers(rows));
  }

  @Test
  void noCommandsGivesZeroPerCommand() {
    assertEquals(0.0, BrokerAppends.rows(Map.of("t", c(5, 5)), 0).get(0).recordsPerCommand());
  }
}
