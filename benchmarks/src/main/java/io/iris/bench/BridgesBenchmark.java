package io.iris.bench;

import io.iris.bridge.down.LogLayout;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.embedded.Ports;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.TestStacks;
import io.iris.topics.Names;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Bridges that share iris.log (issue 17), measured. One embedded stack without a bridge of its own
 * (Kafka, MariaDB, Connect with the sink, the streams app), and bridges as operators run them:
 * {@code iris bridge} processes, members of the group iris-mqtt-bridge.
 *
 * <ol>
 *   <li>share: the same offered load — background commands of {@code users} users in {@code
 *       threads} threads at {@code rate}/s, written to iris.commands as the bridges would, plus
 *       {@code pairs} pairs of SDK devices messaging at {@code pairRate}/s — served by 1, 2, …
 *       {@code maxBridges} bridges in turn. Per bridge: partitions owned, devices connected, bytes
 *       of iris.log read per second (the Kafka consumer's own bytes-consumed counter), users known
 *       and delta bytes held in memory (tier 1), heap after a full GC and RSS. Per configuration:
 *       send-to-delivery latency of the SDK pairs, beside Kafka's EndToEndLatency on the same
 *       broker.
 *   <li>connections: {@code connections} devices connected and subscribed to one bridge from a
 *       separate JVM ({@link ConnectionLoad}); RSS and heap after GC of the bridge before and
 *       after, per connection; its open files against its limit.
 * </ol>
 */
public final class BridgesBenchmark {
  private static final long FIRST_PAIR_USER = 5_000_000L;
  private static final long FIRST_IDLE_USER = 1_000_000L;

  /** What the run is given. */
  public record Settings(
      int maxBridges,
      int users,
      int threads,
      int rate,
      int pairs,
      int pairRate,
      int seconds,
      int warmup,
      int connections,
      List<String> bridgeJvm) {}

  /** One bridge's figures in one configuration. */
  record Row(
      int bridges,
      String bridge,
      int partitions,
      long devices,
      double logBytesPerSec,
      long usersKnown,
      long tier1Bytes,
      long heapAfterGc,
      long rss,
      double cores) {}

  /** One configuration's delivery figures. */
  record Latency(
      int bridges,
      long sent,
      long delivered,
      double p50,
      double p99,
      double max,
      double machineCores) {}

  private final PrintStream out;
  private final Settings s;
  private final List<Row> rows = new ArrayList<>();
  private final List<Latency> latencies = new ArrayList<>();
  private final StringBuilder connectionsTable = new StringBuilder();
  private final HttpClient http = HttpClient.newHttpClient();

  public BridgesBenchmark(PrintStream out, Settings settings) {
    this.out = out;
    this.s = settings;
  }

  /** A bridge process of this run. */
  private record Bridge(String id, int mqttPort, int opsPort, Path dir, LauncherProcess process) {
    String uri() {
      return "tcp://127.0.0.1:" + mqttPort;
    }
  }

  public void run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-bridges");
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    c.put(IrisConfig.RUN_BRIDGE_CONFIG, "false");
    long[] e2e;
    try (IrisStack stack = new IrisStack(new IrisConfig(c))) {
      stack.preflight();
      stack.start(line -> out.println("bench: up  " + line));
      LogLayout layout;
      try (Admin admin = Admin.create(stack.adminConfig())) {
        layout = LogLayout.describe(admin, Duration.ofSeconds(30));
      }
      out.printf("bench: reference: Kafka's EndToEndLatency on the same broker%n");
      e2e = ProducerPerfTest.endToEndLatency(stack.bootstrapServers());
      List<long[]> members = createThreads(stack);
      List<String> tokens = registerPairs(stack);
      AtomicBoolean loading = new AtomicBoolean(true);
      Thread load = backgroundLoad(stack, members, loading);
      try {
        for (int n = 1; n <= s.maxBridges(); n++) {
          share(stack, layout, n, tokens);
        }
      } finally {
        loading.set(false);
        load.join(10_000);
      }
      if (s.connections() > 0) {
        connections(stack);
      }
    } finally {
      TestStacks.delete(dir);
    }
    String report = report(e2e);
    out.println();
    out.print(report);
    if (rows.isEmpty()) {
      return;
    }
    Path html = Path.of("bench-results", "bridges.html");
    Files.createDirectories(html.getParent());
    double[] reads = new double[s.maxBridges()];
    double[] held = new double[s.maxBridges()];
    double[] ideal = new double[s.maxBridges()];
    for (Row r : rows) {
      reads[r.bridges() - 1] = Math.max(reads[r.bridges() - 1], r.logBytesPerSec() / 1024);
      held[r.bridges() - 1] = Math.max(held[r.bridges() - 1], r.tier1Bytes() / 1024.0);
    }
    for (int n = 1; n <= s.maxBridges(); n++) {
      ideal[n - 1] = reads[0] / n;
    }
    HtmlChart.write(
        html,
        "Bridges sharing iris.log: the busiest bridge's reads and memory as bridges are added",
        "bridges - 1",
        report,
        List.of(
            new HtmlChart.Series("iris.log KiB/s read, busiest bridge", "#1f77b4", reads),
            new HtmlChart.Series("1/N of one bridge's reads", "#999999", ideal),
            new HtmlChart.Series("tier-1 KiB held, largest bridge", "#ff7f0e", held)));
    out.println("bench: report written to " + html.toAbsolutePath());
  }

  /** The threads of the background load, created before any bridge runs. */
  private List<long[]> createThreads(IrisStack stack) {
    Random random = new Random(7);
    List<long[]> members = new ArrayList<>();
    try (KafkaProducer<Long, byte[]> producer =
        StreamsBenchmark.producer(stack.bootstrapServers())) {
      long now = System.currentTimeMillis();
      for (int t = 0; t < s.threads(); t++) {
        long[] m = random.longs(3, 1, s.users() + 1L).distinct().toArray();
        while (m.length < 2) {
          m = random.longs(3, 1, s.users() + 1L).distinct().toArray();
        }
        members.add(m);
        StreamsBenchmark.produce(producer, StreamsBenchmark.createThread(m, t, now));
      }
      producer.flush();
    }
    out.printf(
        "bench: %,d threads created among %,d users (background load)%n", s.threads(), s.users());
    return members;
  }

  /** Sends of the background users at {@code rate}/s until {@code loading} turns false. */
  private Thread backgroundLoad(IrisStack stack, List<long[]> members, AtomicBoolean loading) {
    Thread t =
        new Thread(
            () -> {
              Random random = new Random(11);
              String text = "x".repeat(40);
              try (KafkaProducer<Long, byte[]> producer =
                  StreamsBenchmark.producer(stack.bootstrapServers())) {
                long t0 = System.nanoTime();
                long sent = 0;
                while (loading.get()) {
                  long due = (System.nanoTime() - t0) * s.rate() / 1_000_000_000L;
                  for (; sent < due; sent++) {
                    int thread = random.nextInt(members.size());
                    long[] m = members.get(thread);
                    StreamsBenchmark.produce(
                        producer,
                        StreamsBenchmark.send(
                            m[random.nextInt(m.length)], thread + 1, (int) sent, text));
                  }
                  Thread.sleep(5);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "bench-background-load");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private List<String> registerPairs(IrisStack stack) throws Exception {
    List<Map.Entry<Long, String>> ids = new ArrayList<>();
    for (int i = 0; i < 2 * s.pairs(); i++) {
      ids.add(Map.entry(FIRST_PAIR_USER + i, "phone"));
    }
    return DeviceRegistry.registerAll(stack.bootstrapServers(), ids);
  }

  /** The offered load served by {@code n} bridges: one row per bridge, one latency line. */
  private void share(IrisStack stack, LogLayout layout, int n, List<String> tokens)
      throws Exception {
    out.printf("bench: %d bridge(s)%n", n);
    List<Bridge> bridges = new ArrayList<>();
    try {
      for (int i = 1; i <= n; i++) {
        bridges.add(startBridge(stack, "bench-bridge-" + i));
      }
      Map<String, Integer> owned = awaitOwners(stack, bridges, layout.partitions());
      String[] uris = bridges.stream().map(Bridge::uri).toArray(String[]::new);
      List<IrisDevice> devices = new ArrayList<>();
      long[] latencyNanos = new long[s.pairRate() * s.seconds() + 1000];
      AtomicLong measured = new AtomicLong();
      AtomicLong delivered = new AtomicLong();
      AtomicBoolean measuring = new AtomicBoolean(false);
      try {
        for (int i = 0; i < 2 * s.pairs(); i++) {
          long user = FIRST_PAIR_USER + i;
          // Each device starts at some bridge and follows the redirect to its owner.
          String[] mine = new String[n];
          for (int k = 0; k < n; k++) {
            mine[k] = uris[(i + k) % n];
          }
          IrisDevice d =
              IrisDevice.builder()
                  // Comparable with the figures before receipts (they add MarkDelivered commands).
                  .deliveryReceipts(false)
                  .serverUris(mine)
                  .user(user)
                  .device("phone")
                  .token(tokens.get(i))
                  .listener(
                      new IrisDevice.Listener() {
                        @Override
                        public void onDeltas(List<Delta> deltas) {
                          long now = System.nanoTime();
                          for (Delta x : deltas) {
                            if (!measuring.get()
                                || !x.getBody().isSetNewMessage()
                                || x.getBody().getNewMessage().getSenderUserId() == user) {
                              continue;
                            }
                            String t = x.getBody().getNewMessage().getText();
                            if (t.startsWith("t=")) {
                              delivered.incrementAndGet();
                              int k = (int) measured.getAndIncrement();
                              if (k < latencyNanos.length) {
                                latencyNanos[k] =
                                    now - Long.parseLong(t.substring(2, t.indexOf(' ')));
                              }
                            }
                          }
                        }
                      })
                  .build();
          d.connect(Duration.ofSeconds(30));
          devices.add(d);
        }
        long[] threads = new long[s.pairs()];
        for (int i = 0; i < s.pairs(); i++) {
          threads[i] =
              devices
                  .get(2 * i)
                  .createThread(List.of(FIRST_PAIR_USER + 2 * i + 1), "bench " + i)
                  .get(60, TimeUnit.SECONDS)
                  .getThreadId();
        }
        out.printf("bench:   warm-up %d s (not measured)%n", s.warmup());
        drive(devices, threads, s.warmup(), "w=");
        Map<String, double[]> before = new HashMap<>();
        for (Bridge b : bridges) {
          before.put(
              b.id(),
              new double[] {
                logBytesRead(b), System.nanoTime(), ThreadCpu.processNanos(b.process().pid())
              });
        }
        long machine0 = ThreadCpu.machineBusyNanos();
        long wall0 = System.nanoTime();
        measuring.set(true);
        long sent = drive(devices, threads, s.seconds(), "t=");
        double machineCores =
            (ThreadCpu.machineBusyNanos() - machine0) / (double) (System.nanoTime() - wall0);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (delivered.get() < sent && System.nanoTime() < until) {
          Thread.sleep(50);
        }
        for (Bridge b : bridges) {
          double[] b0 = before.get(b.id());
          double secs = (System.nanoTime() - b0[1]) / 1e9;
          double cores = (ThreadCpu.processNanos(b.process().pid()) - b0[2]) / 1e9 / secs;
          List<String> m = scrape(b);
          long[] mem = memoryAfterGc(b);
          rows.add(
              new Row(
                  n,
                  b.id(),
                  owned.getOrDefault(b.id(), 0),
                  (long) metric(m, "iris_devices_connected"),
                  (logBytesRead(b) - b0[0]) / secs,
                  (long) metric(m, "iris_tier1_users_known"),
                  (long) metric(m, "iris_tier1_bytes"),
                  mem[0],
                  mem[1],
                  cores));
        }
        int k = (int) Math.min(measured.get(), latencyNanos.length);
        long[] lat = Arrays.copyOf(latencyNanos, k);
        Arrays.sort(lat);
        latencies.add(
            new Latency(
                n,
                sent,
                delivered.get(),
                HopProbe.percentileMs(lat, 0.50),
                HopProbe.percentileMs(lat, 0.99),
                k == 0 ? 0 : lat[k - 1] / 1e6,
                machineCores));
      } finally {
        for (IrisDevice d : devices) {
          d.close();
        }
      }
    } finally {
      for (Bridge b : bridges) {
        b.process().terminate(); // a clean stop leaves the group: the next run starts settled
      }
      for (Bridge b : bridges) {
        b.process().waitFor(Duration.ofSeconds(60));
        b.process().close();
        TestStacks.delete(b.dir());
      }
    }
  }

  /** Sends at {@code pairRate} for {@code secs}, texts "&lt;tag&gt;&lt;nanoTime&gt; …". */
  private long drive(List<IrisDevice> devices, long[] threads, int secs, String tag)
      throws InterruptedException {
    String pad = "x".repeat(40);
    long total = (long) s.pairRate() * secs;
    long t0 = System.nanoTime();
    long sent = 0;
    long nextReport = t0 + 5_000_000_000L;
    while (sent < total) {
      long due = Math.min(total, (System.nanoTime() - t0) * s.pairRate() / 1_000_000_000L);
      for (; sent < due; sent++) {
        int pair = (int) (sent % threads.length);
        int from = 2 * pair + (int) ((sent / threads.length) % 2);
        devices.get(from).send(threads[pair], tag + System.nanoTime() + " " + pad);
      }
      if (System.nanoTime() >= nextReport) {
        out.printf("bench:     %3d s  sent %,d%n", (System.nanoTime() - t0) / 1_000_000_000L, sent);
        nextReport += 5_000_000_000L;
      }
      Thread.sleep(2);
    }
    return total;
  }

  private Bridge startBridge(IrisStack stack, String id) throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-" + id);
    Map<String, String> env = new HashMap<>(LauncherProcess.env(stack, dir));
    int mqtt = Ports.freePort();
    int ops = Ports.freePort();
    env.put("IRIS_MQTT_PORT", Integer.toString(mqtt));
    env.put("IRIS_OPS_PORT", Integer.toString(ops));
    env.put("IRIS_MQTT_BRIDGE_ID", id);
    env.put("IRIS_MQTT_ADVERTISED_URIS", "tcp://127.0.0.1:" + mqtt);
    LauncherProcess p = LauncherProcess.start(s.bridgeJvm(), env, "bridge");
    // Polled here: LauncherProcess.awaitOutput needs Awaitility, a test library.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!p.stdout().contains("iris: up in")) {
      if (System.nanoTime() > until) {
        String output = p.stdout() + p.stderr();
        p.close();
        TestStacks.delete(dir);
        throw new IllegalStateException(id + " did not start in 120 s: " + output);
      }
      Thread.sleep(200);
    }
    out.printf("bench:   %s up (pid %d, MQTT %d, ops %d)%n", id, p.pid(), mqtt, ops);
    return new Bridge(id, mqtt, ops, dir, p);
  }

  /** Waits until exactly these bridges own every partition; partitions per bridge. */
  private Map<String, Integer> awaitOwners(IrisStack stack, List<Bridge> bridges, int partitions)
      throws Exception {
    List<String> ids = bridges.stream().map(Bridge::id).toList();
    try (Admin admin = Admin.create(stack.adminConfig())) {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        Map<String, Integer> owned = new HashMap<>();
        int total = 0;
        for (MemberDescription m :
            admin
                .describeConsumerGroups(List.of(Names.BRIDGE_GROUP))
                .all()
                .get()
                .get(Names.BRIDGE_GROUP)
                .members()) {
          String id = m.groupInstanceId().orElse(m.consumerId());
          int k = m.assignment().topicPartitions().size();
          owned.merge(id, k, Integer::sum);
          total += k;
        }
        if (owned.keySet().containsAll(ids)
            && ids.containsAll(owned.keySet())
            && total == partitions) {
          out.printf("bench:   partitions owned: %s%n", owned);
          return owned;
        }
        if (System.nanoTime() > until) {
          throw new IllegalStateException("the bridges did not settle their partitions: " + owned);
        }
        Thread.sleep(250);
      }
    }
  }

  /** One bridge, {@code connections} idle devices held on it. */
  private void connections(IrisStack stack) throws Exception {
    int count = s.connections();
    out.printf("bench: connections: registering %,d devices%n", count);
    Path file = ConnectionLoad.registerDevices(stack.bootstrapServers(), FIRST_IDLE_USER, count);
    Bridge b = startBridge(stack, "bench-bridge-connections");
    Process load = null;
    try {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (metric(scrape(b), "iris_devices_registered") < count) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("the bridge did not learn the devices in 120 s");
        }
        Thread.sleep(250);
      }
      long[] before = memoryAfterGc(b);
      Map<String, Long> histogramBefore = histogram(b);
      long t0 = System.nanoTime();
      load = ConnectionLoad.start("127.0.0.1", b.mqttPort(), file);
      String result = ConnectionLoad.awaitConnected(load, out);
      double secs = (System.nanoTime() - t0) / 1e9;
      long held = (long) metric(scrape(b), "iris_devices_connected");
      long rssAsFound = rss(b);
      long[] after = memoryAfterGc(b);
      Map<String, Long> histogramAfter = histogram(b);
      if (String.join(" ", s.bridgeJvm()).contains("NativeMemoryTracking")) {
        // Where the resident memory is, by the JVM's own accounting (the options asked for it).
        out.println(jcmd(b, "VM.native_memory", "summary"));
      }
      long fds;
      try (Stream<Path> files =
          Files.list(Path.of("/proc", Long.toString(b.process().pid()), "fd"))) {
        fds = files.count();
      }
      String limit =
          Files.readAllLines(Path.of("/proc", Long.toString(b.process().pid()), "limits")).stream()
              .filter(l -> l.startsWith("Max open files"))
              .map(l -> l.replaceAll("\\s+", " ").split(" ")[3])
              .findFirst()
              .orElse("?");
      connectionsTable.append(
          String.format(
              "%n| connections, one bridge process (%s) | value |%n|---|---:|%n",
              String.join(" ", s.bridgeJvm())));
      connectionsTable.append(
          String.format("| devices connected and subscribed | %,d (%s) |%n", held, result));
      connectionsTable.append(
          String.format("| connect + subscribe time | %.1f s (%,.0f/s) |%n", secs, held / secs));
      connectionsTable.append(
          String.format(
              "| heap after full GC, before / after | %,d / %,d KiB |%n",
              before[0] / 1024, after[0] / 1024));
      connectionsTable.append(
          String.format(
              "| RSS after full GC, before / after | %,d / %,d KiB |%n",
              before[1] / 1024, after[1] / 1024));
      connectionsTable.append(
          String.format(
              "| heap per connection | %,.1f KiB |%n",
              (after[0] - before[0]) / 1024.0 / Math.max(1, held)));
      connectionsTable.append(
          String.format(
              "| RSS as found after connecting, before any forced GC | %,d KiB (%,.1f KiB per"
                  + " connection over the RSS before) |%n",
              rssAsFound / 1024, (rssAsFound - before[1]) / 1024.0 / Math.max(1, held)));
      connectionsTable.append(
          String.format(
              "| RSS per connection, after full GC | %,.1f KiB |%n",
              (after[1] - before[1]) / 1024.0 / Math.max(1, held)));
      connectionsTable.append(
          String.format("| open files of the bridge / its limit | %,d / %s |%n", fds, limit));
      connectionsTable.append(
          String.format(
              "%n| heap per connection, by class (jcmd GC.class_histogram, after − before) |"
                  + " bytes |%n|---|---:|%n"));
      histogramAfter.entrySet().stream()
          .map(
              e ->
                  Map.entry(
                      e.getKey(), e.getValue() - histogramBefore.getOrDefault(e.getKey(), 0L)))
          .sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
          .limit(15)
          .forEach(
              e ->
                  connectionsTable.append(
                      String.format(
                          "| `%s` | %,.0f |%n",
                          e.getKey(), e.getValue() / (double) Math.max(1, held))));
    } finally {
      if (load != null) {
        load.getOutputStream().close();
        load.waitFor(20, TimeUnit.SECONDS);
        load.destroyForcibly();
      }
      b.process().terminate();
      b.process().waitFor(Duration.ofSeconds(60));
      b.process().close();
      TestStacks.delete(b.dir());
      Files.deleteIfExists(file);
    }
  }

  private String report(long[] e2e) {
    StringBuilder t = new StringBuilder();
    t.append(
        String.format(
            "%n| bridges | bridge | partitions | devices | iris.log read | users known | tier-1"
                + " deltas held | heap after GC | RSS | CPU |%n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|%n"));
    for (Row r : rows) {
      t.append(
          String.format(
              "| %d | %s | %d | %d | %,.1f KiB/s | %,d | %,d KiB | %,d MiB | %,d MiB | %.2f cores |%n",
              r.bridges(),
              r.bridge(),
              r.partitions(),
              r.devices(),
              r.logBytesPerSec() / 1024,
              r.usersKnown(),
              r.tier1Bytes() / 1024,
              r.heapAfterGc() >> 20,
              r.rss() >> 20,
              r.cores()));
    }
    t.append(
        String.format(
            "%n| bridges | messages sent / delivered | send-to-delivery p50 / p99 / max |"
                + " Kafka EndToEndLatency p50 / p99, same broker | machine busy (of %d cores)"
                + " |%n|---:|---:|---:|---:|---:|%n",
            Runtime.getRuntime().availableProcessors()));
    for (Latency l : latencies) {
      t.append(
          String.format(
              "| %d | %,d / %,d | %.1f / %.1f / %.1f ms | %d / %d ms | %.2f cores |%n",
              l.bridges(),
              l.sent(),
              l.delivered(),
              l.p50(),
              l.p99(),
              l.max(),
              e2e[0],
              e2e[1],
              l.machineCores()));
    }
    t.append(
        String.format(
            "%nOffered load: %,d background commands/s among %,d users in %,d threads (fan-out ~3),"
                + " %d SDK pairs at %d messages/s; %d s warm-up, %d s measured per"
                + " configuration; bridge JVM %s.%n",
            s.rate(),
            s.users(),
            s.threads(),
            s.pairs(),
            s.pairRate(),
            s.warmup(),
            s.seconds(),
            String.join(" ", s.bridgeJvm())));
    t.append(connectionsTable);
    return t.toString();
  }

  private List<String> scrape(Bridge b) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.opsPort() + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return r.body().lines().toList();
  }

  /** The sum of a metric's samples whose labels contain every one of {@code labels}. */
  static double metric(List<String> lines, String name, String... labels) {
    double sum = 0;
    for (String l : lines) {
      if (l.startsWith("#") || !(l.startsWith(name + "{") || l.startsWith(name + " "))) {
        continue;
      }
      boolean match = true;
      for (String label : labels) {
        match &= l.contains(label);
      }
      if (match) {
        sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** Bytes of iris.log the bridge's push path has read since it started (its own counter). */
  private double logBytesRead(Bridge b) throws Exception {
    return metric(scrape(b), "iris_bridge_log_bytes_read_total");
  }

  /** Heap used after a full GC (jcmd GC.run) and RSS of a bridge process, bytes. */
  private long[] memoryAfterGc(Bridge b) throws Exception {
    for (int i = 0; i < 2; i++) {
      jcmd(b, "GC.run");
    }
    Thread.sleep(500);
    long heap = (long) metric(scrape(b), "jvm_memory_used_bytes", "area=\"heap\"");
    return new long[] {heap, rss(b)};
  }

  /** Resident set size of a bridge process now, bytes. */
  private static long rss(Bridge b) throws Exception {
    for (String l :
        Files.readAllLines(Path.of("/proc", Long.toString(b.process().pid()), "status"))) {
      if (l.startsWith("VmRSS:")) {
        return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
      }
    }
    return 0;
  }

  /** Bytes of live objects per class (a full GC first), from jcmd GC.class_histogram. */
  private static Map<String, Long> histogram(Bridge b) throws Exception {
    Map<String, Long> bytes = new HashMap<>();
    for (String l : jcmd(b, "GC.class_histogram").split("\n")) {
      String[] f = l.trim().split("\\s+");
      if (f.length >= 4 && f[0].endsWith(":")) {
        bytes.merge(f[3], Long.parseLong(f[2]), Long::sum);
      }
    }
    return bytes;
  }

  private static String jcmd(Bridge b, String... command) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString());
    cmd.add(Long.toString(b.process().pid()));
    cmd.addAll(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return text;
  }
}
