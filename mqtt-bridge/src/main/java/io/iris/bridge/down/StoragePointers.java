package io.iris.bridge.down;

import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The storage pointer of each partition of iris.log: the sink group's committed offset (DESIGN.md,
 * "Positions and the two pointers"). Everything of the partition below it is in MySQL (or set aside
 * in iris.sink-dlq), so MySQL may serve any range of positions below it. Read through the admin
 * client and kept for {@code maxAge}: a pointer a little old is still a true lower bound.
 */
public final class StoragePointers {
  /** Committed offsets of the sink group on iris.log, partition to offset. */
  @FunctionalInterface
  interface Source {
    Map<Integer, Long> committed() throws Exception;
  }

  private final Source source;
  private final long maxAgeNanos;
  private final LongSupplier nanoTime;
  private Map<Integer, Long> last = Map.of();
  private long readAt;
  private boolean read;

  public StoragePointers(Admin admin, Duration maxAge) {
    this(() -> committed(admin), maxAge, System::nanoTime);
  }

  StoragePointers(Source source, Duration maxAge, LongSupplier nanoTime) {
    this.source = source;
    this.maxAgeNanos = maxAge.toNanos();
    this.nanoTime = nanoTime;
  }

  /**
   * The highest position of {@code partition} known to be stored: the committed offset minus one;
   * -1 when the sink has committed nothing there.
   *
   * @throws IllegalStateException when the cluster cannot say (the caller answers UNAVAILABLE)
   */
  public synchronized long storedThrough(int partition) {
    long now = nanoTime.getAsLong();
    if (!read || now - readAt > maxAgeNanos) {
      try {
        last = source.committed();
      } catch (Exception e) {
        throw new IllegalStateException(
            "cannot read the storage pointer (group " + Names.SINK_GROUP + "): " + e, e);
      }
      readAt = now;
      read = true;
    }
    Long committed = last.get(partition);
    return committed == null ? -1 : committed - 1;
  }

  private static Map<Integer, Long> committed(Admin admin)
      throws InterruptedException, ExecutionException, TimeoutException {
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin
            .listConsumerGroupOffsets(Names.SINK_GROUP)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    Map<Integer, Long> out = new HashMap<>();
    offsets.forEach(
        (tp, o) -> {
          if (o != null && tp.topic().equals(Topics.LOG.name())) {
            out.put(tp.partition(), o.offset());
          }
        });
    return out;
  }
}
