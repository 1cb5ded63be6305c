package io.iris.bench;

import io.iris.embedded.EmbeddedKafka;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.SendMessage;
import io.iris.streams.IrisStreamsApp;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.Topic;
import io.iris.topics.TopicInstaller;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * The streams app's throughput on the embedded broker, beside Kafka's own producer throughput for
 * the same record size on the same broker in the same run.
 *
 * <p>Method: a fresh broker; threads of 2, 3 or 4 members (average fan-out 3) are created; then N
 * send commands are loaded into iris.commands; then the streams app (exactly_once_v2) starts and
 * the clock runs from RUNNING until every expected delta is readable (read_committed) in iris.log.
 * The reference is kafka-producer-perf-test in its own JVM with the producer settings the loader
 * and the streams app use (acks=all, linger 5 ms, batch 128 KiB, lz4), and once with defaults.
 */
public final class StreamsBenchmark {
  private final PrintStream out;
  private final int commands;
  private final int users;
  private final int threads;
  private final int textBytes;

  private final Map<String, String> overrides;

  public StreamsBenchmark(
      PrintStream out,
      int commands,
      int users,
      int threads,
      int textBytes,
      Map<String, String> overrides) {
    this.out = out;
    this.overrides = overrides;
    this.commands = commands;
    this.users = users;
    this.threads = threads;
    this.textBytes = textBytes;
  }

  static final Map<String, String> TUNED =
      Map.of("acks", "all", "linger.ms", "5", "batch.size", "131072", "compression.type", "lz4");

  public void run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-streams");
    try (EmbeddedKafka kafka =
        new EmbeddedKafka(EmbeddedKafka.Settings.ephemeral(dir.resolve("kafka")))) {
      out.println("bench: starting a fresh embedded broker in " + dir);
      kafka.start();
      String bootstrap = kafka.bootstrapServers();
      createTopics(bootstrap);

      Random random = new Random(7);
      List<long[]> members = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int size = 2 + random.nextInt(3);
        long[] m = random.longs(size, 1, users + 1L).distinct().toArray();
        while (m.length < 2) {
          m = random.longs(size, 1, users + 1L).distinct().toArray();
        }
        members.add(m);
      }
      String text = "x".repeat(textBytes);
      int frameBytes = FrameCodec.defaults().encode(send(1, 1, 0, text)).length;

      out.printf(
          "bench: reference kafka-producer-perf-test, %,d records of %d bytes%n",
          commands, frameBytes);
      ProducerPerfTest.Result tuned =
          ProducerPerfTest.run(bootstrap, "bench.raw", commands, frameBytes, TUNED);
      ProducerPerfTest.Result defaults =
          ProducerPerfTest.run(bootstrap, "bench.raw", commands, frameBytes, Map.of("acks", "all"));

