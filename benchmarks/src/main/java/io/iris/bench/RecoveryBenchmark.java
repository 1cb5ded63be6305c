package io.iris.bench;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.embedded.EmbeddedKafka;
import io.iris.launcher.IrisConfig;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;

/**
 * Crash recovery, timed: (1) kill -9 of the streams app after a long history of commands, restarted
 * at once on the same state directory: how long until it writes deltas again; (2) kill -9 of the
 * whole stack ({@code iris up} and every process it started), then {@code iris up} again: how long
 * until a device is served again (a message sent after the kill delivered). Each part runs its
 * processes as an operator does (separate JVMs of the launcher) so that the kill is a real SIGKILL.
 */
final class RecoveryBenchmark {
  /** Probe users and thread, outside the history's ids. */
  static final long PROBE_A = 9_000_000_001L;

  static final long PROBE_B = 9_000_000_002L;
  static final long PROBE_THREAD = 9_000_000_000L;

  private final PrintStream out;
  private final int history;
  private final int stackHistory;
  private final int kills;
  private final Map<String, String> overrides;
  private final List<String> parts;
  private final StringBuilder table = new StringBuilder();

  RecoveryBenchmark(
      PrintStream out,
      int history,
      int stackHistory,
      int kills,
      List<String> parts,
      Map<String, String> overrides) {
    this.out = out;
    this.history = history;
    this.stackHistory = stackHistory;
    this.kills = kills;
    this.parts = parts;
    this.overrides = overrides;
  }

  void run() throws Exception {
    table.append("| measurement | value |\n|---|---|\n");
    table
        .append("| settings | ")
        .append(overrides.isEmpty() ? "defaults" : overrides)
        .append(" |\n");
    if (parts.contains("streams")) {
      streamsPart();
    }
    if (parts.contains("stack")) {
      stackPart();
    }
    out.println();
    out.print(table);
  }

  // ---------------------------------------------------------------- part 1: the streams app

  private void streamsPart() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-recovery");
    try (EmbeddedKafka kafka =
        new EmbeddedKafka(EmbeddedKafka.Settings.ephemeral(dir.resolve("kafka")))) {
      out.println("bench: part 1, the streams app; a fresh embedded broker in " + dir);
      kafka.start();
      String bootstrap = kafka.bootstrapServers();
      StreamsBenchmark.createTopics(bootstrap);
      Map<String, String> env = new HashMap<>();
      env.put("IRIS_KAFKA_BOOTSTRAP_SERVERS", bootstrap);
      env.put("IRIS_DATA_DIR", dir.toString());
      env.put(IrisConfig.envName(StreamsAppConfig.REPLICATION_FACTOR_CONFIG), "1");
      overrides.forEach((k, v) -> env.put(IrisConfig.envName(k), v));

      long written = loadHistory(bootstrap, history);
      Child app = Child.start(env, dir.resolve("streams.out"), "streams", "--ops-port", "0");
      try {
        app.await("streams app running", Duration.ofMinutes(3));
        awaitProcessed(bootstrap, written, Duration.ofMinutes(30));
        long logRecords = endOffsets(bootstrap, Topics.LOG.name());
        table.append(
            String.format(
                "| history before the first kill | %,d commands, iris.log %,d offsets |%n",
                written, logRecords));
        try (Probe probe = Probe.start(bootstrap)) {
          for (int k = 1; k <= kills; k++) {
            probe.awaitFlowing(Duration.ofSeconds(60));
            Thread.sleep(2000);
            long killedAt = System.nanoTime();
            app.kill();
            long restartAt = System.nanoTime();
            app = Child.start(env, dir.resolve("streams.out"), "streams", "--ops-port", "0");
            app.await("streams app running", Duration.ofMinutes(5));
            long runningAt = System.nanoTime();
            long firstAfter = probe.firstDeliveryOfASendAfter(killedAt, Duration.ofMinutes(5));
            long gap = probe.longestGapAround(killedAt);
            out.printf(
                "bench:   kill %d: running again %.1f s after the restart, a send made after the"
                    + " kill written %.1f s after the kill (longest silence on iris.log %.1f s)%n",
                k, (runningAt - restartAt) / 1e9, (firstAfter - killedAt) / 1e9, gap / 1e9);
            table.append(
                String.format(
                    "| kill -9 of the streams app #%d: restart → RUNNING / kill → first delta of a"
                        + " later send / longest silence of iris.log | %.1f s / **%.1f s** / %.1f"
                        + " s |%n",
                    k, (runningAt - restartAt) / 1e9, (firstAfter - killedAt) / 1e9, gap / 1e9));
          }
        }
      } finally {
        app.kill();
      }
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
  }

