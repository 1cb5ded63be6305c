package io.iris.bench;

import io.iris.bench.SessionBenchmark.Scenario;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Messenger's published results, measured on this system side by side in one run: payload sizes,
 * non-media bytes per delivered message push versus pull, send failures over the same bad link,
 * end-to-end delivery under load beside Kafka's own EndToEndLatency, and the pipeline driven by
 * {@code kafka-producer-perf-test} beside the raw topic rate. Writes {@code results.md}, {@code
 * results.html} and PNG charts to the output directory.
 */
public final class ResultsBenchmark {
  /** The session of measurement 2: an hour, offline from minute 30 to 45. */
  static Scenario session(int msPerMinute) {
    return new Scenario(
        "session", 60, msPerMinute, 5, 20, 2.0, 0.75, 30, 45, LinkProxy.Link.perfect(), 10_000, 42);
  }

  /** The bad link of measurement 3, the same for both protocols. */
  static final List<LinkProxy.Link> BAD_LINKS =
      List.of(
          // EDGE-class: 64 kbit/s down, 32 up, 800 ms RTT.
          new LinkProxy.Link(8_000, 4_000, 400, 2.0, 5_000, 99),
          // GPRS-class: 32 kbit/s down, 16 up, 1 s RTT.
          new LinkProxy.Link(4_000, 2_000, 500, 2.0, 5_000, 99));

  /** Real time on the bad link: a minute is a minute; a send every 2 s, a message in every 2 s. */
  static Scenario badLink(int minutes, LinkProxy.Link link) {
    return new Scenario("bad link", minutes, 60_000, 5, 20, 30, 30, 0, 0, link, 10_000, 43);
  }

  private final PrintStream out;
  private final Path dir;
  private final boolean quick;
  private final java.util.Set<Integer> parts;
  private final int linkMinutes;

  /**
   * @param linkMinutes real minutes each bad-link session runs (section 3); 0 for the default (3,
   *     or 1 with {@code quick})
   */
  public ResultsBenchmark(
      PrintStream out, Path dir, boolean quick, java.util.Set<Integer> parts, int linkMinutes) {
    this.out = out;
    this.dir = dir;
    this.quick = quick;
    this.parts = parts;
    this.linkMinutes = linkMinutes > 0 ? linkMinutes : quick ? 1 : 3;
  }

  public void run() throws Exception {
    Files.createDirectories(dir);
    Instant started = Instant.now();
    StringBuilder md = new StringBuilder();
    List<String> pngs = new ArrayList<>();
    md.append("# Push versus pull: results of one run\n\n");
    md.append(
        String.format(
            "Run %s on %d cores, %s; `./iris bench results%s`.%n%n",
            started,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
            quick ? " --quick" : ""));

    Targets targets = new Targets();
    if (parts.contains(1)) {
      out.println("results: 1/5 payload sizes");
      payloads(md, PayloadSizes.measure(10_000, 5), targets, pngs);
    }
    List<Scenario> scenarios = new ArrayList<>();
    if (parts.contains(2)) {
      scenarios.add(session(quick ? 500 : 1000));
    }
    if (parts.contains(3)) {
      for (LinkProxy.Link link : BAD_LINKS) {
        scenarios.add(badLink(linkMinutes, link));
      }
    }
    if (!scenarios.isEmpty()) {
      out.println("results: 2/5 and 3/5 sessions, push and pull phones side by side");
      int links = 0;
      for (SessionBenchmark.Result r : new SessionBenchmark(out).run(scenarios)) {
        if (r.scenario().link().equals(LinkProxy.Link.perfect())) {
          bytes(md, r, targets, pngs);
        } else {
          failures(md, r, targets, pngs, ++links);
        }
      }
    }
    if (parts.contains(4)) {
      out.println("results: 4/5 end-to-end load on the full stack");
      load(
          md,
          new EdgeBenchmark(
                  out,
                  quick ? 0 : 1000,
                  quick ? 20 : 50,
                  quick ? 200 : 500,
                  30,
                  quick ? 20 : 40,
                  Map.of())
              .run(),
          targets,
          pngs);
    }
    if (parts.contains(5)) {
      out.println("results: 5/5 kafka-producer-perf-test with a payload file of valid commands");
      pipeline(md, new PayloadFileBenchmark(out, quick ? 100_000 : 300_000, Map.of()).run(), pngs);
    }
    StringBuilder head = new StringBuilder();
    head.append("## Targets\n\n| target | measured | |\n|---|---|---|\n");
    head.append(targets.rows);
    head.append("\n");
    String report = md.toString();
    int cut = report.indexOf("\n## ");
    report = report.substring(0, cut + 1) + head + report.substring(cut + 1);
    report +=
        String.format(
            "%nTook %d s in all.%n", Duration.between(started, Instant.now()).toSeconds());
    Files.writeString(dir.resolve("results.md"), report);
    Files.writeString(dir.resolve("results.html"), html(report, pngs));
    out.println();
    out.print(report);
    out.println(
        "results: written to "
            + dir.toAbsolutePath().resolve("results.md")
            + ", results.html and "
            + pngs);
  }

