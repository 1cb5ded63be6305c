package io.iris.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What the broker appended between two moments, per topic, internal topics included: records, read
 * back (read_uncommitted, so records of aborted transactions count, as they were appended), and
 * offsets, from the partitions' end offsets. The offsets also count the transaction markers, one
 * per partition a transaction wrote to (the broker's {@code BrokerTopicMetrics MessagesInPerSec}
 * counts them too: it counts offsets, not records), so offset growth minus records is the markers
 * written in between.
 */
final class BrokerAppends {
  /** Feature name of the transaction protocol version (KIP-890 part 2 is version 2). */
  static final String TRANSACTION_VERSION = "transaction.version";

  private BrokerAppends() {}

  /** Records read back and offsets used, of one topic between two moments. */
  record Count(long records, long offsets) {}

  /**
   * One topic between two moments: records appended, offsets used by transaction markers (offset
   * growth minus records), and records per command.
   */
  record Row(String topic, long records, long markers, double recordsPerCommand) {}

  /** The end offset of every partition the broker has, internal topics included. */
  static Map<TopicPartition, Long> endOffsets(Admin admin)
      throws ExecutionException, InterruptedException {
    Set<String> topics = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get().values()) {
      d.partitions()
          .forEach(
              p -> latest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest()));
    }
    Map<TopicPartition, Long> offsets = new HashMap<>();
    admin.listOffsets(latest).all().get().forEach((tp, info) -> offsets.put(tp, info.offset()));
    return offsets;
  }

  /**
   * The ranges that grew from {@code before} to {@code after}: partition to [from, to). A partition
   * missing from {@code before} was created in between and starts at 0.
   */
  static Map<TopicPartition, long[]> grown(
      Map<TopicPartition, Long> before, Map<TopicPartition, Long> after) {
    Map<TopicPartition, long[]> ranges = new HashMap<>();
    after.forEach(
        (tp, end) -> {
          long from = before.getOrDefault(tp, 0L);
          if (end > from) {
            ranges.put(tp, new long[] {from, end});
          }
        });
    return ranges;
  }

  /**
   * Reads the grown ranges back and counts, per topic, the records (read_uncommitted: control
   * records are not returned, aborted ones are) and the offsets the ranges span.
   */
  static Map<String, Count> appended(String bootstrap, Map<TopicPartition, long[]> ranges) {
    Map<String, long[]> counts = new TreeMap<>();
    ranges.forEach(
        (tp, r) -> counts.computeIfAbsent(tp.topic(), t -> new long[2])[1] += r[1] - r[0]);
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(ranges.keySet());
      ranges.forEach((tp, r) -> consumer.seek(tp, r[0]));
      Set<TopicPartition> open = new HashSet<>(ranges.keySet());
      long quietSince = System.nanoTime();
      while (!open.isEmpty()) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<byte[], byte[]> r : batch) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          if (r.offset() < ranges.get(tp)[1]) {
            counts.get(tp.topic())[0]++;
          }
        }
        for (var it = open.iterator(); it.hasNext(); ) {
          TopicPartition tp = it.next();
          if (consumer.position(tp) >= ranges.get(tp)[1]) {
            it.remove();
            consumer.pause(Set.of(tp));
          }
        }
        if (!batch.isEmpty()) {
          quietSince = System.nanoTime();
        } else if (System.nanoTime() - quietSince > Duration.ofSeconds(30).toNanos()) {
          throw new IllegalStateException("reading back the appends stalled at " + open);
        }
      }
    }
    Map<String, Count> result = new TreeMap<>();
    counts.forEach((topic, c) -> result.put(topic, new Count(c[0], c[1])));
    return result;
  }

  /** Rows of the topics with any appends, most records first; {@code commands} divides. */
  static List<Row> rows(Map<String, Count> appended, long commands) {
    List<Row> rows = new ArrayList<>();
    appended.forEach(
        (topic, c) -> {
          if (c.offsets() > 0) {
            rows.add(
                new Row(
                    topic,
                    c.records(),
                    Math.max(0, c.offsets() - c.records()),
                    commands == 0 ? 0 : (double) c.records() / commands));
          }
        });
    rows.sort(Comparator.comparingLong(Row::records).reversed().thenComparing(Row::topic));
    return rows;
  }

  /** The sum of the rows' records, leaving out {@code except} (e.g. the input topic). */
  static long totalRecords(List<Row> rows, Set<String> except) {
    return rows.stream().filter(r -> !except.contains(r.topic())).mapToLong(Row::records).sum();
  }

  /** The sum of the rows' transaction markers. */
  static long totalMarkers(List<Row> rows) {
    return rows.stream().mapToLong(Row::markers).sum();
  }

  /**
   * The finalized {@code transaction.version} of the cluster ({@code kafka-features describe}), or
   * 0 when the feature is not finalized (the transaction protocol of before KIP-890).
   */
  static short transactionVersion(Admin admin) throws ExecutionException, InterruptedException {
    FinalizedVersionRange range =
        admin
            .describeFeatures()
            .featureMetadata()
            .get()
            .finalizedFeatures()
            .get(TRANSACTION_VERSION);
    return range == null ? 0 : range.maxVersionLevel();
  }
}
