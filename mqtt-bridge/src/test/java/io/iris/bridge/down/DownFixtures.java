package io.iris.bridge.down;

import io.iris.bridge.edge.DeviceSender;
import io.iris.bridge.edge.EdgeFixtures;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.Snapshot;
import io.iris.topics.Topics;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.Producer;

/** Down-direction parts built over test doubles, for tests of other packages. */
public final class DownFixtures {
  private DownFixtures() {}

  /** Pointers written with {@code producer} and followed through {@code consumer}. */
  public static DevicePointers pointers(
      Producer<String, DevicePointer> producer, Consumer<String, DevicePointer> consumer) {
    return new DevicePointers(
        onRecord -> EdgeFixtures.view(Topics.DEVICE_POINTERS.name(), consumer, onRecord), producer);
  }

  /**
   * Catch-up without a storage tier for deltas, whose snapshots are all {@code snapshot}, and
   * without a log to read (tier 2 finds nothing).
   */
  public static CatchUp catchUp(
      UserLogs logs, Snapshot snapshot, CatchUp.Settings settings, DeviceSender replier) {
    return new CatchUp(
        logs,
        LAYOUT,
        partition -> -1,
        null,
        (user, threads, messages, storedThrough, epoch) ->
            snapshot.deepCopy().setUserId(user).setPos(storedThrough).setEpoch(epoch),
        settings,
        replier,
        () -> new MockConsumer<>("earliest"));
  }

  /** The epoch of the log in these tests. */
  public static final String EPOCH = "AAAAAAAAAAAAAAAAAAAAAQ";

  /** One partition, epoch {@link #EPOCH}. */
  public static final LogLayout LAYOUT = new LogLayout(EPOCH, 1);
}
