package io.iris.bench;

import io.iris.bridge.down.CatchUp;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.TestStacks;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/**
 * The device edge on a fresh embedded stack (all parts in this JVM, the bridge among them):
 *
 * <ol>
 *   <li>connections: {@code connections} devices connected and subscribed from a separate JVM
 *       ({@link ConnectionLoad}); heap after GC and RSS of this JVM before and after, per
 *       connection;
 *   <li>push: {@code pairs} pairs of SDK devices, one message per pair member in turn at {@code
 *       rate} messages/s in total for {@code seconds}, with the idle connections still held;
 *       delivered deltas/s and send-to-delivery latency p50/p99/p99.9, beside Kafka's own
 *       EndToEndLatency (acks=all) on the same broker in the same run.
 * </ol>
 */
public final class EdgeBenchmark {
  private final PrintStream out;
  private final int connections;
  private final int pairs;
  private final int rate;
  private final int seconds;
  private final int warmup;
  private final Map<String, String> overrides;

  public EdgeBenchmark(
      PrintStream out,
      int connections,
      int pairs,
      int rate,
      int seconds,
      int warmup,
      Map<String, String> overrides) {
    this.warmup = warmup;
    this.overrides = overrides;
    this.out = out;
    this.connections = connections;
    this.pairs = pairs;
    this.rate = rate;
    this.seconds = seconds;
  }

  /** The push measurement, for the results report. */
  public record Load(
      int devices,
      int rate,
      int seconds,
      long sent,
      long confirmed,
      long delivered,
      long expected,
      double deliveredPerSec,
      double p50Ms,
      double p99Ms,
      double p999Ms,
      double maxMs,
      long[] endToEndMs,
      long gapsRepaired,
      long duplicatesDropped,
      long outOfOrder,
      double[] deliveredPerSecond) {}

  private Load load;

