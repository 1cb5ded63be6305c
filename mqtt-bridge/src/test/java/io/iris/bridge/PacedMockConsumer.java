package io.iris.bridge;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;

/**
 * A {@link MockConsumer} whose empty polls pause a little, as a real consumer's do, so that a
 * background loop polling it does not spin a core; and that counts its polls.
 */
public class PacedMockConsumer<K, V> extends MockConsumer<K, V> {
  private final AtomicInteger polls = new AtomicInteger();

  public PacedMockConsumer(String offsetReset) {
    super(offsetReset);
  }

  @Override
  public ConsumerRecords<K, V> poll(Duration timeout) {
    polls.incrementAndGet();
    ConsumerRecords<K, V> records = super.poll(timeout);
    if (records.isEmpty()) {
      try {
        Thread.sleep(Math.min(5, timeout.toMillis()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return records;
  }

  /** Polls so far. */
  public int polls() {
    return polls.get();
  }
}
