package io.iris.bench;

import io.iris.embedded.EmbeddedKafka;
import io.iris.streams.IrisStreamsApp;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.TopicPartition;

/**
 * The pipeline driven by Kafka's stock tools only, as an operator would load-test it: {@code
 * kafka-console-producer} sends the thread file, then {@code kafka-producer-perf-test
 * --payload-file} sends valid commands into {@code iris.commands} as fast as it can while the
 * streams app runs. Reported beside the same tool and file against a plain topic on the same
 * broker: the raw topic rate.
 */
public final class PayloadFileBenchmark {
  /** What one run measured. */
  public record Result(
      long records,
      int lineBytes,
      double rawRecordsPerSec,
      double perfTestIntoCommandsPerSec,
      double pipelineCommandsPerSec,
      double pipelineDeltasPerSec,
      long deltasInLog,
      long deadLetters,
      double seconds) {}

  private final PrintStream out;
  private final long records;
  private final Map<String, String> overrides;

  public PayloadFileBenchmark(PrintStream out, long records, Map<String, String> overrides) {
    this.out = out;
    this.records = records;
    this.overrides = overrides;
  }

  public Result run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-payload");
    try (EmbeddedKafka kafka =
        new EmbeddedKafka(EmbeddedKafka.Settings.ephemeral(dir.resolve("kafka")))) {
      out.println("bench: starting a fresh embedded broker in " + dir);
      kafka.start();
      String bootstrap = kafka.bootstrapServers();
      StreamsBenchmark.createTopics(bootstrap);
      int threads = 5000;
      CommandPayloads.Written files =
          CommandPayloads.write(
              dir.resolve("payloads"), 1_000_000, 20_000, 1, threads, 3, 10_000, 40, 7);
      out.printf(
          "bench: payload files: %,d thread creates, %,d send lines of up to %d bytes%n",
          threads, files.sendLines(), files.lineBytes());

      out.printf("bench: reference: kafka-producer-perf-test --payload-file into a plain topic%n");
      ProducerPerfTest.Result raw =
          ProducerPerfTest.runPayloadFile(
              bootstrap, "bench.raw", records, -1, files.sends(), StreamsBenchmark.TUNED);

      Map<String, Object> settings = new java.util.HashMap<>(overrides);
      settings.putIfAbsent(StreamsAppConfig.REPLICATION_FACTOR_CONFIG, "1");
      try (IrisStreamsApp app =
          new IrisStreamsApp(new StreamsAppConfig(settings), bootstrap, dir.resolve("streams"))) {
        app.start(Duration.ofMinutes(2));
        out.println("bench: kafka-console-producer < threads.txt");
        Process console =
            ProducerPerfTest.tool(
                    "org.apache.kafka.tools.ConsoleProducer",
                    List.of("--bootstrap-server", bootstrap, "--topic", Topics.COMMANDS.name()))
                .redirectInput(files.threads().toFile())
                .start();
        String consoleOut =
            new String(console.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (console.waitFor() != 0) {
          throw new IllegalStateException("kafka-console-producer failed: " + consoleOut);
        }
        long createDeltas = (long) threads * files.members();
        awaitSequenced(app, createDeltas, Duration.ofMinutes(2), "thread creates");

        out.printf(
            "bench: kafka-producer-perf-test --payload-file sends.txt --num-records %,d into %s%n",
            records, Topics.COMMANDS.name());
        long expected = createDeltas + records * files.members();
        long t0 = System.nanoTime();
        CompletableFuture<ProducerPerfTest.Result> perf =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return ProducerPerfTest.runPayloadFile(
                        bootstrap,
                        Topics.COMMANDS.name(),
                        records,
                        -1,
                        files.sends(),
                        StreamsBenchmark.TUNED);
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                });
        awaitSequenced(app, expected, Duration.ofMinutes(10), "deltas");
        double secs = (System.nanoTime() - t0) / 1e9;
        ProducerPerfTest.Result intoCommands = perf.join();
        long inLog = count(bootstrap, Topics.LOG.name(), expected);
        long dead = count(bootstrap, Topics.DLQ.name(), 0);
        if (inLog != expected || dead != 0) {
          throw new IllegalStateException(
              "iris.log holds " + inLog + " deltas (expected " + expected + "), iris.dlq " + dead);
        }
        Result r =
            new Result(
                records,
                files.lineBytes(),
                raw.recordsPerSec(),
                intoCommands.recordsPerSec(),
                records / secs,
                records * files.members() / secs,
                inLog,
                dead,
                secs);
        print(r, files.members());
        return r;
      }
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
  }

  private void print(Result r, int members) {
    out.println();
    out.printf(
        "| measurement (same broker, same payload file, same run) | records/s |%n|---|---:|%n");
    out.printf(
        "| kafka-producer-perf-test --payload-file into a plain topic (raw topic rate) | %,.0f |%n",
        r.rawRecordsPerSec());
    out.printf(
        "| kafka-producer-perf-test --payload-file into iris.commands, streams app running | %,.0f |%n",
        r.perfTestIntoCommandsPerSec());
    out.printf(
        "| pipeline sustained: commands applied and sequenced (%,d in %.1f s) | %,.0f |%n",
        r.records(), r.seconds(), r.pipelineCommandsPerSec());
    out.printf(
        "| pipeline sustained: deltas into iris.log (fan-out %d) | %,.0f |%n",
        members, r.pipelineDeltasPerSec());
    out.printf(
        "| pipeline / raw topic rate | %.2f |%n",
        r.pipelineCommandsPerSec() / r.rawRecordsPerSec());
    out.printf(
        "checked: iris.log holds %,d deltas read_committed, iris.dlq %d%n",
        r.deltasInLog(), r.deadLetters());
  }

  private void awaitSequenced(IrisStreamsApp app, long expected, Duration limit, String what)
      throws InterruptedException {
    long t0 = System.nanoTime();
    long lastReport = t0;
    List<Metric> sequenced = app.metrics("deltas-out-total");
    while (IrisStreamsApp.sum(sequenced) < expected) {
      Thread.sleep(50);
      long now = System.nanoTime();
      if (now - lastReport > 2_000_000_000L) {
        sequenced = app.metrics("deltas-out-total");
        out.printf(
            "bench:   %,.0f of %,d %s sequenced, %.0f s%n",
            IrisStreamsApp.sum(sequenced), expected, what, (now - t0) / 1e9);
        lastReport = now;
      }
      if (now - t0 > limit.toNanos()) {
        throw new IllegalStateException(
            "streams app sequenced "
                + IrisStreamsApp.sum(sequenced)
                + " of "
                + expected
                + " "
                + what
                + " within "
                + limit);
      }
    }
  }

  /** Records in a topic (read_committed), reading until {@code expected} or 10 quiet seconds. */
  static long count(String bootstrap, String topic, long expected) {
    try (KafkaConsumer<byte[], byte[]> reader = StreamsBenchmark.reader(bootstrap)) {
      List<TopicPartition> parts =
          reader.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      reader.assign(parts);
      reader.seekToBeginning(parts);
      long seen = 0;
      long quietSince = System.nanoTime();
      while (System.nanoTime() - quietSince
          < (seen >= expected ? 1_000_000_000L : 10_000_000_000L)) {
        int n = reader.poll(Duration.ofMillis(200)).count();
        if (n > 0) {
          seen += n;
          quietSince = System.nanoTime();
        }
      }
      return seen;
    }
  }
}