  private static final class Targets {
    final StringBuilder rows = new StringBuilder();

    void add(String target, String measured, boolean met, String why) {
      rows.append(
          String.format(
              "| %s | %s | %s |%n", target, measured, met ? "**met**" : "**missed**: " + why));
    }
  }

  private void payloads(StringBuilder md, List<PayloadSizes.Row> rows, Targets t, List<String> pngs)
      throws IOException {
    md.append("## 1. Payload: bytes per delta\n\n");
    md.append(
        "10,000 realistic new-message deltas (texts of 10 to 80 characters; a third of them the user's own, with client id and device id).\n\n");
    md.append(
        "| encoding | per delta | per delta, gzip | per batch of 10 | per batch of 10, gzip |\n|---|---:|---:|---:|---:|\n");
    for (PayloadSizes.Row r : rows) {
      md.append(
          String.format(
              "| %s | %.1f | %.1f | %.1f | %.1f |%n",
              r.encoding(), r.perDelta(), r.perDeltaGzip(), r.perBatch10(), r.perBatch10Gzip()));
    }
    PayloadSizes.Row compact = rows.get(0);
    PayloadSizes.Row json = rows.get(2);
    double ratio = compact.perDelta() / json.perDelta();
    md.append(
        String.format(
            "%nThrift compact is %.0f%% of JSON per delta, %.0f%% per batch of 10; gzipped JSON batches narrow the gap (%.0f%%) at the cost of compressing on every push.%n%n",
            100 * ratio,
            100 * compact.perBatch10() / json.perBatch10(),
            100 * compact.perBatch10Gzip() / json.perBatch10Gzip()));
    t.add(
        "Thrift delta <= 45% of JSON",
        String.format("%.0f%% (%.1f vs %.1f B)", 100 * ratio, compact.perDelta(), json.perDelta()),
        ratio <= 0.45,
        String.format(
            "by %.0f points: the text is most of a delta and costs the same in both",
            100 * ratio - 45));
    List<PngChart.Bar> bars = new ArrayList<>();
    java.awt.Color[] colours = {PngChart.PUSH, PngChart.REFERENCE, PngChart.PULL};
    for (int i = 0; i < rows.size(); i++) {
      PayloadSizes.Row r = rows.get(i);
      String name = r.encoding().replaceAll(" \\(.*", "").replace(", descriptive field names", "");
      bars.add(
          new PngChart.Bar(
              name + ", one delta",
              r.perDelta(),
              colours[i],
              String.format("%.0f B", r.perDelta())));
      bars.add(
          new PngChart.Bar(
              name + ", 10 deltas / 10",
              r.perBatch10() / 10,
              colours[i],
              String.format("%.0f B", r.perBatch10() / 10)));
      bars.add(
          new PngChart.Bar(
              name + ", 10 deltas gzip / 10",
              r.perBatch10Gzip() / 10,
              colours[i],
              String.format("%.0f B", r.perBatch10Gzip() / 10)));
    }
    png(
        "payload.png",
        "Bytes per delta",
        "B",
        bars,
        json.perDelta() * 0.45,
        "target: 45% of JSON",
        pngs);
  }