  public Load run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-edge");
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    c.putAll(overrides);
    StringBuilder table = new StringBuilder();
    try (IrisStack stack = new IrisStack(new IrisConfig(c))) {
      stack.preflight();
      stack.start(line -> out.println("bench: up  " + line));
      Process idle = null;
      try {
        if (connections > 0) {
          idle = connect(stack, table);
        }
        push(stack, table);
      } finally {
        if (idle != null) {
          idle.getOutputStream().close();
          idle.waitFor(10, TimeUnit.SECONDS);
          idle.destroyForcibly();
        }
      }
    } finally {
      TestStacks.delete(dir);
    }
    out.println();
    out.print(table);
    return load;
  }

  private Process connect(IrisStack stack, StringBuilder table) throws Exception {
    out.printf("bench: registering %,d devices%n", connections);
    Path file = ConnectionLoad.registerDevices(stack.bootstrapServers(), 1_000_000L, connections);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (stack.devices().size() < connections && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    long[] before = memory();
    out.printf(
        "bench: before connecting: heap after GC %,d KiB, RSS %,d KiB%n",
        before[0] / 1024, before[1] / 1024);
    long t0 = System.nanoTime();
    Process p = ConnectionLoad.start("127.0.0.1", stack.mqtt().settings().port(), file);
    String result;
    try {
      result = ConnectionLoad.awaitConnected(p, out);
    } finally {
      Files.deleteIfExists(file);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Thread.sleep(2000);
    int held = stack.pushPath().connectedDevices();
    long[] after = memory();
    long fds;
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      fds = s.count();
    }
    table.append(String.format("%n| connections (one bridge) | value |%n|---|---:|%n"));
    table.append(String.format("| devices connected and subscribed | %,d (%s) |%n", held, result));
    table.append(
        String.format("| connect + subscribe time | %.1f s (%,.0f/s) |%n", secs, held / secs));
    table.append(
        String.format(
            "| heap after GC, before / after | %,d / %,d KiB |%n",
            before[0] / 1024, after[0] / 1024));
    table.append(
        String.format(
            "| RSS, before / after | %,d / %,d KiB |%n", before[1] / 1024, after[1] / 1024));
    table.append(
        String.format(
            "| heap per connection | %,.1f KiB |%n",
            (after[0] - before[0]) / 1024.0 / Math.max(1, held)));
    table.append(
        String.format(
            "| RSS per connection | %,.1f KiB |%n",
            (after[1] - before[1]) / 1024.0 / Math.max(1, held)));
    table.append(
        String.format("| open files of the bridge process | %,d (limit 20,000 here) |%n", fds));
    return p;
  }

  private void push(IrisStack stack, StringBuilder table) throws Exception {
    List<Map.Entry<Long, String>> ids = new ArrayList<>();
    for (int i = 0; i < pairs * 2; i++) {
      ids.add(Map.entry(2_000_000L + i, "phone"));
    }
    int known = stack.devices().size();
    List<String> tokens = DeviceRegistry.registerAll(stack.bootstrapServers(), ids);
    while (stack.devices().size() < known + ids.size()) {
      Thread.sleep(100);
    }
    int n = ids.size();
    AtomicLong delivered = new AtomicLong();
    long[] latencies = new long[rate * seconds * 2 + 1000];
    AtomicLong latencyCount = new AtomicLong();
    List<IrisDevice> devices = new ArrayList<>();
    AtomicLong outOfOrder = new AtomicLong();
    // Every device starts at the start of the log: (epoch, -1), the user's whole queue.
    String epoch = stack.bridge().layout().epoch();
    for (int i = 0; i < n; i++) {
      long user = ids.get(i).getKey();
      AtomicLong lastApplied = new AtomicLong(-1);
      IrisDevice d =
          IrisDevice.builder()
              // Comparable with the figures before receipts (they add MarkDelivered commands).
              .deliveryReceipts(false)
              .serverUri("tcp://127.0.0.1:" + stack.mqtt().settings().port())
              .user(user)
              .device("phone")
              .token(tokens.get(i))
              .lastPos(epoch, -1)
              .listener(
                  new IrisDevice.Listener() {
                    @Override
                    public void onDeltas(List<Delta> deltas) {
                      long now = System.nanoTime();
                      delivered.addAndGet(deltas.size());
                      for (Delta x : deltas) {
                        // The app's own check: each delta after the last position applied (in
                        // order, once) and chained to it (its prevPos at or below that position:
                        // no delta of the user missing in between).
                        long last = lastApplied.get();
                        if (x.getPos() <= last || x.getPrevPos() > last) {
                          outOfOrder.incrementAndGet();
                        }
                        lastApplied.set(Math.max(last, x.getPos()));
                        if (x.getBody().isSetNewMessage()
                            && x.getBody().getNewMessage().getSenderUserId() != user) {
                          String t = x.getBody().getNewMessage().getText();
                          int k = (int) latencyCount.getAndIncrement();
                          if (k < latencies.length && t.startsWith("t=")) {
                            latencies[k] = now - Long.parseLong(t.substring(2, t.indexOf(' ')));
                          }
                        }
                      }
                    }
                  })
              .build();
      d.connect(Duration.ofSeconds(20));
      devices.add(d);
    }
    long[] threads = new long[pairs];
    for (int i = 0; i < pairs; i++) {
      threads[i] =
          devices
              .get(2 * i)
              .createThread(List.of(ids.get(2 * i + 1).getKey()), "bench " + i)
              .get(60, TimeUnit.SECONDS)
              .getThreadId();
    }
    // Warm up first: on 2 cores the JIT compiles for the first minute or more (C2 alone took a
    // core's worth of 20 s in the first 60 s here), and a cold run measures the compiler.
    if (warmup > 0) {
      out.printf("bench: warm-up: %,d messages/s for %d s (not measured)%n", rate, warmup);
      long warm =
          drive(devices, threads, "w=", warmup, new ArrayList<>(), new ArrayList<>(), delivered);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (delivered.get() < 2 * warm && System.nanoTime() < until) {
        Thread.sleep(50);
      }
    }
    Thread.sleep(1000);
    delivered.set(0);
    latencyCount.set(0);
    out.printf(
        "bench: push: %d pairs, %,d messages/s for %d s (%,d idle connections held)%n",
        pairs, rate, seconds, connections);
    long total = (long) rate * seconds;
    HopProbe probe = new HopProbe(stack.bootstrapServers(), (int) total);
    probe.start();
    List<CompletableFuture<Delta>> sends = new ArrayList<>();
    List<double[]> perSecond = new ArrayList<>();
    Map<String, Long> cpuBefore = ThreadCpu.snapshot();
    long t0 = System.nanoTime();
    drive(devices, threads, "t=", seconds, sends, perSecond, delivered);
    long drivenNanos = System.nanoTime() - t0;
    Map<String, Long> cpuAfter = ThreadCpu.snapshot();
    long confirmed = 0;
    for (CompletableFuture<Delta> f : sends) {
      try {
        f.get(60, TimeUnit.SECONDS);
        confirmed++;
      } catch (Exception e) {
        // counted below
      }
    }
    long expected = total * 2; // the receiver's delta and the sender's own confirmation
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (delivered.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    long gaps = 0;
    long dups = 0;
    for (IrisDevice d : devices) {
      gaps += d.gapsRepaired();
      dups += d.duplicatesDropped();
      d.close();
    }
    probe.close();
    // The user's last position: what its first device held when it closed (after every delta).
    catchUp(stack, ids.get(1).getKey(), devices.get(1).lastPos(), table);
    int m = (int) Math.min(latencyCount.get(), latencies.length);
    long[] lat = Arrays.copyOf(latencies, m);
    Arrays.sort(lat);
    long[] e2e = ProducerPerfTest.endToEndLatency(stack.bootstrapServers());
    table.append(String.format("%n| push (full stack, this machine) | value |%n|---|---:|%n"));
    table.append(String.format("| messages sent / confirmed | %,d / %,d |%n", total, confirmed));
    table.append(
        String.format("| deltas delivered / expected | %,d / %,d |%n", delivered.get(), expected));
    table.append(
        String.format("| delivered deltas/s (whole run) | %,.0f |%n", delivered.get() / secs));
    table.append(
        String.format(
            "| send-to-delivery latency p50 / p99 / p99.9 / max | %.1f / %.1f / %.1f / %.1f ms |%n",
            HopProbe.percentileMs(lat, 0.50),
            HopProbe.percentileMs(lat, 0.99),
            HopProbe.percentileMs(lat, 0.999),
            m == 0 ? 0 : lat[m - 1] / 1e6));
    table.append(
        String.format(
            "| Kafka EndToEndLatency (acks=all) p50 / p99 / p99.9, same broker | %d / %d / %d ms |%n",
            e2e[0], e2e[1], e2e[2]));
    table.append(
        String.format("| gaps repaired / duplicates dropped by devices | %d / %d |%n", gaps, dups));
    table.append(
        String.format(
            "| deltas out of position order or not chained to the last applied (prevPos above"
                + " it), as the apps saw them | %d |%n",
            outOfOrder.get()));
    load =
        new Load(
            n,
            rate,
            seconds,
            total,
            confirmed,
            delivered.get(),
            expected,
            delivered.get() / secs,
            HopProbe.percentileMs(lat, 0.50),
            HopProbe.percentileMs(lat, 0.99),
            HopProbe.percentileMs(lat, 0.999),
            m == 0 ? 0 : lat[m - 1] / 1e6,
            e2e,
            gaps,
            dups,
            outOfOrder.get(),
            perSecond.stream().mapToDouble(a -> a[0]).toArray());
    probe.report(table);
    cpu(table, cpuBefore, cpuAfter, drivenNanos);
    double[] series = perSecond.stream().mapToDouble(a -> a[0]).toArray();
    if (series.length > 1) {
      Path html = Path.of("bench-results", "edge-push.html");
      Files.createDirectories(html.getParent());
      HtmlChart.write(
          html,
          "Push: deltas delivered per second",
          "seconds",
          table.toString(),
          List.of(new HtmlChart.Series("deltas delivered/s", "#1f77b4", series)));
      out.println("bench: chart written to " + html.toAbsolutePath());
    }
  }

  /**
   * Where the cores went while messages were sent: the whole machine (2 cores here: a figure near 2
   * means the latencies above were measured on a saturated box, and queueing for a core is in them)
   * and this JVM's thread groups of at least 3% of its CPU (broker, streams app, Connect, bridge,
   * devices, MariaDB outside it).
   */
  private static void cpu(
      StringBuilder table, Map<String, Long> before, Map<String, Long> after, long wallNanos) {
    List<ThreadCpu.Row> rows = ThreadCpu.between(before, after, wallNanos, 0.03);
    if (rows.isEmpty()) {
      return;
    }
    table.append(
        String.format(
            "%n| CPU while sending, %.1f s (cores busy on average) | cores |%n|---|---:|%n",
            wallNanos / 1e9));
    for (ThreadCpu.Row r : rows) {
      table.append(String.format("| %s | %.2f |%n", r.group(), r.cores()));
    }
  }

  /**
   * Sends at {@code rate} for {@code secs}, texts "&lt;tag&gt;&lt;nanoTime&gt; …"; returns how
   * many.
   */
  private long drive(
      List<IrisDevice> devices,
      long[] threads,
      String tag,
      int secs,
      List<CompletableFuture<Delta>> sends,
      List<double[]> perSecond,
      AtomicLong delivered)
      throws InterruptedException {
    String pad = "x".repeat(40);
    long total = (long) rate * secs;
    long t0 = System.nanoTime();
    long sent = 0;
    long nextReport = t0 + 1_000_000_000L;
    long lastDelivered = delivered.get();
    while (sent < total) {
      long due = Math.min(total, (System.nanoTime() - t0) * rate / 1_000_000_000L);
      for (; sent < due; sent++) {
        int pair = (int) (sent % pairs);
        int from = 2 * pair + (int) ((sent / pairs) % 2);
        sends.add(devices.get(from).send(threads[pair], tag + System.nanoTime() + " " + pad));
      }
      long now = System.nanoTime();
      if (now >= nextReport) {
        long d = delivered.get();
        perSecond.add(new double[] {d - lastDelivered});
        out.printf(
            "bench:   %3d s  sent %,8d  delivered %,9d deltas%n",
            (now - t0) / 1_000_000_000L, sent, d);
        lastDelivered = d;
        nextReport += 1_000_000_000L;
      }
      Thread.sleep(1);
    }
    return total;
  }

  /**
   * A new device of a busy user that took part, opened at the start of the log ({@code (epoch,
   * -1)}): it holds nothing and asks for the user's whole queue, more than memory holds. Timed
   * until it holds everything up to {@code last}, the user's last position (what the user's first
   * device held). Reports which tiers answered, the deltas each sent, and the records of iris.log
   * read for it: the log tier reads the user's partition from the device's position to the end,
   * other users' records included.
   */
  private void catchUp(IrisStack stack, long user, long last, StringBuilder table)
      throws Exception {
    int known = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), user, "tablet");
    while (stack.devices().size() < known + 1) {
      Thread.sleep(50);
    }
    String epoch = stack.bridge().layout().epoch();
    int partition = stack.bridge().layout().partitionOf(user);
    long end;
    try (Admin admin = Admin.create(stack.adminConfig())) {
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
      end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
    }
    CatchUp counters = stack.catchUp();
    long readBefore = counters.count("log-records-read");
    long deltasBefore = counters.count("deltas-log");
    long memBefore = counters.count("deltas-memory");
    long storageBefore = counters.count("deltas-storage");
    long syncMemBefore = counters.count("sync-memory");
    long syncLogBefore = counters.count("sync-log");
    long syncStorageBefore = counters.count("sync-storage");
    long resnapshotBefore = counters.count("resnapshot-required");
    long t0 = System.nanoTime();
    IrisDevice tablet =
        IrisDevice.builder()
            // Comparable with the figures before receipts (they add MarkDelivered commands).
            .deliveryReceipts(false)
            .serverUri("tcp://127.0.0.1:" + stack.mqtt().settings().port())
            .user(user)
            .device("tablet")
            .token(token)
            .lastPos(epoch, -1)
            .build();
    tablet.connect(Duration.ofSeconds(20));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (tablet.lastPos() < last && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    double ms = (System.nanoTime() - t0) / 1e6;
    long reached = tablet.lastPos();
    tablet.close();
    table.append(
        String.format(
            "| catch-up of a new device of a busy user from the start (epoch, -1) to position %,d:"
                + " time | %.0f ms%s |%n",
            last,
            ms,
            reached < last ? String.format(" (stopped at %,d after 60 s)", reached) : ""));
    table.append(
        String.format(
            "| … answers from memory / log / MySQL | %,d / %,d / %,d |%n",
            counters.count("sync-memory") - syncMemBefore,
            counters.count("sync-log") - syncLogBefore,
            counters.count("sync-storage") - syncStorageBefore));
    long resnapshots = counters.count("resnapshot-required") - resnapshotBefore;
    if (resnapshots > 0) {
      table.append(
          String.format(
              "| … answered 'resnapshot required' (the device took a snapshot) | %,d |%n",
              resnapshots));
    }
    table.append(
        String.format(
            "| … deltas from memory / log / MySQL | %,d / %,d / %,d |%n",
            counters.count("deltas-memory") - memBefore,
            counters.count("deltas-log") - deltasBefore,
            counters.count("deltas-storage") - storageBefore));
    table.append(
        String.format(
            "| … iris.log records read for it (its partition %d, other users' records included) vs"
                + " the partition's end offset | %,d vs %,d |%n",
            partition, counters.count("log-records-read") - readBefore, end));
  }

  /** Heap used after GC and resident set size of this JVM, bytes. */
  private static long[] memory() throws Exception {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long rss = 0;
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("VmRSS:")) {
        rss = Long.parseLong(l.replaceAll("\\D", "")) * 1024;
      }
    }
    return new long[] {heap, rss};
  }
}
