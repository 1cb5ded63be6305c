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
        null,
        (user, threads, messages) -> snapshot.deepCopy().setUserId(user),
        settings,
        replier,
        () -> new MockConsumer<>("earliest"));
  }
}
