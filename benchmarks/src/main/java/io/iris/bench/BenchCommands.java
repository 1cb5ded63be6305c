package io.iris.bench;

import io.iris.launcher.CliPlugin;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iris bench …} and {@code iris loadgen}: added to the {@code iris} command when the
 * benchmarks jar is on its class path (the {@code ./iris} script puts it there once built).
 */
public final class BenchCommands implements CliPlugin {
  @Override
  public Map<String, Object> subcommands() {
    return Map.of("bench", new Bench(), "loadgen", new Loadgen());
  }

  @Command(
      name = "bench",
      mixinStandardHelpOptions = true,
      description =
          "Benchmarks on a fresh embedded broker; each prints a table with its reference.",
      subcommands = {
        BenchStreams.class,
        BenchSnapshot.class,
        BenchSink.class,
        BenchEdge.class,
        BenchBridges.class,
        BenchRecovery.class,
        BenchPipeline.class,
        BenchResults.class,
        BenchCatchup.class
      })
  static final class Bench {}

  @Command(
      name = "streams",
      mixinStandardHelpOptions = true,
      description =
          "Streams-app throughput (commands/s in, deltas/s out, average fan-out 3) beside"
              + " kafka-producer-perf-test's records/s for the same record size.")
  static final class BenchStreams implements Callable<Integer> {
    @Option(
        names = "--commands",
        defaultValue = "200000",
        description = "Send commands (default ${DEFAULT-VALUE}).")
    int commands;

    @Option(
        names = "--users",
        defaultValue = "20000",
        description = "Users (default ${DEFAULT-VALUE}).")
    int users;

    @Option(
        names = "--threads",
        defaultValue = "5000",
        description = "Threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(
        names = "--text-bytes",
        defaultValue = "40",
        description = "Message text size (default ${DEFAULT-VALUE}).")
    int textBytes;

    @Option(
        names = "--set",
        description =
            "A streams-app setting for this run, e.g. --set streams.commit.interval.ms=1000.")
    Map<String, String> overrides = new java.util.HashMap<>();

    @Override
    public Integer call() throws Exception {
      new StreamsBenchmark(System.out, commands, users, threads, textBytes, overrides).run();
      return 0;
    }
  }

  @Command(
      name = "snapshot",
      mixinStandardHelpOptions = true,
      description =
          "Snapshot latency (p50/p99) for a heavy user on a fresh MariaDB, beside a primary-key"
              + " point read.")
  static final class BenchSnapshot implements Callable<Integer> {
    @Option(
        names = "--threads",
        defaultValue = "200",
        description = "Threads of the user (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(
        names = "--messages",
        defaultValue = "20000",
        description = "Messages of the user (default ${DEFAULT-VALUE}).")
    int messages;

    @Option(
        names = "--runs",
        defaultValue = "1000",
        description = "Snapshots timed (default ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws Exception {
      new SnapshotBenchmark(System.out, threads, messages, runs).run();
      return 0;
    }
  }

  @Command(
      name = "sink",
      mixinStandardHelpOptions = true,
      description =
          "MySQL sink rows/s and storage-pointer lag under a steady delta rate on a fresh stack,"
              + " beside a direct JDBC batch upsert.")
  static final class BenchSink implements Callable<Integer> {
    @Option(
        names = "--deltas",
        defaultValue = "200000",
        description = "Deltas (default ${DEFAULT-VALUE}).")
    int deltas;

    @Option(
        names = "--rate",
        defaultValue = "10000",
        description = "Deltas per second offered (default ${DEFAULT-VALUE}).")
    int rate;

    @Override
    public Integer call() throws Exception {
      new SinkBenchmark(System.out, deltas, rate).run();
      return 0;
    }
  }

  @Command(
      name = "edge",
      mixinStandardHelpOptions = true,
      description =
          "Device edge on a fresh stack: connections one bridge holds and memory per connection,"
              + " then push throughput and send-to-delivery latency between SDK devices, beside"
              + " Kafka's EndToEndLatency on the same broker.")
  static final class BenchEdge implements Callable<Integer> {
    @Option(
        names = "--connections",
        defaultValue = "10000",
        description =
            "Idle devices connected (default ${DEFAULT-VALUE}; the open-file limit here is 20,000 per process).")
    int connections;

