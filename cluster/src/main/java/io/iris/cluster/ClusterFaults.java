package io.iris.cluster;

import io.iris.bridge.KafkaClients;
import io.iris.cluster.Topology.Host;
import io.iris.cluster.Topology.Role;
import io.iris.testkit.Conversations;
import io.iris.testkit.Deployment;
import io.iris.testkit.Phone;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code iris cluster faults}: breaks a running cluster under load, one fault at a time, and after
 * each checks that every device, iris.log and MySQL hold the same deltas of every user (none lost,
 * none repeated), writing one row per fault to {@code <dir>/fault-report.md}:
 *
 * <ol>
 *   <li>kill -9 of the broker leading the most iris.log partitions, then of a second one (writes
 *       stop: {@code min.insync.replicas=2} and the KRaft quorum lost), then both back;
 *   <li>a bridge host's link to the cluster network down for 30 s while its devices stay connected
 *       on the device network;
 *   <li>a streams instance's host cut off for longer than the group's session timeout: its tasks
 *       move to the other instance, and it must not write once back;
 *   <li>kill -9 of the Connect worker running the sink's task, which moves to the other.
 * </ol>
 *
 * Each row uses devices of its own, so that its counts are exact.
 */
public final class ClusterFaults {
  /** The faults, by name, in the order they run. */
  public static final List<String> ALL = List.of("brokers", "bridge", "streams", "connect");

  /**
   * How long the devices' sends wait for their confirmation (the SDK's default is 2 minutes): a
   * send made while writes are stopped must outlive the outage and the cluster's recovery on this
   * machine, so that the check counts what the cluster kept, not what the app gave up on.
   */
  static final Duration SEND_DEADLINE = Duration.ofMinutes(10);

  private final Cluster cluster;
  private final PrintStream out;
  private final int pairs;
  private final Duration tick;
  private final Path report;
  private long nextUser = 7_000_000_000L + (System.currentTimeMillis() % 1_000_000) * 1_000;

  public ClusterFaults(Cluster cluster, PrintStream out, int pairs, Duration tick) {
    this.cluster = cluster;
    this.out = out;
    this.pairs = pairs;
    this.tick = tick;
    this.report = cluster.dir().resolve("fault-report.md");
  }

  public Path report() {
    return report;
  }

  /** One row of the report. */
  public record Row(
      String fault, String load, String done, String lost, String duplicated, String recovery) {}

