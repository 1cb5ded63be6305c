package io.iris.bridge.down;

import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

/**
 * What a position means: the epoch (iris.log's topic id, which changes when the topic is recreated)
 * and the partition count (a user's partition is Kafka's default partitioning of the 8-byte user
 * id, which every producer of iris.log uses). Two positions compare only within one epoch.
 */
public record LogLayout(String epoch, int partitions) {

  public LogLayout {
    if (epoch == null || epoch.isEmpty()) {
      throw new IllegalArgumentException("epoch must be set");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
    }
  }

  /** The partition of iris.log that holds {@code userId}'s deltas. */
  public int partitionOf(long userId) {
    return partitionOf(userId, partitions);
  }

  /** The partition of a log of {@code partitions} partitions that holds {@code userId}. */
  public static int partitionOf(long userId, int partitions) {
    byte[] key = ByteBuffer.allocate(Long.BYTES).putLong(userId).array();
    return BuiltInPartitioner.partitionForKey(key, partitions);
  }

  /** Reads the layout of iris.log from the cluster. */
  public static LogLayout describe(Admin admin, Duration timeout) {
    try {
      TopicDescription d =
          admin
              .describeTopics(List.of(Topics.LOG.name()))
              .topicNameValues()
              .get(Topics.LOG.name())
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return new LogLayout(d.topicId().toString(), d.partitions().size());
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot describe "
              + Topics.LOG.name()
              + " (does it exist? `iris up` creates it; check bootstrap.servers and ACLs): "
              + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while describing " + Topics.LOG.name(), e);
    }
  }
}