    @Option(
        names = "--pairs",
        defaultValue = "50",
        description = "Pairs of devices exchanging messages (default ${DEFAULT-VALUE}).")
    int pairs;

    @Option(
        names = "--rate",
        defaultValue = "500",
        description = "Messages per second in total (default ${DEFAULT-VALUE}).")
    int rate;

    @Option(
        names = "--seconds",
        defaultValue = "30",
        description = "How long messages are sent (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(
        names = "--warmup",
        defaultValue = "60",
        description =
            "Seconds of unmeasured traffic first, for the JIT (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
        names = "--set",
        description = "A stack setting for this run, e.g. --set streams.commit.interval.ms=20.")
    Map<String, String> overrides = new java.util.HashMap<>();

    @Override
    public Integer call() throws Exception {
      new EdgeBenchmark(System.out, connections, pairs, rate, seconds, warmup, overrides).run();
      return 0;
    }
  }

  @Command(
      name = "bridges",
      mixinStandardHelpOptions = true,
      description =
          "Bridges sharing iris.log: the same load served by 1, 2, … bridge processes (log bytes"
              + " read, users and bytes held, heap and RSS per bridge; latency beside Kafka's"
              + " EndToEndLatency), then idle connections held by one bridge and RSS per"
              + " connection.")
  static final class BenchBridges implements Callable<Integer> {
    @Option(
        names = "--bridges",
        defaultValue = "3",
        description = "Up to how many bridges (default ${DEFAULT-VALUE}).")
    int bridges;

    @Option(
        names = "--users",
        defaultValue = "20000",
        description = "Users of the background load (default ${DEFAULT-VALUE}).")
    int users;

    @Option(
        names = "--threads",
        defaultValue = "5000",
        description = "Threads of the background load (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(
        names = "--rate",
        defaultValue = "200",
        description = "Background commands per second (default ${DEFAULT-VALUE}).")
    int rate;

    @Option(
        names = "--pairs",
        defaultValue = "6",
        description = "Pairs of SDK devices whose latency is measured (default ${DEFAULT-VALUE}).")
    int pairs;

    @Option(
        names = "--pair-rate",
        defaultValue = "20",
        description = "Their messages per second in total (default ${DEFAULT-VALUE}).")
    int pairRate;

    @Option(
        names = "--seconds",
        defaultValue = "40",
        description = "Measured seconds per configuration (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(
        names = "--warmup",
        defaultValue = "40",
        description = "Unmeasured seconds first, per configuration (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
        names = "--connections",
        defaultValue = "19000",
        description =
            "Idle devices held by one bridge at the end; 0: skip (default ${DEFAULT-VALUE}; the"
                + " bridge needs an open-file limit above it, see docs/operations.md).")
    int connections;

    @Option(
        names = "--bridge-jvm",
        defaultValue = "-Xmx1g -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10",
        split = " ",
        description =
            "JVM options of each bridge process (default ${DEFAULT-VALUE}: the heap returns what a"
                + " full GC frees, see docs/operations.md).")
    List<String> bridgeJvm;

    @Override
    public Integer call() throws Exception {
      new BridgesBenchmark(
              System.out,
              new BridgesBenchmark.Settings(
                  bridges,
                  users,
                  threads,
                  rate,
                  pairs,
                  pairRate,
                  seconds,
                  warmup,
                  connections,
                  bridgeJvm))
          .run();
      return 0;
    }
  }

  @Command(
      name = "recovery",
      mixinStandardHelpOptions = true,
      description =
          "Crash recovery: kill -9 of the streams app after a long history, restarted at once"
              + " (time until it writes deltas again), then kill -9 of the whole stack and iris up"
              + " again (time until a device gets a message sent after the kill).")
  static final class BenchRecovery implements Callable<Integer> {
    @Option(
        names = "--history",
        defaultValue = "1000000",
        description =
            "Commands processed before the streams app is killed (default ${DEFAULT-VALUE}).")
    int history;

    @Option(
        names = "--stack-history",
        defaultValue = "100000",
        description =
            "Commands processed before the whole stack is killed (default ${DEFAULT-VALUE}).")
    int stackHistory;

