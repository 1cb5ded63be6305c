package io.iris.streams;

import io.iris.streams.internals.ThreadReplacements;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 *
 * <p>A host process learns that the app died from {@link #failed()}; {@link IrisStreamsMain} exits
 * non-zero on it.
 */
public final class IrisStreamsApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisStreamsApp.class);
  static final int MAX_REPLACEMENTS = 5;
  static final Duration REPLACEMENT_WINDOW = Duration.ofMinutes(10);

  /** How long {@link #close()} waits for the app to commit and leave the group. */
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private final StreamsAppConfig config;
  private final String bootstrapServers;
  private final Path stateDir;
  private final ThreadReplacements replacements =
      new ThreadReplacements(MAX_REPLACEMENTS, REPLACEMENT_WINDOW);
  private final CompletableFuture<KafkaStreams.State> failed = new CompletableFuture<>();
  private final CommitStall commitStall;
  private final AtomicBoolean failureSeen = new AtomicBoolean();
  private KafkaStreams streams;

  public IrisStreamsApp(StreamsAppConfig config, String bootstrapServers, Path stateDir) {
    this.config = config;
    this.bootstrapServers = bootstrapServers;
    this.stateDir = stateDir;
    this.commitStall = new CommitStall(config.getLong(StreamsAppConfig.STALL_TIMEOUT_MS_CONFIG));
  }

  /** The Kafka Streams properties this app runs with. */
  public Properties streamsProperties() {
    Properties p = new Properties();
    // kafka.client.* and kafka.client.streams.* (TLS, SASL …) for every client of Kafka Streams;
    // the settings below win.
    p.putAll(
        io.iris.topics.KafkaClientProperties.forRole(
            config.originals(), io.iris.topics.KafkaClientProperties.STREAMS));
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
        StreamsConfig.MAX_TASK_IDLE_MS_CONFIG,
        config.getLong(StreamsAppConfig.MAX_TASK_IDLE_MS_CONFIG));
    p.put(
        StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG,
        config.getBoolean(StreamsAppConfig.TRANSACTIONAL_STATE_STORES_CONFIG));
    p.put(
        StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG,
        config.getInt(StreamsAppConfig.NUM_STANDBY_REPLICAS_CONFIG));
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
    if (config.getBoolean(StreamsAppConfig.STATIC_MEMBERSHIP_CONFIG)) {
      p.put(
          StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), groupInstanceId());
    }
    return p;
  }

  /** The file in the state directory that keeps a generated static member id. */
  static final String INSTANCE_ID_FILE = "iris-group-instance-id";

  /**
   * The configured static member id, else the one kept in the state directory, generated on the
   * first call. Kept with the state: the stores and the transactional id (Kafka Streams' process
   * id, also in the state directory) belong to the same member.
   */
  String groupInstanceId() {
    String configured = config.getString(StreamsAppConfig.GROUP_INSTANCE_ID_CONFIG).trim();
    if (!configured.isEmpty()) {
      return configured;
    }
    Path file = stateDir.resolve(INSTANCE_ID_FILE);
    try {
      if (Files.exists(file)) {
        String kept = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (!kept.isEmpty()) {
          return kept;
        }
      }
      String id = "iris-streams-" + UUID.randomUUID().toString().substring(0, 8);
      Files.createDirectories(stateDir);
      Path tmp = Files.createTempFile(stateDir, INSTANCE_ID_FILE, ".tmp");
      Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot keep the static member id in "
              + file
              + " (set "
              + StreamsAppConfig.GROUP_INSTANCE_ID_CONFIG
              + " or make the state directory writable)",
          e);
    }
  }

  /**
   * Starts processing and waits until the app is RUNNING.
   *
   * @throws IllegalStateException if it is started already (and not closed since); or if it did not
   *     reach RUNNING within {@code timeout}, or failed first (see {@link #failed()}): {@link
   *     #close()} it then, this method does not
   */
  public synchronized void start(Duration timeout) {
    if (streams != null) {
      throw new IllegalStateException("already started");
    }
    KafkaStreams s = new KafkaStreams(IrisTopology.build(config), streamsProperties());
    CountDownLatch runningOrFailed = new CountDownLatch(1);
    // Called on Kafka Streams' threads, close() included: it must not take this object's lock.
    s.setStateListener(
        (newState, oldState) -> {
          log.info("Streams app state {} -> {}", oldState, newState);
          if (newState == KafkaStreams.State.RUNNING) {
            runningOrFailed.countDown();
          } else if (isFailure(newState)) {
            fail(newState);
            runningOrFailed.countDown();
          }
        });
    s.setUncaughtExceptionHandler(this::onUncaught);
    s.start();
    streams = s;
    try {
      if (!runningOrFailed.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "streams app did not reach RUNNING within " + timeout + " (state " + s.state() + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the streams app", e);
    }
    if (isFailure(s.state())) {
      throw new IllegalStateException(
          "streams app failed while starting (state "
              + s.state()
              + "); the errors logged before say why");
    }
  }

  private static boolean isFailure(KafkaStreams.State state) {
    return state == KafkaStreams.State.PENDING_ERROR || state == KafkaStreams.State.ERROR;
  }

  /**
   * Completes {@link #failed} once, on a thread of its own: the caller is a Kafka Streams thread,
   * which a dependent stage must not block, and which cannot close the client it runs in.
   */
  void fail(KafkaStreams.State state) {
    if (failureSeen.compareAndSet(false, true)) {
      Thread t = new Thread(() -> failed.complete(state), "iris-streams-failed");
      t.setDaemon(true);
      t.start();
    }
  }

  /**
   * Completes when this app's Kafka Streams client fails, with the state it failed into: {@link
   * KafkaStreams.State#PENDING_ERROR} or {@link KafkaStreams.State#ERROR}, whichever comes first.
   * That happens when the uncaught-exception handler gives up replacing failed stream threads and
   * shuts the client down (see the class comment), or when Kafka Streams moves the client to ERROR
   * itself. A failed client processes nothing more and never recovers: the host is to {@link
   * #close()} this app and exit, or restart it, or report itself unhealthy.
   *
   * <ul>
   *   <li>It does not complete when the app stops because {@link #close()} was called, nor before
   *       {@link #start}: wait for it together with your own stop signal.
   *   <li>It completes at most once, never exceptionally, and stays completed. It belongs to this
   *       object, not to one run: after a failure, a new {@link #start} does not reset it.
   *   <li>It is completed on a thread of its own, never on a Kafka Streams thread, so dependent
   *       stages may block and may call {@link #close()}.
   *   <li>Each call returns a new copy: a caller that completes or cancels its copy changes nothing
   *       for the app or for other callers.
   * </ul>
   */
  public CompletableFuture<KafkaStreams.State> failed() {
    return failed.copy();
  }

  // Not synchronized on this object: close() holds that lock while it waits for stream threads.
  private StreamThreadExceptionResponse onUncaught(Throwable e) {
    if (!replacements.replaceAfterFailureAt(System.currentTimeMillis())) {
      log.error(
          "Stream thread failed {} times in {}; shutting the streams app down. Fix the cause"
              + " (see the exceptions above) and restart; processing resumes from the last commit.",
          replacements.recentFailures(),
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
   * stream-iris-commands-metrics) or {@code deltas-out-total} (deltas written to iris.log, same
   * group). Tasks that move to this instance later bring new ones.
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

  /**
   * Kafka Streams' own metrics of this instance named {@code name} in {@code group}, e.g. {@code
   * commit-latency-avg} in {@code stream-thread-metrics} (one per stream thread).
   */
  public synchronized List<Metric> kafkaMetrics(String group, String name) {
    if (streams == null) {
      return List.of();
    }
    List<Metric> found = new ArrayList<>();
    for (var e : streams.metrics().entrySet()) {
      if (e.getKey().name().equals(name) && e.getKey().group().equals(group)) {
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

  /**
   * Null while this instance commits or has nothing to do; else why it is stalled (see {@link
   * CommitStall}), for /health.
   */
  public String stalled(long nowMs) {
    if (config.getLong(StreamsAppConfig.STALL_TIMEOUT_MS_CONFIG) <= 0) {
      return null;
    }
    double commits = sum(kafkaMetrics("stream-thread-metrics", "commit-total"));
    double lag = 0;
    for (Metric m : kafkaMetrics("consumer-fetch-manager-metrics", "records-lag-max")) {
      String client = m.metricName().tags().getOrDefault("client-id", "");
      // The main consumers only: a restore consumer's lag is a restore, not a stall.
      if (client.endsWith("-consumer") && !client.endsWith("-restore-consumer")) {
        Object v = m.metricValue();
        if (v instanceof Number n && !Double.isNaN(n.doubleValue())) {
          lag = Math.max(lag, n.doubleValue());
        }
      }
    }
    return commitStall.check(nowMs, commits, lag);
  }

  public synchronized KafkaStreams.State state() {
    return streams == null ? KafkaStreams.State.NOT_RUNNING : streams.state();
  }

  /**
   * Stops processing, committing what was processed, and leaves the group, waiting at most {@link
   * #DEFAULT_CLOSE_TIMEOUT}; idempotent.
   */
  @Override
  public void close() {
    close(DEFAULT_CLOSE_TIMEOUT);
  }

  /**
   * Stops processing, committing what was processed, and leaves the group, waiting at most {@code
   * timeout} for it (a warning is logged beyond); idempotent. Do not call it from a Kafka Streams
   * thread (a state listener, a processor).
   */
  public synchronized void close(Duration timeout) {
    if (streams == null) {
      return;
    }
    // Leave the group: the partitions move to the other instances at once instead of after the
    // session timeout (Kafka Streams stays in the group on close by default).
    CloseOptions options =
        CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(timeout);
    if (!streams.close(options)) {
      log.warn("Streams app did not stop within {}", timeout);
    }
    streams = null;
  }
}
