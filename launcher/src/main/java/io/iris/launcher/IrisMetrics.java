package io.iris.launcher;

import io.iris.topics.Topics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's metrics in one Prometheus registry: JVM, the project's counters (sends by outcome,
 * catch-ups by tier, deltas pushed, refusals, typing), gauges (connected devices, the two pointers'
 * lag, dead letters), and Kafka's own streams metrics. Lags and dead-letter counts are read from
 * Kafka every 10 s by one admin client, not on each scrape.
 */
final class IrisMetrics implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisMetrics.class);
  static final String BRIDGE_GROUP = io.iris.topics.Names.BRIDGE_GROUP;
  static final String SINK_GROUP = io.iris.topics.Names.SINK_GROUP;

  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private final Map<String, Double> polled = new ConcurrentHashMap<>();
  private final ScheduledExecutorService poller =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "iris-metrics-poll");
            t.setDaemon(true);
            return t;
          });
  private final Admin admin;

  IrisMetrics(Map<String, Object> adminConfig) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    // process_files_open_files / process_files_max_files: a bridge holds one per device connection.
    new FileDescriptorMetrics().bindTo(registry);
    admin = Admin.create(adminConfig);
    for (String name :
        List.of(
            "iris_device_pointer_lag_records",
            "iris_storage_pointer_lag_records",
            "iris_dlq_records",
            "iris_sink_dlq_records")) {
      polled.put(name, Double.NaN);
      Gauge.builder(name, polled, m -> m.get(name)).description(describe(name)).register(registry);
    }
    poller.scheduleWithFixedDelay(this::poll, 0, 10, TimeUnit.SECONDS);
  }

  private static String describe(String name) {
    return switch (name) {
      case "iris_device_pointer_lag_records" ->
          "Records of iris.log the bridge group has not handled (all partitions)";
      case "iris_storage_pointer_lag_records" ->
          "Records of iris.log not yet written to MySQL by the sink group (all partitions)";
      case "iris_dlq_records" -> "Records in iris.dlq (rejected input), retention permitting";
      default -> "Records in iris.sink-dlq (what the MySQL sink set aside)";
    };
  }

  private void poll() {
    try {
      polled.put("iris_device_pointer_lag_records", (double) lag(BRIDGE_GROUP));
      polled.put("iris_storage_pointer_lag_records", (double) lag(SINK_GROUP));
      polled.put("iris_dlq_records", (double) size(Topics.DLQ.name()));
      polled.put("iris_sink_dlq_records", (double) size(Topics.SINK_DLQ.name()));
    } catch (Exception e) {
      log.debug("Metrics poll failed: {}", e.toString());
    }
  }

  private long lag(String group) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(5, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
    committed.keySet().stream()
        .filter(tp -> tp.topic().equals(Topics.LOG.name()))
        .forEach(tp -> latest.put(tp, OffsetSpec.latest()));
    if (latest.isEmpty()) {
      return 0;
    }
    long lag = 0;
    var ends = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
    for (var e : ends.entrySet()) {
      OffsetAndMetadata o = committed.get(e.getKey());
      if (o != null) {
        lag += Math.max(0, e.getValue().offset() - o.offset());
      }
    }
    return lag;
  }

  private long size(String topic) throws Exception {
    var desc = admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
    Map<TopicPartition, OffsetSpec> earliest = new java.util.HashMap<>();
    desc.get(topic)
        .partitions()
        .forEach(
            p -> {
              latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
              earliest.put(new TopicPartition(topic, p.partition()), OffsetSpec.earliest());
            });
    var hi = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
    var lo = admin.listOffsets(earliest).all().get(5, TimeUnit.SECONDS);
    long n = 0;
    for (var e : hi.entrySet()) {
      n += e.getValue().offset() - lo.get(e.getKey()).offset();
    }
    return n;
  }

  /** A counter read from a component (registered once). */
  <T> void counter(
      String name, String description, T source, ToDoubleFunction<T> f, String... tags) {
    String id = name + String.join(",", tags);
    if (registered.add(id)) {
      FunctionCounter.builder(name, source, f)
          .description(description)
          .tags(tags)
          .register(registry);
    }
  }

  <T> void gauge(String name, String description, T source, ToDoubleFunction<T> f) {
    if (registered.add(name)) {
      Gauge.builder(name, source, f).description(description).register(registry);
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
    admin.close(java.time.Duration.ofSeconds(2));
    registry.close();
  }
}
