package io.iris.bridge.edge;

import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.Consumer;

/** Edge parts built over test doubles, for tests of other packages. */
public final class EdgeFixtures {
  private EdgeFixtures() {}

  /** A view that reads {@code topic} through {@code consumer}. */
  public static <K, V> CompactedTopicView<K, V> view(
      String topic, Consumer<K, V> consumer, BiConsumer<K, V> onRecord) {
    return new CompactedTopicView<>(topic, () -> consumer, onRecord);
  }
}