  private void bytes(StringBuilder md, SessionBenchmark.Result r, Targets t, List<String> pngs)
      throws IOException {
    Scenario s = r.scenario();
    md.append("## 2. Non-media bytes on the wire per delivered message\n\n");
    md.append(
        String.format(
            "One user, %d threads with %d messages of history each, %d simulated minutes (1 minute = %d ms), about %.1f incoming messages and %.2f sends a minute, offline from minute %d to %d. Both phones at once on the same schedule, each through a byte-counting proxy: everything on the wire is counted (TLS handshakes and records, MQTT framing and acks, HTTP headers, the notification socket). Both start with the same content: push takes a snapshot (20 threads x 20 messages), pull loads the inbox and a 20-message page of every thread; that is reported apart.%n%n",
            s.threads(),
            s.history(),
            s.minutes(),
            s.msPerMinute(),
            s.incomingPerMinute(),
            s.sendsPerMinute(),
            s.offlineFrom(),
            s.offlineTo()));
    md.append(
        "| | push (MQTT + Thrift, TLS) | pull (notification + HTTPS GET JSON) |\n|---|---:|---:|\n");
    row(md, "initial load, bytes", r.push().initialBytes(), r.pull().initialBytes());
    row(md, "session bytes, phone to server", r.push().sessionBytesUp(), r.pull().sessionBytesUp());
    row(
        md,
        "session bytes, server to phone",
        r.push().sessionBytesDown(),
        r.pull().sessionBytesDown());
    md.append(
        String.format(
            "| messages delivered (incoming / own confirmed) | %d / %d of %d / %d | %d / %d of %d / %d |%n",
            r.push().incomingDelivered(),
            r.push().confirmed(),
            r.push().incomingExpected(),
            r.push().sends(),
            r.pull().incomingDelivered(),
            r.pull().confirmed(),
            r.pull().incomingExpected(),
            r.pull().sends()));
    md.append(
        String.format(
            "| **bytes per delivered message** | **%.0f** | **%.0f** |%n",
            r.push().bytesPerDelivered(), r.pull().bytesPerDelivered()));
    md.append(
        String.format(
            "| TCP connections made | %d | %d |%n%n",
            r.push().connections(), r.pull().connections()));
    double cut = 1 - r.push().bytesPerDelivered() / r.pull().bytesPerDelivered();
    t.add(
        "non-media bytes per delivered message >= 60% below pull",
        String.format(
            "%.0f%% below (%.0f vs %.0f B)",
            100 * cut, r.push().bytesPerDelivered(), r.pull().bytesPerDelivered()),
        cut >= 0.60,
        String.format("by %.0f points", 60 - 100 * cut));
    png(
        "bytes.png",
        "Non-media bytes per delivered message",
        "B",
        List.of(
            new PngChart.Bar(
                "push: MQTT + Thrift deltas, TLS",
                r.push().bytesPerDelivered(),
                PngChart.PUSH,
                String.format("%.0f B", r.push().bytesPerDelivered())),
            new PngChart.Bar(
                "pull: notification + HTTPS GET JSON",
                r.pull().bytesPerDelivered(),
                PngChart.PULL,
                String.format("%.0f B", r.pull().bytesPerDelivered()))),
        r.pull().bytesPerDelivered() * 0.4,
        "target: 60% below pull",
        pngs);
  }

  private static void row(StringBuilder md, String name, long push, long pull) {
    md.append(String.format("| %s | %,d | %,d |%n", name, push, pull));
  }

  /** The Wilson score interval (95%) of {@code k} failures in {@code n} trials. */
  static double[] wilson(long k, long n) {
    if (n == 0) {
      return new double[] {0, 1};
    }
    double z = 1.96;
    double p = (double) k / n;
    double denominator = 1 + z * z / n;
    double centre = (p + z * z / (2.0 * n)) / denominator;
    double half = z * Math.sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denominator;
    return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
  }