      out.printf(
          "bench: loading %,d threads and %,d sends into iris.commands%n", threads, commands);
      // What the broker appends from here on: the load (iris.commands), then the app's writes.
      Map<TopicPartition, Long> offsetsBefore;
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        offsetsBefore = BrokerAppends.endOffsets(admin);
      }
      long expectedDeltas = 0;
      long loadStart = System.nanoTime();
      try (KafkaProducer<Long, byte[]> producer = producer(bootstrap)) {
        long now = System.currentTimeMillis();
        for (int t = 0; t < threads; t++) {
          long[] m = members.get(t);
          produce(producer, createThread(m, t, now));
          expectedDeltas += m.length;
        }
        for (int i = 0; i < commands; i++) {
          int t = random.nextInt(threads);
          long[] m = members.get(t);
          ClientCommand c = send(m[random.nextInt(m.length)], t + 1, i, text);
          produce(producer, c);
          expectedDeltas += m.length;
        }
        producer.flush();
      }
      double loadSecs = (System.nanoTime() - loadStart) / 1e9;
      double fanOut = (double) (expectedDeltas) / (commands + threads);

      Map<String, Object> settings = new java.util.HashMap<>(overrides);
      settings.putIfAbsent(StreamsAppConfig.REPLICATION_FACTOR_CONFIG, "1");
      StreamsAppConfig config = new StreamsAppConfig(settings);
      out.printf(
          "bench: streams app (exactly_once_v2) on %,d commands -> %,d deltas%n",
          commands + threads, expectedDeltas);
      try (IrisStreamsApp app = new IrisStreamsApp(config, bootstrap, dir.resolve("streams"));
          KafkaConsumer<byte[], byte[]> reader = reader(bootstrap)) {
        app.start(Duration.ofMinutes(2));
        // Timed: until the app has written every delta (its own counter; reading iris.log here
        // would take a core from the app on this 2-core machine).
        long t0 = System.nanoTime();
        Map<String, Long> cpuBefore = ThreadCpu.snapshot();
        long lastReport = t0;
        List<Metric> sequenced = app.metrics("deltas-out-total");
        // The second half of the run apart: the JVM compiles the app's code during the first
        // seconds (see the CPU table), so the whole run's rate includes the warm-up.
        long tHalf = 0;
        double deltasAtHalf = 0;
        Map<String, Long> cpuAtHalf = null;
        double written;
        while ((written = IrisStreamsApp.sum(sequenced)) < expectedDeltas) {
          if (tHalf == 0 && written >= expectedDeltas / 2.0) {
            tHalf = System.nanoTime();
            deltasAtHalf = written;
            cpuAtHalf = ThreadCpu.snapshot();
          }
          Thread.sleep(50);
          long now = System.nanoTime();
          if (now - lastReport > 2_000_000_000L) {
            sequenced = app.metrics("deltas-out-total");
            out.printf(
                "bench:   %,.0f of %,d deltas written, %.0f s%n",
                IrisStreamsApp.sum(sequenced), expectedDeltas, (now - t0) / 1e9);
            lastReport = now;
          }
          if (now - t0 > Duration.ofMinutes(10).toNanos()) {
            throw new IllegalStateException("streams app did not finish within 10 minutes");
          }
        }
        long t1 = System.nanoTime();
        Map<String, Long> cpuAfter = ThreadCpu.snapshot();
        double secs = (t1 - t0) / 1e9;
        // Kafka Streams' own account of its commits, read before the app stops.
        double commitAvg =
            IrisStreamsApp.sum(app.kafkaMetrics("stream-thread-metrics", "commit-latency-avg"));
        double commitMax =
            IrisStreamsApp.sum(app.kafkaMetrics("stream-thread-metrics", "commit-latency-max"));
        double commits =
            IrisStreamsApp.sum(app.kafkaMetrics("stream-thread-metrics", "commit-total"));
        // Not timed: every delta is in iris.log once the last transaction commits.
        long seen = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        reader.subscribe(List.of(Topics.LOG.name()));
        while (seen < expectedDeltas && System.nanoTime() < deadline) {
          seen += reader.poll(Duration.ofMillis(500)).count();
        }
        if (seen != expectedDeltas) {
          throw new IllegalStateException(
              "iris.log holds " + seen + " deltas (read_committed), expected " + expectedDeltas);
        }
        // Not timed either: what the broker appended from the load to the last commit.
        Map<String, BrokerAppends.Count> appended;
        short transactionVersion;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
          appended =
              BrokerAppends.appended(
                  bootstrap, BrokerAppends.grown(offsetsBefore, BrokerAppends.endOffsets(admin)));
          transactionVersion = BrokerAppends.transactionVersion(admin);
        }
        double inRate = (commands + threads) / secs;
        double outRate = expectedDeltas / secs;
        out.println();
        out.printf("| measurement (same broker, same run) | records/s | note |%n|---|---:|---|%n");
        out.printf(
            "| kafka-producer-perf-test, %d B, acks=all, linger 5 ms, 128 KiB, lz4 | %,.0f | p50 %d ms, p99 %d ms |%n",
            frameBytes, tuned.recordsPerSec(), tuned.p50Ms(), tuned.p99Ms());
        out.printf(
            "| kafka-producer-perf-test, %d B, acks=all, defaults | %,.0f | p50 %d ms, p99 %d ms |%n",
            frameBytes, defaults.recordsPerSec(), defaults.p50Ms(), defaults.p99Ms());
        out.printf(
            "| loading iris.commands (same producer settings as the tuned line) | %,.0f | %,d records in %.1f s |%n",
            (commands + threads) / loadSecs, commands + threads, loadSecs);
        out.printf(
            "| streams app: commands in | %,.0f | %s, %d thread(s), commit every %d ms, %.1f s |%n",
            inRate,
            config.getString(StreamsAppConfig.PROCESSING_GUARANTEE_CONFIG),
            config.getInt(StreamsAppConfig.NUM_THREADS_CONFIG),
            config.getLong(StreamsAppConfig.COMMIT_INTERVAL_MS_CONFIG),
            secs);
        out.printf("| streams app: deltas out | %,.0f | average fan-out %.2f |%n", outRate, fanOut);
        if (tHalf > 0 && t1 > tHalf) {
          double halfSecs = (t1 - tHalf) / 1e9;
          out.printf(
              "| streams app: commands in, second half of the run | %,.0f | %,.0f deltas out/s,"
                  + " the last %.1f s (warmer JIT) |%n",
              (expectedDeltas - deltasAtHalf) / fanOut / halfSecs,
              (expectedDeltas - deltasAtHalf) / halfSecs,
              halfSecs);
        }
        out.printf(
            "| streams app: commits (Kafka Streams' stream-thread-metrics) | %,.0f | duration avg"
                + " %.1f ms, max %.1f ms (per thread, summed over threads) |%n",
            commits, commitAvg, commitMax);
        out.printf(
            "| ratio: commands in / tuned perf-test | %.2f | target >= 0.5 |%n",
            inRate / tuned.recordsPerSec());
        printAppends(appended, commands + threads, transactionVersion);
        printCpu(
            cpuBefore,
            cpuAtHalf,
            cpuAfter,
            t1 - t0,
            commands + threads,
            (expectedDeltas - deltasAtHalf) / fanOut);
      }
    } finally {
      deleteTree(dir);
    }
  }

  /** What the broker appended from the load to the end, per topic and per command. */
  private void printAppends(
      Map<String, BrokerAppends.Count> appended, long processed, short transactionVersion) {
    List<BrokerAppends.Row> rows = BrokerAppends.rows(appended, processed);
    long appRecords = BrokerAppends.totalRecords(rows, Set.of(Topics.COMMANDS.name()));
    long markers = BrokerAppends.totalMarkers(rows);
    out.println();
    out.printf(
        "broker: transaction.version %d finalized (%s)%n",
        transactionVersion,
        transactionVersion >= 2
            ? "transaction version 2 active: KIP-890 part 2"
            : "transaction version 2 NOT active");
    out.printf(
        "broker appends per command: %.2f records by the app (%,d records / %,d commands),"
            + " %.2f with the input record; %.2f transaction markers per command (%,d)%n",
        (double) appRecords / processed,
        appRecords,
        processed,
        (double) (appRecords + processed) / processed,
        (double) markers / processed,
        markers);
    out.printf(
        "| topic (from the load to the last commit) | records appended | per command |"
            + " transaction markers |%n|---|---:|---:|---:|%n");
    for (BrokerAppends.Row r : rows) {
      out.printf(
          "| %s%s | %,d | %.3f | %,d |%n",
          r.topic(),
          r.topic().equals(Topics.COMMANDS.name()) ? " (input, the loader)" : "",
          r.records(),
          r.recordsPerCommand(),
          r.markers());
    }
  }

  /** Where this JVM's CPU went while the app was timed (broker and app share it). */
  private void printCpu(
      Map<String, Long> before,
      Map<String, Long> atHalf,
      Map<String, Long> after,
      long wallNanos,
      long processed,
      double processedInSecondHalf) {
    List<ThreadCpu.Row> rows = ThreadCpu.between(before, after, wallNanos, 0.01);
    if (rows.isEmpty()) {
      return;
    }
    Map<String, Double> secondHalf = new java.util.HashMap<>();
    if (atHalf != null) {
      ThreadCpu.between(atHalf, after, 0, 0)
          .forEach(r -> secondHalf.put(r.group(), r.cpuSeconds()));
    }
    out.println();
    out.printf(
        "| CPU of this JVM while timed (broker and app), %.1f s | CPU s | cores | us per command"
            + " | us per command, second half |%n|---|---:|---:|---:|---:|%n",
        wallNanos / 1e9);
    for (ThreadCpu.Row r : rows) {
      out.printf(
          "| %s | %.2f | %.2f | %.1f | %s |%n",
          r.group(),
          r.cpuSeconds(),
          r.cores(),
          r.cpuSeconds() * 1e6 / processed,
          atHalf == null || processedInSecondHalf <= 0
              ? "-"
              : String.format(
                  "%.1f", secondHalf.getOrDefault(r.group(), 0.0) * 1e6 / processedInSecondHalf));
    }
  }

  /** Produces {@code c} to iris.commands keyed by its thread id, as the bridge does. */
  static void produce(KafkaProducer<Long, byte[]> producer, ClientCommand c) {
    producer.send(
        new ProducerRecord<>(
            Topics.COMMANDS.name(), c.getThreadId(), FrameCodec.defaults().encode(c)));
  }

  /**
   * The command that creates bench thread {@code t} (thread id {@code t + 1}), sent by its first
   * member with the others as participants.
   */
  static ClientCommand createThread(long[] members, int t, long now) {
    List<Long> others = new ArrayList<>();
    for (int i = 1; i < members.length; i++) {
      others.add(members[i]);
    }
    return new ClientCommand(
        members[0],
        "bench",
        "create-" + t,
        t + 1,
        now,
        CommandBody.createThread(new CreateThread(others)));
  }

  static ClientCommand send(long sender, long thread, int i, String text) {
    return new ClientCommand(
        sender,
        "bench",
        "m" + i,
        thread,
        System.currentTimeMillis(),
        CommandBody.sendMessage(new SendMessage(text)));
  }

  static void createTopics(String bootstrap) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<TopicInstaller.Plan> plans = new ArrayList<>();
      for (Topic<?, ?> t : List.of(Topics.COMMANDS, Topics.LOG, Topics.DLQ)) {
        int partitions = t == Topics.LOG ? 12 : t == Topics.COMMANDS ? 6 : 1;
        plans.add(new TopicInstaller.Plan(t, partitions, (short) 1, t.configs()));
      }
      new TopicInstaller(admin, 30_000).install(plans);
      admin.createTopics(Set.of(new NewTopic("bench.raw", 6, (short) 1))).all().get();
    }
  }

  static KafkaProducer<Long, byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.putAll(TUNED);
    return new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
  }

  static KafkaConsumer<byte[], byte[]> reader(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-reader");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    // No offset commits: they would count among the broker appends the bench reports.
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  static void deleteTree(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (Exception e) {
      // best effort
    }
  }
}
