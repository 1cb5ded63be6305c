package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.protocol.thrift.LogBookmarks;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tier-2 index on Kafka: per-user offset bookmarks into iris.log, written to the compacted
 * topic {@code iris.log-index} (key: user id, exactly as in iris.log, so the same partitioner puts
 * a user's bookmarks in the index partition numbered like its log partition). A bridge that is
 * assigned log partitions restores the matching index partitions, the way Kafka Streams restores a
 * store from its changelog. Losing a write costs only speed: the next bookmark of that user
 * rewrites the whole list, and a missing bookmark sends a catch-up to MySQL instead.
 */
public final class LogIndex implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LogIndex.class);

  private final Producer<Long, LogBookmarks> producer;
  private final Supplier<? extends Consumer<Long, LogBookmarks>> restoreConsumers;

  public LogIndex(KafkaClients kafka) {
    this(newProducer(kafka), () -> newRestoreConsumer(kafka));
  }

  /**
   * An index written with {@code producer} and restored through the consumers {@code
   * restoreConsumers} makes (one per restore, closed after it).
   */
  LogIndex(
      Producer<Long, LogBookmarks> producer,
      Supplier<? extends Consumer<Long, LogBookmarks>> restoreConsumers) {
    this.producer = producer;
    this.restoreConsumers = restoreConsumers;
  }

  private static KafkaProducer<Long, LogBookmarks> newProducer(KafkaClients kafka) {
    Properties p = kafka.properties();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "iris-bridge-log-index");
    return new KafkaProducer<>(
        p, Topics.LOG_INDEX.keySerde().serializer(), Topics.LOG_INDEX.valueSerde().serializer());
  }

  private static KafkaConsumer<Long, LogBookmarks> newRestoreConsumer(KafkaClients kafka) {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-bridge-log-index-restore");
    return new KafkaConsumer<>(
        p,
        Topics.LOG_INDEX.keySerde().deserializer(),
        Topics.LOG_INDEX.valueSerde().deserializer());
  }

  /** Persists a user's bookmarks (asynchronously). */
  public void write(LogBookmarks b) {
    producer.send(
        new ProducerRecord<>(Topics.LOG_INDEX.name(), b.getPartition(), b.getUserId(), b),
        (m, e) -> {
          if (e != null) {
            log.debug("Bookmark of user {} not written: {}", b.getUserId(), e.toString());
          }
        });
  }

  /** Reads the index partitions matching {@code logPartitions} to their end into {@code logs}. */
  public int restore(Collection<TopicPartition> logPartitions, UserLogs logs) {
    return restore(restoreConsumers, logPartitions, logs);
  }

  /** The same, without a bridge: for tools that only read the index. */
  public static int restore(
      String bootstrapServers, Collection<TopicPartition> logPartitions, UserLogs logs) {
    return restore(KafkaClients.of(bootstrapServers), logPartitions, logs);
  }

  /** The same, with the bridge's client settings. */
  public static int restore(
      KafkaClients kafka, Collection<TopicPartition> logPartitions, UserLogs logs) {
    return restore(() -> newRestoreConsumer(kafka), logPartitions, logs);
  }

  private static int restore(
      Supplier<? extends Consumer<Long, LogBookmarks>> consumers,
      Collection<TopicPartition> logPartitions,
      UserLogs logs) {
    List<TopicPartition> tps =
        logPartitions.stream()
            .map(tp -> new TopicPartition(Topics.LOG_INDEX.name(), tp.partition()))
            .toList();
    if (tps.isEmpty()) {
      return 0;
    }
    int n = 0;
    try (Consumer<Long, LogBookmarks> c = consumers.get()) {
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> ends = c.endOffsets(tps);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))
          && System.nanoTime() < deadline) {
        for (ConsumerRecord<Long, LogBookmarks> r : c.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            logs.restore(r.value());
            n++;
          }
        }
      }
    }
    log.info("Restored offset bookmarks of {} users for {} log partitions", n, tps.size());
    return n;
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
