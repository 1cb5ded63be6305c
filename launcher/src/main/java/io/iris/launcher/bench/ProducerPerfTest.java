package io.iris.launcher.bench;

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
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("org.apache.kafka.tools.ProducerPerformance");
    cmd.addAll(
        List.of(
            "--topic",
            topic,
            "--num-records",
            Long.toString(records),
            "--record-size",
            Integer.toString(recordSize),
            "--throughput",
            "-1",
            "--command-property"));
    cmd.add("bootstrap.servers=" + bootstrap);
    producerProps.forEach((k, v) -> cmd.add(k + "=" + v));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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
}
