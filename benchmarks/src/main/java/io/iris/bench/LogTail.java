package io.iris.bench;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The deltas of some users as iris.log commits them (read_committed, every partition), handed to a
 * callback on a daemon thread of their own until closed: what the benchmarks' stand-ins for other
 * servers ({@link PullServer}) and scripted senders ({@link MessageIds}) read. Records that are not
 * deltas are skipped, as the bridge skips them.
 */
final class LogTail implements AutoCloseable {
  private final Set<Long> users;
  private final Consumer<Delta> onDelta;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Thread reader;
  private volatile boolean closed;

  /**
   * @param fromStart read the log from its start; otherwise from its end as of now
   */
  LogTail(
      String bootstrap, Set<Long> users, boolean fromStart, String name, Consumer<Delta> onDelta) {
    this.users = Set.copyOf(users);
    this.onDelta = onDelta;
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> parts =
        consumer.partitionsFor(Topics.LOG.name()).stream()
            .map(i -> new TopicPartition(Topics.LOG.name(), i.partition()))
            .toList();
    consumer.assign(parts);
    if (fromStart) {
      consumer.seekToBeginning(parts);
    } else {
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position); // the end as of now, before anything sent after this
    }
    reader = new Thread(this::read, name);
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try {
      while (!closed) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.key() == null
              || r.key().length != Long.BYTES
              || !users.contains(ByteBuffer.wrap(r.key()).getLong())) {
            continue; // not a delta of these users (tests put poison records into iris.log too)
          }
          try {
            onDelta.accept(FrameCodec.defaults().decode(r.value(), Delta::new));
          } catch (FrameException e) {
            // not a delta: skipped, as the bridge does
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      reader.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close();
  }
}