  private void failures(
      StringBuilder md, SessionBenchmark.Result r, Targets t, List<String> pngs, int n)
      throws IOException {
    Scenario s = r.scenario();
    md.append(String.format("## 3.%d Send failures over a constrained mobile link%n%n", n));
    md.append(
        String.format(
            "Link: %s; emulated by a proxy in the harness (`LinkProxy`), because this machine's kernel has no `sch_netem` for `tc netem` in a network namespace. Each phone has its own link with the same settings and the same loss schedule (seeded). %d minutes (%d ms each: real time), %.0f incoming messages and %.0f sends a minute per phone. A send fails when the app has no confirmation %d ms after the user pressed send. Retry rules: push, the SDK's own (one persistent MQTT connection, reconnect with backoff, resend with the same client id until the sender's own delta confirms); pull, the old app's (POST, on error or no answer retry with backoff 250 ms, 500 ms, ... on a new connection, the same client_message_id, until the timeout).%n%n",
            s.link().describe(),
            s.minutes(),
            s.msPerMinute(),
            s.incomingPerMinute(),
            s.sendsPerMinute(),
            s.timeoutMs()));
    md.append("| | push | pull |\n|---|---:|---:|\n");
    md.append(String.format("| sends | %d | %d |%n", r.push().sends(), r.pull().sends()));
    md.append(
        String.format(
            "| confirmed in time | %d | %d |%n", r.push().confirmed(), r.pull().confirmed()));
    md.append(
        String.format(
            "| **failed (not confirmed within %d s)** | **%d (%.1f%%)** | **%d (%.1f%%)** |%n",
            s.timeoutMs() / 1000,
            r.push().failed(),
            100 * r.push().failureRate(),
            r.pull().failed(),
            100 * r.pull().failureRate()));
    double[] pushCi = wilson(r.push().failed(), r.push().sends());
    double[] pullCi = wilson(r.pull().failed(), r.pull().sends());
    md.append(
        String.format(
            "| failure rate, 95%% interval (Wilson) | %.1f – %.1f%% | %.1f – %.1f%% |%n",
            100 * pushCi[0], 100 * pushCi[1], 100 * pullCi[0], 100 * pullCi[1]));
    md.append(
        String.format(
            "| confirmation time p50 / p90 / max of confirmed sends | %s | %s |%n",
            lat(r.push().sendLatenciesMs()), lat(r.pull().sendLatenciesMs())));
    md.append(
        String.format(
            "| signal losses / TCP connections made | %d / %d | %d / %d |%n",
            r.push().losses(), r.push().connections(), r.pull().losses(), r.pull().connections()));
    md.append(
        String.format(
            "| incoming messages delivered | %d of %d | %d of %d |%n",
            r.push().incomingDelivered(),
            r.push().incomingExpected(),
            r.pull().incomingDelivered(),
            r.pull().incomingExpected()));
    md.append(
        String.format(
            "| bytes per delivered message on this link | %.0f | %.0f |%n%n",
            r.push().bytesPerDelivered(), r.pull().bytesPerDelivered()));
    double pushRate = r.push().failureRate();
    double pullRate = r.pull().failureRate();
    String fails =
        String.format(
            "push %d of %d (%.1f%%), pull %d of %d (%.1f%%)",
            r.push().failed(),
            r.push().sends(),
            100 * pushRate,
            r.pull().failed(),
            r.pull().sends(),
            100 * pullRate);
    boolean met = pullRate > 0 && pushRate <= 0.6 * pullRate;
    String why;
    if (pushRate == 0 && pullRate == 0) {
      why = "not measurable: no send failed on either side on this link";
    } else if (pushRate <= pullRate) {
      why =
          String.format(
              "push fails %.0f%% less, not 40%%; see the note under section 3",
              100 * (1 - pushRate / pullRate));
    } else {
      why = "push fails more; see the note under section 3";
    }
    t.add(
        "send failures >= 40% below pull on the same link ("
            + s.link().describe().replaceAll(", a .*", "")
            + ")",
        fails,
        met,
        why);
    if (!met && pushRate > 0) {
      md.append(
          "Where the failures come from: a send fails when a signal loss falls within its 10 s. After a loss, the push phone needs TCP, TLS, MQTT CONNECT and then SUBSCRIBE and the resend (pipelined: the SDK does not wait for SUBACK): four round trips before its resend leaves; the pull phone needs TCP, TLS and the POST: three. On a 1 s RTT link the extra round trip is what the push phone loses. Push wins on bytes (the pull phone's connections and 20-message pages cost it most of the link) but the link here is not saturated by them. What would close it: the first command in the CONNECT packet (as Messenger's MQTT variant did), a persistent session so that no SUBSCRIBE is needed on resume, or 0-RTT TLS resumption.\n\n");
    }
    md.append(
        String.format(
            "Sample: %d sends and %d signal losses per phone; the two 95%% intervals %s.%s%n%n",
            r.push().sends(),
            r.push().losses(),
            pushCi[0] > pullCi[1] || pullCi[0] > pushCi[1]
                ? "do not overlap: the difference is more than chance"
                : "overlap: the difference is within chance",
            s.minutes() < 15 ? " `--link-minutes 30` runs a longer sample." : ""));
    png(
        "failures-" + n + ".png",
        "Sends not confirmed in "
            + s.timeoutMs() / 1000
            + " s: "
            + s.link().describe().replaceAll(", a .*", ""),
        "%",
        List.of(
            new PngChart.Bar(
                "push (SDK over MQTT)",
                100 * pushRate,
                PngChart.PUSH,
                String.format("%.1f%% of %d", 100 * pushRate, r.push().sends())),
            new PngChart.Bar(
                "pull (HTTPS POST with retries)",
                100 * pullRate,
                PngChart.PULL,
                String.format("%.1f%% of %d", 100 * pullRate, r.pull().sends()))),
        100 * pullRate * 0.6,
        "target: 40% below pull",
        pngs);
  }