    @Option(
        names = "--kills",
        defaultValue = "3",
        description = "Kills per part (default ${DEFAULT-VALUE}).")
    int kills;

    @Option(
        names = "--parts",
        defaultValue = "streams,stack",
        split = ",",
        description = "Parts to run: streams, stack (default ${DEFAULT-VALUE}).")
    java.util.List<String> parts;

    @Option(
        names = "--set",
        description =
            "A setting for this run, e.g. --set streams.transactional.state.stores=false.")
    Map<String, String> overrides = new java.util.HashMap<>();

    @Override
    public Integer call() throws Exception {
      new RecoveryBenchmark(System.out, history, stackHistory, kills, parts, overrides).run();
      return 0;
    }
  }

  @Command(
      name = "pipeline",
      mixinStandardHelpOptions = true,
      description =
          "The pipeline driven by Kafka's stock tools alone: kafka-console-producer sends"
              + " thread creates, kafka-producer-perf-test --payload-file sends valid commands"
              + " into iris.commands while the streams app runs; beside the same tool and file"
              + " into a plain topic.")
  static final class BenchPipeline implements Callable<Integer> {
    @Option(
        names = "--records",
        defaultValue = "300000",
        description = "Commands the perf tool sends (default ${DEFAULT-VALUE}).")
    long records;

    @Option(names = "--set", description = "A streams-app setting for this run.")
    Map<String, String> overrides = new java.util.HashMap<>();

    @Override
    public Integer call() throws Exception {
      new PayloadFileBenchmark(System.out, records, overrides).run();
      return 0;
    }
  }

  @Command(
      name = "results",
      mixinStandardHelpOptions = true,
      description =
          "Messenger's published results measured here, push beside pull in one run: payload"
              + " sizes, bytes per delivered message, send failures in paired runs on mobile link"
              + " profiles, end-to-end"
              + " load beside EndToEndLatency, the pipeline under kafka-producer-perf-test. Writes"
              + " results.md, results.html and PNG charts.")
  static final class BenchResults implements Callable<Integer> {
    @Option(
        names = "--out",
        defaultValue = "bench-results",
        description = "Directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(
        names = "--quick",
        description = "Shorter runs, fewer devices: a smoke test of the harness.")
    boolean quick;

    @Option(
        names = "--parts",
        split = ",",
        defaultValue = "1,2,3,4,5",
        description = "Which measurements (default ${DEFAULT-VALUE}).")
    java.util.Set<Integer> parts;

    @Option(
        names = "--profiles",
        split = ",",
        defaultValue = ResultsBenchmark.LinkRuns.DEFAULT_PROFILES,
        description =
            "Part 3: the mobile link profiles swept (ATC's names; default ${DEFAULT-VALUE}; known:"
                + " 2G-DevelopingRural, 2G-DevelopingUrban, Edge-Lossy, Edge-Average, Edge-Good,"
                + " 3G-Average, 3G-Good).")
    List<String> profiles;

    @Option(
        names = "--pairs",
        defaultValue = "0",
        description =
            "Part 3: paired runs (a push and a pull phone on the same outages) per profile, each on"
                + " a seed of its own (default 4, 1 with --quick).")
    int pairs;

    @Option(
        names = "--link-minutes",
        defaultValue = "0",
        description =
            "Part 3: real minutes of conversations per pair (default 15, 2 with --quick); the"
                + " initial load (about 1 minute) and the settling come on top.")
    int linkMinutes;

    @Option(
        names = "--parallel",
        defaultValue = "0",
        description = "Part 3: pairs run at once on the one stack (default 4, 2 with --quick).")
    int parallel;

    @Option(
        names = "--seed",
        defaultValue = "19",
        description =
            "Part 3: every pair's seed (outages, conversations, link draws) is derived from it, its"
                + " profile and its number (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
      ResultsBenchmark.LinkRuns links =
          new ResultsBenchmark.LinkRuns(
              profiles.stream().map(MobileLink.Profile::byName).toList(),
              pairs > 0 ? pairs : quick ? 1 : 4,
              linkMinutes > 0 ? linkMinutes : quick ? 2 : 15,
              parallel > 0 ? parallel : quick ? 2 : 4,
              seed,
              ResultsBenchmark.LinkRuns.TIMEOUT_MS);
      new ResultsBenchmark(System.out, out, quick, parts, links).run();
      return 0;
    }
  }