  /** Runs the faults named in {@code which}; returns their rows (also written to the report). */
  public List<Row> run(List<String> which) throws Exception {
    List<Row> rows = new ArrayList<>();
    Files.writeString(
        report,
        "| fault | load held | what was done | lost | duplicated | time to recover |\n"
            + "|---|---|---|---|---|---|\n",
        StandardCharsets.UTF_8);
    for (String f : which) {
      Row r =
          switch (f) {
            case "brokers" -> brokers();
            case "bridge" -> bridgeCut();
            case "streams" -> streamsCut();
            case "connect" -> connectKill();
            default -> throw new IllegalArgumentException("no fault " + f + "; one of " + ALL);
          };
      rows.add(r);
      String line =
          String.format(
              "| %s | %s | %s | %s | %s | %s |%n",
              r.fault(), r.load(), r.done(), r.lost(), r.duplicated(), r.recovery());
      Files.writeString(
          report, line, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
      out.print("faults: " + line);
    }
    return rows;
  }

  /** The admin's view of the cluster for the checks. */
  Deployment deployment() {
    Topology t = cluster.topology();
    return new Deployment(
        new KafkaClients(t.bootstrapServers(), cluster.security().adminClient()),
        t.jdbcUrl(),
        Topology.MYSQL_USER,
        cluster.security().mysqlPassword(),
        null);
  }

  /** Devices in pairs, sending on a clock, spread over every bridge. */
  private final class Load implements AutoCloseable {
    final Conversations conversations;
    final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
    final long startedMs = System.currentTimeMillis();

    Load() throws Exception {
      List<String> uris =
          cluster.topology().of(Role.BRIDGE).stream().map(Topology::mqttUri).toList();
      long first = nextUser;
      nextUser += 2L * pairs;
      conversations =
          new Conversations(
              deployment(),
              0,
              first,
              pairs,
              i -> {
                // Each device starts at a different bridge; the bridges redirect it to the owner
                // of its user's partition.
                List<String> mine = new ArrayList<>(uris);
                java.util.Collections.rotate(mine, -i);
                return mine.toArray(String[]::new);
              },
              SEND_DEADLINE);
      clock.scheduleAtFixedRate(conversations::round, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
    }

    String describe() {
      double perSecond = 2.0 * pairs * 1000 / tick.toMillis();
      return String.format(
          "%d devices in %d pairs over %d bridges, each sending every %d ms (%.0f messages/s;"
              + " send deadline %d min)",
          2 * pairs,
          pairs,
          cluster.topology().bridges(),
          tick.toMillis(),
          perSecond,
          SEND_DEADLINE.toMinutes());
    }

    /** Stops sending; waits for every send and checks devices = iris.log = MySQL. */
    String[] stopAndCheck() throws Exception {
      clock.shutdown();
      clock.awaitTermination(10, TimeUnit.SECONDS);
      long t0 = System.nanoTime();
      try {
        conversations.check(deployment());
        return new String[] {
          "0 of " + conversations.messages() + " messages",
          "0",
          String.format("%.1f", (System.nanoTime() - t0) / 1e9)
        };
      } catch (AssertionError | Exception e) {
        String why = e.getMessage() == null ? e.toString() : e.getMessage().split("\\R")[0];
        out.println("faults: the check failed: " + e);
        return new String[] {"**check failed**: " + why, "see lost", "-"};
      }
    }

    /** The longest any device went without a delivery between {@code fromMs} and {@code toMs}. */
    double longestSilenceS(long fromMs, long toMs) {
      long worst = 0;
      for (Phone p : conversations.phones) {
        long last = fromMs;
        for (long at : p.arrivedAtMs) {
          if (at < fromMs || at > toMs) {
            continue;
          }
          worst = Math.max(worst, at - last);
          last = at;
        }
        worst = Math.max(worst, toMs - last);
      }
      return worst / 1000.0;
    }

    /** Seconds from {@code fromMs} until every device has had a delivery after it. */
    double everyDeviceServedS(long fromMs) throws InterruptedException {
      long deadline = System.currentTimeMillis() + 180_000;
      while (System.currentTimeMillis() < deadline) {
        long worst = -1;
        boolean all = true;
        for (Phone p : conversations.phones) {
          Long first = p.arrivedAtMs.stream().filter(t -> t >= fromMs).findFirst().orElse(null);
          if (first == null) {
            all = false;
            break;
          }
          worst = Math.max(worst, first - fromMs);
        }
        if (all) {
          return worst / 1000.0;
        }
        Thread.sleep(100);
      }
      return Double.NaN;
    }

    @Override
    public void close() {
      clock.shutdownNow();
      conversations.close();
    }
  }

  private void steady(Duration d) throws InterruptedException {
    Thread.sleep(d.toMillis());
  }

  Row brokers() throws Exception {
    out.println(
        "faults: brokers: kill -9 of the broker leading the most iris.log partitions, then a second");
    try (Load load = new Load()) {
      steady(Duration.ofSeconds(10));
      ClusterStatus.Summary s = ClusterStatus.summary(cluster);
      int leaderId =
          s.logLeaders().entrySet().stream()
              .max(Map.Entry.comparingByValue())
              .map(Map.Entry::getKey)
              .orElse(1);
      Host first = cluster.topology().host("kafka-" + leaderId);
      Host second =
          cluster.topology().of(Role.KAFKA).stream()
              .filter(h -> !h.equals(first))
              .findFirst()
              .orElseThrow();
      int led = s.logLeaders().getOrDefault(leaderId, 0);
      long kill1 = System.currentTimeMillis();
      cluster.kill(first);
      out.println("faults:   killed " + first.name() + " (led " + led + " iris.log partitions)");
      steady(Duration.ofSeconds(20));
      double afterFirst = load.longestSilenceS(kill1, System.currentTimeMillis());
      long kill2 = System.currentTimeMillis();
      cluster.kill(second);
      out.println("faults:   killed " + second.name() + "; one broker left");
      steady(Duration.ofSeconds(20));
      long back = System.currentTimeMillis();
      int deliveredWhileDown = delivered(load, kill2 + 2_000, back);
      cluster.restart(second);
      out.println("faults:   " + second.name() + " restarted");
      double resumed = load.everyDeviceServedS(back);
      cluster.restart(first);
      out.println("faults:   " + first.name() + " restarted");
      double isrFull = awaitFullIsr(System.currentTimeMillis());
      steady(Duration.ofSeconds(5));
      String[] check = load.stopAndCheck();
      return new Row(
          "kill -9 of the broker leading the most iris.log partitions, then of a second",
          load.describe(),
          String.format(
              "kill -9 %s (led %d of %d partitions); 20 s later kill -9 %s; 20 s later restart"
                  + " %s, then %s",
              first.name(), led, s.logPartitions(), second.name(), second.name(), first.name()),
          check[0],
          check[1],
          String.format(
              "one broker down: longest a device waited %.1f s; two down: %d deltas delivered"
                  + " after the first 2 s (writes stopped); every device served again %.1f s after"
                  + " the second broker's restart; every ISR full again %.0f s after both were"
                  + " back; check %s s",
              afterFirst, deliveredWhileDown, resumed, isrFull, check[2]));
    }
  }

  private static int delivered(Load load, long fromMs, long toMs) {
    int n = 0;
    for (Phone p : load.conversations.phones) {
      for (long at : p.arrivedAtMs) {
        if (at >= fromMs && at < toMs) {
          n++;
        }
      }
    }
    return n;
  }

  private double awaitFullIsr(long fromMs) throws InterruptedException {
    long deadline = fromMs + 300_000;
    while (System.currentTimeMillis() < deadline) {
      ClusterStatus.Summary s = ClusterStatus.summary(cluster);
      if (s.brokersInCluster().size() == 3 && s.logPartitions() > 0 && s.underReplicated() == 0) {
        return (System.currentTimeMillis() - fromMs) / 1000.0;
      }
      Thread.sleep(500);
    }
    return Double.NaN;
  }

  Row bridgeCut() throws Exception {
    Host bridge = cluster.topology().of(Role.BRIDGE).get(cluster.topology().bridges() - 1);
    out.println("faults: bridge: " + bridge.name() + "'s cluster link down for 30 s");
    try (Load load = new Load()) {
      steady(Duration.ofSeconds(10));
      long cut = System.currentTimeMillis();
      Netns.clusterLink(bridge, false);
      steady(Duration.ofSeconds(30));
      Netns.clusterLink(bridge, true);
      long back = System.currentTimeMillis();
      out.println("faults:   " + bridge.name() + "'s link up again");
      double silent = load.longestSilenceS(cut, back);
      double served = load.everyDeviceServedS(back);
      steady(Duration.ofSeconds(5));
      cluster.awaitReady(bridge);
      double ready = (System.currentTimeMillis() - back) / 1000.0;
      String[] check = load.stopAndCheck();
      return new Row(
          "a bridge's host cut off from Kafka for 30 s, its devices kept connected",
          load.describe(),
          "ip link set eth0 down in " + bridge.namespace() + " (its device link eth1 stays up)",
          check[0],
          check[1],
          String.format(
              "during the cut the longest a device waited: %.1f s; every device served again"
                  + " %.1f s after the link came back; %s ready again after %.0f s; check %s s",
              silent, served, bridge.name(), ready, check[2]));
    }
  }

  Row streamsCut() throws Exception {
    Host streams = cluster.topology().of(Role.STREAMS).get(0);
    Duration cutFor = Duration.ofMillis(Cluster.STREAMS_SESSION_TIMEOUT_MS + 15_000);
    out.println("faults: streams: " + streams.name() + " cut off for " + cutFor.toSeconds() + " s");
    try (Load load = new Load()) {
      steady(Duration.ofSeconds(10));
      long cut = System.currentTimeMillis();
      Netns.clusterLink(streams, false);
      steady(cutFor);
      double silent = load.longestSilenceS(cut, System.currentTimeMillis());
      Netns.clusterLink(streams, true);
      long back = System.currentTimeMillis();
      out.println("faults:   " + streams.name() + "'s link up again");
      steady(Duration.ofSeconds(20));
      boolean ready = Cluster.get(Cluster.opsUrl(streams) + "/ready") == 200;
      String[] check = load.stopAndCheck();
      return new Row(
          "a streams instance's host cut off for longer than the session timeout",
          load.describe(),
          String.format(
              "ip link set eth0 down in %s for %d s (session timeout %d s), then up",
              streams.namespace(), cutFor.toSeconds(), Cluster.STREAMS_SESSION_TIMEOUT_MS / 1000),
          check[0],
          check[1] + " (the fenced instance's writes: none reached a device or MySQL)",
          String.format(
              "longest a device waited during the cut: %.1f s (its tasks moved to the other"
                  + " instance after the session timeout); %s %s 20 s after its link came back;"
                  + " check %s s",
              silent, streams.name(), ready ? "ready again" : "not ready", check[2]));
    }
  }

  Row connectKill() throws Exception {
    out.println("faults: connect: kill -9 of the worker running the sink's task");
    try (Load load = new Load()) {
      steady(Duration.ofSeconds(10));
      String worker = ClusterStatus.sinkWorker(cluster);
      Host victim =
          cluster.topology().of(Role.CONNECT).stream()
              .filter(h -> worker != null && worker.startsWith(h.address() + ":"))
              .findFirst()
              .orElse(cluster.topology().of(Role.CONNECT).get(0));
      long kill = System.currentTimeMillis();
      cluster.kill(victim);
      out.println("faults:   killed " + victim.name());
      String moved = null;
      long deadline = kill + 180_000;
      while (System.currentTimeMillis() < deadline) {
        var task = ClusterStatus.sinkTask(cluster);
        if (task != null
            && !task.workerId().startsWith(victim.address() + ":")
            && "RUNNING".equals(task.state())) {
          moved = task.workerId();
          break;
        }
        Thread.sleep(250);
      }
      double movedS = (System.currentTimeMillis() - kill) / 1000.0;
      steady(Duration.ofSeconds(5));
      cluster.restart(victim);
      String[] check = load.stopAndCheck();
      return new Row(
          "kill -9 of the Connect worker running the sink's task",
          load.describe(),
          "kill -9 " + victim.name() + " (ran the task), restarted 5 s after the task moved",
          check[0],
          check[1],
          moved == null
              ? "the task did not move within 180 s"
              : String.format(
                  "the task ran on %s %.1f s after the kill; MySQL complete (the check) %s s after"
                      + " the load stopped",
                  moved, movedS, check[2]));
    }
  }
}
