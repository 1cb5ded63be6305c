package io.iris.bridge.edge;

import io.iris.bridge.KafkaClients;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a compacted topic from the beginning and keeps following it on its own thread, handing
 * every record (value null for a tombstone) to a callback. {@link #start} returns once everything
 * that was in the topic when it was called has been handed over: a table in memory, the way Kafka
 * Streams restores a global store, without a group.
 */
public final class CompactedTopicView<K, V> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CompactedTopicView.class);

  private final String topic;
  private final Supplier<? extends Consumer<K, V>> consumers;
  private final BiConsumer<K, V> onRecord;
  private final CountDownLatch loaded = new CountDownLatch(1);
  private Consumer<K, V> consumer;
  private Thread follower;
  private volatile boolean running;
  private volatile Throwable failure;

  public CompactedTopicView(
      KafkaClients kafka,
      String topic,
      Deserializer<K> keys,
      Deserializer<V> values,
      BiConsumer<K, V> onRecord) {
    this(
        topic,
        () -> {
          Properties p = kafka.properties();
          p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
          p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
          p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-view-" + topic);
          return new KafkaConsumer<>(p, keys, values);
        },
        onRecord);
  }

  /**
   * A view reading through the consumer {@code consumers} makes when {@link #start} is called (a
   * {@code MockConsumer} in tests); the view assigns it, reads, and closes it.
   */
  CompactedTopicView(
      String topic, Supplier<? extends Consumer<K, V>> consumers, BiConsumer<K, V> onRecord) {
    this.topic = topic;
    this.consumers = consumers;
    this.onRecord = onRecord;
  }

  public synchronized void start(Duration timeout) {
    consumer = consumers.get();
    List<TopicPartition> partitions =
        consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
            .map(i -> new TopicPartition(i.topic(), i.partition()))
            .toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
    running = true;
    follower = new Thread(() -> follow(ends), "iris-view-" + topic);
    follower.setDaemon(true);
    follower.start();
    try {
      if (!loaded.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("could not read " + topic + " within " + timeout);
      }
      Throwable why = failure;
      if (why != null) {
        // The consumer died while loading: say why at once, not after the whole timeout.
        throw new IllegalStateException("could not read " + topic + ": " + why.getMessage(), why);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void follow(Map<TopicPartition, Long> ends) {
    try {
      while (running) {
        for (ConsumerRecord<K, V> r : consumer.poll(Duration.ofMillis(500))) {
          try {
            onRecord.accept(r.key(), r.value());
          } catch (RuntimeException e) {
            log.error("Skipped a record of {} at offset {}", topic, r.offset(), e);
          }
        }
        if (loaded.getCount() > 0
            && ends.entrySet().stream()
                .allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
          loaded.countDown();
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      failure = e;
      loaded.countDown(); // wakes a start() that waits: it reports the failure
      log.error(
          "Stopped following {}: changes are not applied until the bridge restarts (/health says"
              + " so)",
          topic,
          e);
    } finally {
      consumer.close();
    }
  }

  /** Why following the topic stopped, or null while it runs (or after a clean stop). */
  public Throwable failure() {
    return failure;
  }

  @Override
  public synchronized void close() {
    if (follower == null) {
      return;
    }
    running = false;
    consumer.wakeup();
    try {
      follower.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    follower = null;
  }
}