  private static String lat(long[] sorted) {
    if (sorted.length == 0) {
      return "-";
    }
    return String.format(
        "%,d / %,d / %,d ms",
        sorted[sorted.length / 2],
        sorted[(int) Math.min(sorted.length - 1, sorted.length * 0.9)],
        sorted[sorted.length - 1]);
  }

  private void load(StringBuilder md, EdgeBenchmark.Load l, Targets t, List<String> pngs)
      throws IOException {
    md.append("## 4. End-to-end load\n\n");
    md.append(
        String.format(
            "%d SDK devices in pairs on the full embedded stack (one broker, streams app with exactly-once, one bridge), %,d messages/s for %d s after a warm-up; latency is from the sender's send() to the receiver's listener.%n%n",
            l.devices(), l.rate(), l.seconds()));
    md.append("| | value |\n|---|---:|\n");
    md.append(
        String.format("| messages sent / confirmed | %,d / %,d |%n", l.sent(), l.confirmed()));
    md.append(
        String.format(
            "| deltas delivered / expected | %,d / %,d |%n", l.delivered(), l.expected()));
    md.append(String.format("| deltas delivered per second | %,.0f |%n", l.deliveredPerSec()));
    md.append(
        String.format(
            "| delivery latency p50 / p99 / p99.9 / max | %.0f / %.0f / %.0f / %.0f ms |%n",
            l.p50Ms(), l.p99Ms(), l.p999Ms(), l.maxMs()));
    md.append(
        String.format(
            "| Kafka's EndToEndLatency (acks=all), same broker, same run: p50 / p99 / p99.9 | %d / %d / %d ms |%n",
            l.endToEndMs()[0], l.endToEndMs()[1], l.endToEndMs()[2]));
    md.append(
        String.format(
            "| order check: deltas out of position order or not chained to the last applied (prevPos above it) at any device / duplicates dropped / gaps repaired | %d / %d / %d |%n%n",
            l.outOfOrder(), l.duplicatesDropped(), l.gapsRepaired()));
    double e2e = Math.max(1, l.endToEndMs()[1]);
    double x = l.p99Ms() / e2e;
    t.add(
        "delivery p99 within 5x Kafka's EndToEndLatency p99",
        String.format("%.0fx (%.0f vs %d ms)", x, l.p99Ms(), l.endToEndMs()[1]),
        x <= 5,
        String.format(
            "by %.0fx: a message crosses an exactly-once transaction (commands -> iris.log, commit interval 100 ms) and read_committed consumers; EndToEndLatency is one non-transactional hop",
            x / 5));
    png(
        "latency.png",
        "Delivery latency vs Kafka's EndToEndLatency",
        "ms",
        List.of(
            new PngChart.Bar(
                "push delivery p50", l.p50Ms(), PngChart.PUSH, String.format("%.0f ms", l.p50Ms())),
            new PngChart.Bar(
                "push delivery p99", l.p99Ms(), PngChart.PUSH, String.format("%.0f ms", l.p99Ms())),
            new PngChart.Bar(
                "push delivery p99.9",
                l.p999Ms(),
                PngChart.PUSH,
                String.format("%.0f ms", l.p999Ms())),
            new PngChart.Bar(
                "EndToEndLatency p50",
                l.endToEndMs()[0],
                PngChart.REFERENCE,
                l.endToEndMs()[0] + " ms"),
            new PngChart.Bar(
                "EndToEndLatency p99",
                l.endToEndMs()[1],
                PngChart.REFERENCE,
                l.endToEndMs()[1] + " ms"),
            new PngChart.Bar(
                "EndToEndLatency p99.9",
                l.endToEndMs()[2],
                PngChart.REFERENCE,
                l.endToEndMs()[2] + " ms")),
        5 * e2e,
        "target: 5x EndToEndLatency p99",
        pngs);
  }