  /** Threads of 2 to 4 of 20,000 users, then {@code n} sends; returns the commands written. */
  static long loadHistory(String bootstrap, int n) {
    if (n == 0) {
      return 0;
    }
    int users = 20_000;
    int threads = 5_000;
    Random random = new Random(11);
    List<long[]> members = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      long[] m = random.longs(2 + random.nextInt(3), 1, users + 1L).distinct().toArray();
      members.add(m.length < 2 ? new long[] {1, 2} : m);
    }
    long t0 = System.nanoTime();
    long lastReport = t0;
    try (KafkaProducer<Long, byte[]> producer = StreamsBenchmark.producer(bootstrap)) {
      long now = System.currentTimeMillis();
      for (int t = 0; t < threads; t++) {
        StreamsBenchmark.produce(producer, StreamsBenchmark.createThread(members.get(t), t, now));
      }
      String text = "x".repeat(40);
      for (int i = 0; i < n; i++) {
        int t = random.nextInt(threads);
        long[] m = members.get(t);
        StreamsBenchmark.produce(
            producer, StreamsBenchmark.send(m[random.nextInt(m.length)], t + 1, i, text));
        if (System.nanoTime() - lastReport > 5_000_000_000L) {
          lastReport = System.nanoTime();
          System.out.printf("bench:   history: %,d of %,d commands written%n", i, n);
        }
      }
      producer.flush();
    }
    System.out.printf(
        "bench:   history: %,d commands written in %.1f s%n",
        n + threads, (System.nanoTime() - t0) / 1e9);
    return n + threads;
  }

  /** Waits until the streams app's group has committed every record of iris.commands. */
  static void awaitProcessed(String bootstrap, long commands, Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    long lastReport = 0;
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      long end = endOffsets(admin, Topics.COMMANDS.name());
      while (true) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin
                .listConsumerGroupOffsets(io.iris.topics.Names.STREAMS_APPLICATION_ID)
                .partitionsToOffsetAndMetadata()
                .get();
        long done =
            committed.entrySet().stream()
                .filter(e -> e.getKey().topic().equals(Topics.COMMANDS.name()))
                .filter(e -> e.getValue() != null)
                .mapToLong(e -> e.getValue().offset())
                .sum();
        // Each transaction's commit marker takes an offset too: done can pass the records' count.
        if (done >= end) {
          System.out.printf(
              "bench:   the streams app processed the history (%,d commands) in %.0f s%n",
              commands, (System.nanoTime() - t0) / 1e9);
          return;
        }
        if (System.nanoTime() - lastReport > 5_000_000_000L) {
          lastReport = System.nanoTime();
          System.out.printf(
              "bench:   streams app: %,d of %,d command offsets processed, %.0f s%n",
              done, end, (System.nanoTime() - t0) / 1e9);
        }
        if (System.nanoTime() - t0 > timeout.toNanos()) {
          throw new IllegalStateException("the streams app did not process the history in time");
        }
        Thread.sleep(500);
      }
    }
  }

  static long endOffsets(String bootstrap, String topic) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      return endOffsets(admin, topic);
    }
  }

  private static long endOffsets(Admin admin, String topic) throws Exception {
    int partitions =
        admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      request.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    return admin.listOffsets(request).all().get().values().stream()
        .mapToLong(r -> r.offset())
        .sum();
  }

  /**
   * Sends a probe message every 20 ms into a thread of two probe users straight to iris.commands,
   * and notes when each one's delta for user A shows on iris.log (read_committed).
   */
  static final class Probe implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Probes probes = new Probes();
    private final List<Long> arrivals = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Thread sender;
    private final Thread reader;

    private Probe(String bootstrap) {
      KafkaProducer<Long, byte[]> producer = StreamsBenchmark.producer(bootstrap);
      StreamsBenchmark.produce(
          producer,
          new ClientCommand(
              PROBE_A,
              "probe",
              "probe-create",
              PROBE_THREAD,
              System.currentTimeMillis(),
              CommandBody.createThread(new CreateThread(List.of(PROBE_B)))));
      sender =
          new Thread(
              () -> {
                int i = 0;
                try (producer) {
                  while (running.get()) {
                    int n = i++;
                    probes.sent(n);
                    StreamsBenchmark.produce(
                        producer, StreamsBenchmark.send(PROBE_B, PROBE_THREAD, n, "probe-" + n));
                    producer.flush();
                    Thread.sleep(20);
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "bench-probe-sender");
      reader =
          new Thread(
              () -> {
                Properties p = new Properties();
                p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
                try (KafkaConsumer<Long, byte[]> c =
                    new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer())) {
                  int partitions = c.partitionsFor(Topics.LOG.name()).size();
                  TopicPartition tp =
                      new TopicPartition(
                          Topics.LOG.name(),
                          io.iris.bridge.down.LogLayout.partitionOf(PROBE_A, partitions));
                  c.assign(List.of(tp));
                  c.seekToEnd(List.of(tp));
                  while (running.get()) {
                    for (ConsumerRecord<Long, byte[]> r : c.poll(Duration.ofMillis(100))) {
                      if (r.key() != PROBE_A) {
                        continue;
                      }
                      long now = System.nanoTime();
                      arrivals.add(now);
                      probes.seen(FrameCodec.defaults().decode(r.value(), Delta::new), now);
                    }
                  }
                }
              },
              "bench-probe-reader");
      sender.setDaemon(true);
      reader.setDaemon(true);
    }

    static Probe start(String bootstrap) {
      Probe p = new Probe(bootstrap);
      p.reader.start();
      p.sender.start();
      return p;
    }

    void awaitFlowing(Duration timeout) throws InterruptedException {
      probes.awaitFlowing(Duration.ofMillis(500), timeout, "probe deltas do not flow");
    }

    /** When the delta of the first probe sent after {@code t} showed on iris.log. */
    long firstDeliveryOfASendAfter(long t, Duration timeout) throws InterruptedException {
      return probes.firstSeenOfASentAfter(t, timeout);
    }

    /** The longest time between two deltas of user A on iris.log, from 5 s before {@code t}. */
    long longestGapAround(long t) {
      List<Long> copy;
      synchronized (arrivals) {
        copy = new ArrayList<>(arrivals);
      }
      long longest = 0;
      long previous = -1;
      for (long a : copy) {
        if (a < t - 5_000_000_000L) {
          continue;
        }
        if (previous >= 0) {
          longest = Math.max(longest, a - previous);
        }
        previous = a;
      }
      return longest;
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      sender.join(5000);
      reader.join(5000);
    }
  }

  /** When each probe message ("probe-N") was sent and when it was first seen, by N. */
  static final class Probes {
    private final Map<Integer, Long> sentAt = new ConcurrentHashMap<>();
    private final Map<Integer, Long> seenAt = new ConcurrentHashMap<>();
    private final AtomicLong lastSeen = new AtomicLong();

    void sent(int n) {
      sentAt.put(n, System.nanoTime());
    }

    /** Notes {@code d} seen at {@code now} if it carries a probe message; says whether it did. */
    boolean seen(Delta d, long now) {
      if (!d.getBody().isSetNewMessage()) {
        return false;
      }
      String text = d.getBody().getNewMessage().getText();
      if (!text.startsWith("probe-")) {
        return false;
      }
      seenAt.putIfAbsent(Integer.parseInt(text.substring(6)), now);
      lastSeen.set(now);
      return true;
    }

    /** Waits until a probe was seen within the last {@code quiet}; fails with {@code what}. */
    void awaitFlowing(Duration quiet, Duration timeout, String what) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() - lastSeen.get() > quiet.toNanos()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(what);
        }
        Thread.sleep(100);
      }
    }

    /** Waits for, and returns, when the first probe sent after {@code t} was seen. */
    long firstSeenOfASentAfter(long t, Duration timeout) throws InterruptedException {
      return awaitFirst(
          () -> {
            long best = Long.MAX_VALUE;
            for (var e : sentAt.entrySet()) {
              if (e.getValue() > t) {
                Long seen = seenAt.get(e.getKey());
                if (seen != null) {
                  best = Math.min(best, seen);
                }
              }
            }
            return best;
          },
          timeout);
    }
  }

  static long awaitFirst(LongSupplier when, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long t = when.getAsLong();
      if (t != Long.MAX_VALUE) {
        return t;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("nothing within " + timeout);
      }
      Thread.sleep(20);
    }
  }

  // ---------------------------------------------------------------- part 2: the whole stack

  private void stackPart() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-recovery-stack");
    try {
      out.println("bench: part 2, the whole stack (iris up) in " + dir);
      Map<String, Object> c = IrisConfig.onFreePorts(dir);
      c.putAll(overrides);
      Properties props = new Properties();
      c.forEach((k, v) -> props.setProperty(k, String.valueOf(v)));
      Path file = dir.resolve("iris.properties");
      try (var w = Files.newBufferedWriter(file)) {
        props.store(w, "bench recovery");
      }
      String bootstrap = "127.0.0.1:" + c.get(IrisConfig.KAFKA_PORT_CONFIG);
      String mqtt = "tcp://127.0.0.1:" + c.get(io.iris.bridge.BridgeConfig.MQTT_PORT_CONFIG);
      Path log = dir.resolve("up.out");
      Child up = Child.start(Map.of(), log, "up", "-c", file.toString());
      try {
        up.await("iris: up in", Duration.ofMinutes(5));
        List<String> tokens =
            DeviceRegistry.registerAll(
                bootstrap, List.of(Map.entry(PROBE_A, "phone"), Map.entry(PROBE_B, "phone")));
        long written = loadHistory(bootstrap, stackHistory);
        awaitProcessed(bootstrap, written, Duration.ofMinutes(30));
        table.append(
            String.format(
                "| whole stack: history before the first kill | %,d commands, iris.log %,d"
                    + " offsets |%n",
                written, endOffsets(bootstrap, Topics.LOG.name())));
        try (Devices devices = Devices.open(mqtt, tokens)) {
          for (int k = 1; k <= kills; k++) {
            devices.awaitFlowing(Duration.ofSeconds(60));
            Thread.sleep(2000);
            long killedAt = System.nanoTime();
            int killed = up.killTree();
            long restartAt = System.nanoTime();
            up = Child.start(Map.of(), log, "up", "-c", file.toString());
            up.await("iris: up in", Duration.ofMinutes(5));
            long upAt = System.nanoTime();
            long reconnected = devices.reconnectedAfter(killedAt, Duration.ofMinutes(5));
            long delivered = devices.firstDeliveryOfASendAfter(killedAt, Duration.ofMinutes(5));
            out.printf(
                "bench:   kill %d (%d processes): iris up again in %.1f s; the device reconnected"
                    + " %.1f s and got a message sent after the kill %.1f s after the kill%n",
                k,
                killed,
                (upAt - restartAt) / 1e9,
                (reconnected - killedAt) / 1e9,
                (delivered - killedAt) / 1e9);
            table.append(
                String.format(
                    "| kill -9 of the whole stack #%d (%d processes): iris up again / device"
                        + " reconnected / **a message sent after the kill delivered** (from the"
                        + " kill) | %.1f s / %.1f s / **%.1f s** |%n",
                    k,
                    killed,
                    (upAt - killedAt) / 1e9,
                    (reconnected - killedAt) / 1e9,
                    (delivered - killedAt) / 1e9));
          }
        }
      } finally {
        up.killTree();
      }
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
  }

  /** Device B sends to device A every 100 ms; A notes when each arrives. */
  static final class Devices implements AutoCloseable, IrisDevice.Listener {
    private final Probes probes = new Probes();
    private final AtomicLong lastConnected = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private IrisDevice a;
    private IrisDevice b;
    private Thread sender;

    static Devices open(String uri, List<String> tokens) throws Exception {
      Devices d = new Devices();
      d.a = device(uri, PROBE_A, tokens.get(0), d);
      d.b = device(uri, PROBE_B, tokens.get(1), null);
      long thread =
          d.b.createThread(List.of(PROBE_A), "probe").get(30, TimeUnit.SECONDS).getThreadId();
      d.sender =
          new Thread(
              () -> {
                int i = 0;
                while (d.running.get()) {
                  int n = i++;
                  d.probes.sent(n);
                  d.b.send(thread, "probe-" + n);
                  try {
                    Thread.sleep(100);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "bench-device-sender");
      d.sender.setDaemon(true);
      d.sender.start();
      return d;
    }

    private static IrisDevice device(String uri, long user, String token, Devices listener)
        throws Exception {
      IrisDevice.Builder builder =
          IrisDevice.builder()
              // Comparable with the figures before receipts (they add MarkDelivered commands).
              .deliveryReceipts(false)
              .serverUri(uri)
              .user(user)
              .device("phone")
              .token(token)
              .maxReconnectDelay(Duration.ofSeconds(1))
              .resendAfter(Duration.ofSeconds(3))
              .sendDeadline(Duration.ofMinutes(10));
      if (listener != null) {
        builder.listener(listener);
      }
      IrisDevice d = builder.build();
      d.connect(Duration.ofSeconds(30));
      return d;
    }

    @Override
    public void onDeltas(List<Delta> deltas) {
      long now = System.nanoTime();
      for (Delta d : deltas) {
        probes.seen(d, now);
      }
    }

    @Override
    public void onConnection(boolean up) {
      if (up) {
        lastConnected.set(System.nanoTime());
      }
    }

    void awaitFlowing(Duration timeout) throws InterruptedException {
      probes.awaitFlowing(Duration.ofSeconds(1), timeout, "messages do not reach the device");
    }

    long reconnectedAfter(long t, Duration timeout) throws InterruptedException {
      return awaitFirst(
          () -> lastConnected.get() > t ? lastConnected.get() : Long.MAX_VALUE, timeout);
    }

    long firstDeliveryOfASendAfter(long t, Duration timeout) throws InterruptedException {
      return probes.firstSeenOfASentAfter(t, timeout);
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      sender.interrupt();
      sender.join(5000);
      b.close();
      a.close();
    }
  }

  /** A launcher JVM (same class path as this one), its output appended to one file. */
  static final class Child {
    private final Process process;
    private final Path output;
    private final long startedAt;

    private Child(Process process, Path output, long startedAt) {
      this.process = process;
      this.output = output;
      this.startedAt = startedAt;
    }

    static Child start(Map<String, String> env, Path output, String... args) throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-Xmx1g");
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add("io.iris.launcher.IrisCli");
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().keySet().removeIf(k -> k.startsWith("IRIS_"));
      pb.environment().putAll(env);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
      long before = outputLength(output);
      return new Child(pb.start(), output, before);
    }

    private static long outputLength(Path output) {
      try {
        return Files.exists(output) ? Files.size(output) : 0;
      } catch (IOException e) {
        return 0;
      }
    }

    /** Waits until this process (not an earlier one) printed {@code text}. */
    void await(String text, Duration timeout) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        String printed;
        try (var in = Files.newInputStream(output)) {
          in.skipNBytes(startedAt);
          printed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (printed.contains(text)) {
          return;
        }
        if (!process.isAlive()) {
          throw new IllegalStateException(
              "exited with "
                  + process.exitValue()
                  + " before printing '"
                  + text
                  + "':\n"
                  + printed);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no '" + text + "' within " + timeout + ":\n" + printed);
        }
        Thread.sleep(50);
      }
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGKILL to this process and every process it started, all at once; returns how many. */
    int killTree() throws InterruptedException {
      List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
      all.add(process.toHandle());
      all.forEach(ProcessHandle::destroyForcibly);
      for (ProcessHandle h : all) {
        h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> h).join();
      }
      return all.size();
    }
  }
}
