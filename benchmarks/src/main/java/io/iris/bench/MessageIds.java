package io.iris.bench;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The message ids the pipeline gave to the benchmark's scripted senders, learnt as a device would:
 * from each sender's own {@code NewMessage} deltas in iris.log, which carry the send's client id.
 * An edit or a reaction names a message by its id, and the three copies of a thread the phones live
 * number their messages apart (a send that failed on one phone took no id there).
 */
final class MessageIds implements AutoCloseable {
  private final Set<Long> senders;
  private final Map<String, Long> ids = new ConcurrentHashMap<>();
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Thread reader;
  private volatile boolean closed;

  /** Reads iris.log from its end on, for the deltas of {@code senders}. */
  MessageIds(String bootstrap, Set<Long> senders) {
    this.senders = Set.copyOf(senders);
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
    consumer.seekToEnd(parts);
    parts.forEach(consumer::position); // resolve the end now, before any send of the session
    reader = new Thread(this::read, "bench-message-ids");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try {
      while (!closed) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          if (r.key() == null
              || r.key().length != Long.BYTES
              || !senders.contains(ByteBuffer.wrap(r.key()).getLong())) {
            continue;
          }
          try {
            Delta d = FrameCodec.defaults().decode(r.value(), Delta::new);
            if (d.getBody().isSetNewMessage() && d.getBody().getNewMessage().isSetClientId()) {
              ids.put(
                  d.getBody().getNewMessage().getClientId(),
                  d.getBody().getNewMessage().getMessageId());
            }
          } catch (FrameException e) {
            // not a delta
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    }
  }

  /** The id of the message sent with {@code clientId}, waiting up to {@code wait}; 0 if unknown. */
  long await(String clientId, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    Long id;
    while ((id = ids.get(clientId)) == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return id == null ? 0 : id;
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
