package io.iris.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka's own {@code kafka-producer-perf-test} (ProducerPerformance), run as a separate JVM from
 * the same jars: the reference every benchmark compares against.
 */
public final class ProducerPerfTest {
  /** The summary line ProducerPerformance prints last. */
  private static final Pattern SUMMARY =
      Pattern.compile(
          "(\\d+) records sent, ([\\d.]+) records/sec \\(([\\d.]+) MB/sec\\), ([\\d.]+) ms avg latency, ([\\d.]+) ms max latency, (\\d+) ms 50th, (\\d+) ms 95th, (\\d+) ms 99th");

  /** One run's summary. */
  public record Result(
      long records, double recordsPerSec, double mbPerSec, double avgMs, long p50Ms, long p99Ms) {}

  private ProducerPerfTest() {}

  public static Result run(
      String bootstrap,
      String topic,
      long records,
      int recordSize,
      Map<String, String> producerProps)
      throws IOException, InterruptedException {
    return run(
        bootstrap,
        topic,
        records,
        -1,
        List.of("--record-size", Integer.toString(recordSize)),
        producerProps);
  }

  /**
   * Sends {@code records} random lines of a payload file (one payload per line), as an operator
   * would with {@code kafka-producer-perf-test --payload-file}; {@code throughput} -1 is as fast as
   * it goes.
   */
  public static Result runPayloadFile(
      String bootstrap,
      String topic,
      long records,
      long throughput,
      Path payloadFile,
      Map<String, String> producerProps)
      throws IOException, InterruptedException {
    return run(
        bootstrap,
        topic,
        records,
        throughput,
        List.of("--payload-file", payloadFile.toString()),
        producerProps);
  }

  private static Result run(
      String bootstrap,
      String topic,
      long records,
      long throughput,
      List<String> payload,
      Map<String, String> producerProps)
      throws IOException, InterruptedException {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "--topic",
            topic,
            "--num-records",
            Long.toString(records),
            "--throughput",
            Long.toString(throughput)));
    args.addAll(payload);
    args.add("--command-property");
    args.add("bootstrap.servers=" + bootstrap);
    producerProps.forEach((k, v) -> args.add(k + "=" + v));
    Process p = tool("org.apache.kafka.tools.ProducerPerformance", args).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    Matcher m = SUMMARY.matcher(out);
    Result last = null;
    while (m.find()) {
      last =
          new Result(
              Long.parseLong(m.group(1)),
              Double.parseDouble(m.group(2)),
              Double.parseDouble(m.group(3)),
              Double.parseDouble(m.group(4)),
              Long.parseLong(m.group(6)),
              Long.parseLong(m.group(8)));
    }
    if (rc != 0 || last == null) {
      throw new IllegalStateException("kafka-producer-perf-test failed (exit " + rc + "): " + out);
    }
    return last;
  }

  private static final Pattern E2E =
      Pattern.compile("Percentiles: 50th = (\\d+), 99th = (\\d+), 99.9th = (\\d+)");

  /**
   * Kafka's own EndToEndLatency: 2,000 round trips of 100 bytes, acks=all, on topic
   * bench.e2e-latency; p50, p99, p99.9 in ms.
   */
  public static long[] endToEndLatency(String bootstrap) throws Exception {
    Process p =
        tool(
                "org.apache.kafka.tools.EndToEndLatency",
                List.of(bootstrap, "bench.e2e-latency", "2000", "all", "100"))
            .start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    Matcher m = E2E.matcher(text);
    if (!m.find()) {
      throw new IllegalStateException("EndToEndLatency failed: " + text);
    }
    return new long[] {
      Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))
    };
  }

  /** One of Kafka's own tools in a JVM of its own, from the same jars, output merged. */
  public static ProcessBuilder tool(String mainClass, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    // The tool logs through the launcher's log4j2.xml: into the bench's log directory, not into a
    // directory literally named after the unset property.
    cmd.add(
        "-Diris.log.dir="
            + System.getProperty(
                "iris.log.dir",
                Path.of(System.getProperty("java.io.tmpdir"), "iris-logs").toString()));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true);
  }
}