  @Command(
      name = "loadgen",
      mixinStandardHelpOptions = true,
      description =
          "Write payload files of valid commands for Kafka's stock tools: threads.txt (thread"
              + " creates, for kafka-console-producer) and sends.txt (messages, for"
              + " kafka-producer-perf-test --payload-file). No key is needed.")
  static final class Loadgen implements Callable<Integer> {
    @Option(
        names = "--out",
        defaultValue = "loadgen",
        description = "Directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(
        names = "--first-user",
        defaultValue = "1000000",
        description = "Lowest user id (default ${DEFAULT-VALUE}).")
    long firstUser;

    @Option(
        names = "--users",
        defaultValue = "20000",
        description = "Users (default ${DEFAULT-VALUE}).")
    int users;

    @Option(
        names = "--first-thread",
        defaultValue = "9000000000000",
        description = "Lowest thread id (default ${DEFAULT-VALUE}).")
    long firstThread;

    @Option(
        names = "--threads",
        defaultValue = "5000",
        description = "Threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(
        names = "--members",
        defaultValue = "3",
        description = "Members per thread (default ${DEFAULT-VALUE}).")
    int members;

    @Option(
        names = "--lines",
        defaultValue = "10000",
        description = "Lines of sends.txt (default ${DEFAULT-VALUE}).")
    int lines;

    @Option(
        names = "--text-bytes",
        defaultValue = "40",
        description = "Message text size (default ${DEFAULT-VALUE}).")
    int textBytes;

    @Override
    public Integer call() throws Exception {
      var w =
          CommandPayloads.write(
              out, firstUser, users, firstThread, threads, members, lines, textBytes, 7);
      System.out.printf(
          "wrote %s (%,d thread creates) and %s (%,d sends, fan-out %d)%n"
              + "then, against the stack's broker:%n"
              + "  ./iris kafka kafka-console-producer --bootstrap-server 127.0.0.1:9092 --topic iris.commands < %s%n"
              + "  ./iris kafka kafka-producer-perf-test --topic iris.commands --payload-file %s"
              + " --num-records 100000 --throughput 5000 --command-property bootstrap.servers=127.0.0.1:9092%n",
          w.threads(), threads, w.sends(), lines, members, w.threads(), w.sends());
      return 0;
    }
  }

  @Command(
      name = "catchup",
      mixinStandardHelpOptions = true,
      description =
          "Catch-up latency of a device (sync request to last delta applied) against the budgets"
              + " of issue 15 (back after an hour: 60 deltas, 50 ms; after a day: 1,440, 150 ms;"
              + " new device of a busy user: 600, 100 ms), each served by memory, MySQL and"
              + " iris.log in turn, on a fresh stack; beside the bridge's own answer time, a plain"
              + " KafkaConsumer reading"
              + " the same span and a MySQL primary-key range read of the same rows.")
  static final class BenchCatchup implements Callable<Integer> {
    @Option(
        names = "--runs",
        defaultValue = "20",
        description = "Measured catch-ups per scenario and tier (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(
        names = "--warmup",
        defaultValue = "5",
        description =
            "Unmeasured catch-ups per scenario and tier first (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
        names = "--other",
        defaultValue = "9",
        description =
            "Deltas of other users in the user's partition of iris.log per delta of the user"
                + " (default ${DEFAULT-VALUE}); the log tier reads them all.")
    int other;

    @Option(
        names = "--set",
        description =
            "A stack setting for this run, e.g. --set mqtt.catchup.max.deltas=1000 (the bench sets"
                + " mqtt.tier1.deltas.per.user=2048 and mqtt.tier1.users=200 unless given).")
    Map<String, String> overrides = new java.util.HashMap<>();

    @Override
    public Integer call() throws Exception {
      new CatchUpBenchmark(System.out, runs, warmup, other, overrides).run();
      return 0;
    }
  }
}