  private void pipeline(StringBuilder md, PayloadFileBenchmark.Result p, List<String> pngs)
      throws IOException {
    md.append("## 5. kafka-producer-perf-test with a payload file of valid commands\n\n");
    md.append(
        "`./iris loadgen` writes `threads.txt` and `sends.txt`: one command per line as a text frame (`J` + Thrift JSON); the streams app keys unkeyed records by their thread and gives `@` client ids the record's place. `kafka-console-producer` sends the threads, `kafka-producer-perf-test --payload-file` the sends.\n\n");
    md.append("| | records/s |\n|---|---:|\n");
    md.append(
        String.format(
            "| perf-test into a plain topic, same file (raw topic rate) | %,.0f |%n",
            p.rawRecordsPerSec()));
    md.append(
        String.format(
            "| perf-test into iris.commands while the streams app runs | %,.0f |%n",
            p.perfTestIntoCommandsPerSec()));
    md.append(
        String.format(
            "| pipeline sustained: commands applied and sequenced (%,d in %.1f s) | %,.0f |%n",
            p.records(), p.seconds(), p.pipelineCommandsPerSec()));
    md.append(
        String.format(
            "| pipeline sustained: deltas into iris.log (fan-out 3) | %,.0f |%n",
            p.pipelineDeltasPerSec()));
    md.append(
        String.format(
            "| checked: deltas in iris.log (read_committed) / dead letters | %,d / %d |%n%n",
            p.deltasInLog(), p.deadLetters()));
    png(
        "pipeline.png",
        "Stock perf tool: raw topic vs pipeline",
        "records/s",
        List.of(
            new PngChart.Bar(
                "perf-test, plain topic",
                p.rawRecordsPerSec(),
                PngChart.REFERENCE,
                String.format("%,.0f/s", p.rawRecordsPerSec())),
            new PngChart.Bar(
                "pipeline, commands/s",
                p.pipelineCommandsPerSec(),
                PngChart.PUSH,
                String.format("%,.0f/s", p.pipelineCommandsPerSec())),
            new PngChart.Bar(
                "pipeline, deltas/s",
                p.pipelineDeltasPerSec(),
                PngChart.PUSH,
                String.format("%,.0f/s", p.pipelineDeltasPerSec()))),
        Double.NaN,
        "",
        pngs);
  }

  private void png(
      String name,
      String title,
      String unit,
      List<PngChart.Bar> bars,
      double target,
      String label,
      List<String> pngs) {
    try {
      PngChart.bars(dir.resolve(name), title, unit, bars, target, label);
      pngs.add(name);
    } catch (IOException | RuntimeException | Error e) {
      out.println("results: no chart " + name + " (" + e + "); the tables hold the same numbers");
    }
  }

  private static String html(String markdown, List<String> pngs) {
    StringBuilder h = new StringBuilder();
    h.append(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Iris: push versus pull</title>");
    h.append(
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}td{text-align:right}td:first-child{text-align:left}</style></head><body>");
    boolean inTable = false;
    for (String line : markdown.split("\n")) {
      String l =
          escape(line)
              .replaceAll("\\*\\*(.+?)\\*\\*", "<b>$1</b>")
              .replaceAll("`(.+?)`", "<code>$1</code>");
      if (line.startsWith("|")) {
        if (line.startsWith("|---")) {
          continue;
        }
        if (!inTable) {
          h.append("<table>");
          inTable = true;
        }
        h.append("<tr>");
        String[] cells = l.substring(1, l.length() - 1).split("\\|");
        for (String c : cells) {
          h.append("<td>").append(c.trim()).append("</td>");
        }
        h.append("</tr>\n");
        continue;
      }
      if (inTable) {
        h.append("</table>\n");
        inTable = false;
      }
      if (line.startsWith("## ")) {
        h.append("<h2>").append(l.substring(3)).append("</h2>\n");
      } else if (line.startsWith("# ")) {
        h.append("<h1>").append(l.substring(2)).append("</h1>\n");
      } else if (!line.isBlank()) {
        h.append("<p>").append(l).append("</p>\n");
      }
    }
    if (inTable) {
      h.append("</table>\n");
    }
    for (String p : pngs) {
      h.append("<p><img src=\"").append(p).append("\" alt=\"").append(p).append("\"></p>\n");
    }
    h.append("</body></html>\n");
    return h.toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
