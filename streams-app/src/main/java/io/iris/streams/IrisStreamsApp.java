package io.iris.streams;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndFailExceptionHandler;
import org.apache.kafka.streams.errors.LogAndFailProcessingExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link IrisTopology} with Kafka Streams.
 *
 * <p>Error policy. Bad input never reaches the error handlers: the topology reads raw bytes and
 * sends what it cannot use to {@code iris.dlq}. What does reach them is a bug or an infrastructure
 * failure, so deserialization and processing errors fail the task (log and fail); the
 * uncaught-exception handler then replaces the stream thread, which under exactly-once re-runs the
 * aborted transaction, up to {@value #MAX_REPLACEMENTS} times in {@link #REPLACEMENT_WINDOW};
 * beyond that the client shuts down so that an operator sees it instead of a thread failing in a
 * loop.
 */
public final class IrisStreamsApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisStreamsApp.class);
  static final int MAX_REPLACEMENTS = 5;
  static final Duration REPLACEMENT_WINDOW = Duration.ofMinutes(10);

  private final StreamsAppConfig config;
  private final String bootstrapServers;
  private final Path stateDir;
  private final Deque<Long> replacements = new ArrayDeque<>();
  private KafkaStreams streams;

  public IrisStreamsApp(StreamsAppConfig config, String bootstrapServers, Path stateDir) {
    this.config = config;
    this.bootstrapServers = bootstrapServers;
    this.stateDir = stateDir;
  }

  /** The Kafka Streams properties this app runs with. */
  public Properties streamsProperties() {
    Properties p = new Properties();
    p.put(
        StreamsConfig.APPLICATION_ID_CONFIG,
        config.getString(StreamsAppConfig.APPLICATION_ID_CONFIG));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    p.put(
        StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
        config.getString(StreamsAppConfig.PROCESSING_GUARANTEE_CONFIG));
    p.put(
        StreamsConfig.NUM_STREAM_THREADS_CONFIG,
        config.getInt(StreamsAppConfig.NUM_THREADS_CONFIG));
    p.put(
        StreamsConfig.COMMIT_INTERVAL_MS_CONFIG,
        config.getLong(StreamsAppConfig.COMMIT_INTERVAL_MS_CONFIG));
    p.put(
        StreamsConfig.REPLICATION_FACTOR_CONFIG,
        config.getInt(StreamsAppConfig.REPLICATION_FACTOR_CONFIG));
    p.put(
        StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndFailExceptionHandler.class);
    p.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndFailProcessingExceptionHandler.class);
    // Producer tuning for the fan-out (STACK-NOTES: linger and lz4 doubled raw throughput).
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 128 * 1024);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG),
        config.getInt(StreamsAppConfig.SESSION_TIMEOUT_MS_CONFIG));
    return p;
  }

  /** Starts processing and waits until the app is RUNNING (or fails). */
  public synchronized void start(Duration timeout) {
    if (streams != null) {
      throw new IllegalStateException("already started");
    }
    KafkaStreams s = new KafkaStreams(IrisTopology.build(config), streamsProperties());
    CountDownLatch running = new CountDownLatch(1);
    s.setStateListener(
        (newState, oldState) -> {
          log.info("Streams app state {} -> {}", oldState, newState);
          if (newState == KafkaStreams.State.RUNNING) {
            running.countDown();
          }
        });
    s.setUncaughtExceptionHandler(this::onUncaught);
    s.start();
    streams = s;
    try {
      if (!running.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "streams app did not reach RUNNING within " + timeout + " (state " + s.state() + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the streams app", e);
    }
  }

  private synchronized StreamThreadExceptionResponse onUncaught(Throwable e) {
    long now = System.currentTimeMillis();
    replacements.addLast(now);
    while (!replacements.isEmpty()
        && replacements.peekFirst() < now - REPLACEMENT_WINDOW.toMillis()) {
      replacements.removeFirst();
    }
    if (replacements.size() > MAX_REPLACEMENTS) {
      log.error(
          "Stream thread failed {} times in {}; shutting the streams app down. Fix the cause"
              + " (see the exceptions above) and restart; processing resumes from the last commit.",
          replacements.size(),
          REPLACEMENT_WINDOW,
          e);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    }
    log.error("Stream thread failed; replacing it (the aborted transaction is re-run)", e);
    return StreamThreadExceptionResponse.REPLACE_THREAD;
  }

  /**
   * This instance's metrics of one of the app's own counters, one per task, e.g. {@code
   * applied-total}, {@code duplicates-total}, {@code rejected-unknown-thread-total} (group
   * stream-iris-commands-metrics) or {@code sequenced-total} (group stream-iris-deltas-metrics).
   * Tasks that move to this instance later bring new ones.
   */
  public synchronized List<Metric> metrics(String name) {
    if (streams == null) {
      return List.of();
    }
    List<Metric> found = new ArrayList<>();
    for (var e : streams.metrics().entrySet()) {
      if (e.getKey().name().equals(name) && e.getKey().group().startsWith("stream-iris-")) {
        found.add(e.getValue());
      }
    }
    return found;
  }

  /** The sum of {@code metrics}' values. */
  public static double sum(List<Metric> metrics) {
    double sum = 0;
    for (Metric m : metrics) {
      sum += ((Number) m.metricValue()).doubleValue();
    }
    return sum;
  }

  /** Binds Kafka Streams' own metrics (the app's sensors included) to a Micrometer registry. */
  public synchronized void bindMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
    if (streams != null) {
      new io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics(streams).bindTo(registry);
    }
  }

  public synchronized KafkaStreams.State state() {
    return streams == null ? KafkaStreams.State.NOT_RUNNING : streams.state();
  }

  /** Stops processing, committing what was processed, and leaves the group; idempotent. */
  @Override
  public synchronized void close() {
    if (streams == null) {
      return;
    }
    // Leave the group: the partitions move to the other instances at once instead of after the
    // session timeout (Kafka Streams stays in the group on close by default).
    CloseOptions options =
        CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(30));
    if (!streams.close(options)) {
      log.warn("Streams app did not stop within 30 s");
    }
    streams = null;
  }
}
