package io.iris.streams.internals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.StoreBuilder;

/** Helpers for driving one processor with Kafka's {@link MockProcessorContext}. */
final class MockContexts {
  private MockContexts() {}

  /**
   * Builds an in-memory store and attaches it to the context, as Kafka Streams would before {@code
   * init}. The mock context has no changelog, so logging is off.
   */
  static <S extends StateStore> S attach(
      MockProcessorContext<?, ?> context, StoreBuilder<S> builder) {
    S store = builder.withLoggingDisabled().build();
    store.init(context.getStateStoreContext(), store);
    context.addStateStore(store);
    return store;
  }

  /** The records forwarded so far, in order. */
  @SuppressWarnings("unchecked")
  static <K, V> List<Record<K, V>> forwarded(MockProcessorContext<K, V> context) {
    return context.forwarded().stream().map(f -> (Record<K, V>) f.record()).toList();
  }

  /** The total of one of the processor's rate-total sensors, e.g. {@code applied}. */
  static double total(MockProcessorContext<?, ?> context, String group, String operation) {
    double sum = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : context.metrics().metrics().entrySet()) {
      if (e.getKey().group().equals(group) && e.getKey().name().equals(operation + "-total")) {
        sum += ((Number) e.getValue().metricValue()).doubleValue();
      }
    }
    return sum;
  }

  /** Whether any metric of {@code group} is registered. */
  static boolean anyMetricIn(MockProcessorContext<?, ?> context, String group) {
    return context.metrics().metrics().keySet().stream().anyMatch(n -> n.group().equals(group));
  }

  static String header(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] threadKey(long threadId) {
    return ByteBuffer.allocate(Long.BYTES).putLong(threadId).array();
  }
}
