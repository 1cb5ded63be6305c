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
import java.util.stream.Collectors;

/**
 * Messenger's published results, measured on this system side by side in one run: payload sizes,
 * non-media bytes per delivered message push versus pull, send failures in paired runs on mobile
 * link profiles, end-to-end delivery under load beside Kafka's own EndToEndLatency, and the
 * pipeline driven by {@code kafka-producer-perf-test} beside the raw topic rate. Writes {@code
 * results.md}, {@code results.html} and PNG charts to the output directory.
 */
public final class ResultsBenchmark {
  /** The session of measurement 2: an hour, offline from minute 30 to 45. */
  static Scenario session(int msPerMinute) {
    return new Scenario(
        "session", 60, msPerMinute, 5, 20, 2.0, 0.75, 30, 45, LinkProxy.Link.perfect(), 10_000, 42);
  }

  /**
   * Part 3's paired runs: {@code pairs} pairs on each profile, each pair {@code minutes} of
   * conversations, {@code parallel} pairs at once.
   *
   * @param seed every pair's seed is derived from it, its profile's name and its number, so that a
   *     pair's seed does not depend on which other profiles run
   */
  public record LinkRuns(
      List<MobileLink.Profile> profiles,
      int pairs,
      int minutes,
      int parallel,
      long seed,
      int timeoutMs) {

    /** The 2G profiles, where the target applies, and Edge-Lossy. */
    public static final String DEFAULT_PROFILES =
        "2G-DevelopingRural,2G-DevelopingUrban,Edge-Lossy";

    /** A send fails when it is not confirmed within this (the app's timeout, as in v1). */
    public static final int TIMEOUT_MS = 10_000;

    List<SessionBenchmark.LinkPair> pairList() {
      List<SessionBenchmark.LinkPair> list = new ArrayList<>();
      for (int i = 1; i <= pairs; i++) {
        for (MobileLink.Profile p : profiles) {
          long pairSeed = SessionBenchmark.mix(SessionBenchmark.mix(seed, p.name().hashCode()), i);
          list.add(new SessionBenchmark.LinkPair(p, i, pairSeed, minutes, timeoutMs));
        }
      }
      return list;
    }

    String options() {
      return String.format(
          " --profiles %s --pairs %d --link-minutes %d --parallel %d --seed %d",
          profiles.stream().map(MobileLink.Profile::name).collect(Collectors.joining(",")),
          pairs,
          minutes,
          parallel,
          seed);
    }
  }

  /** The target of issue 19 on the 2G profiles: push/pull send-failure ratio and its bound. */
  static final double TARGET_RATIO = 0.6;

  static final double TARGET_UPPER = 0.8;

  private final PrintStream out;
  private final Path dir;
  private final boolean quick;
  private final java.util.Set<Integer> parts;
  private final LinkRuns links;

  public ResultsBenchmark(
      PrintStream out, Path dir, boolean quick, java.util.Set<Integer> parts, LinkRuns links) {
    this.out = out;
    this.dir = dir;
    this.quick = quick;
    this.parts = parts;
    this.links = links;
  }

  public void run() throws Exception {
    Files.createDirectories(dir);
    Instant started = Instant.now();
    StringBuilder md = new StringBuilder();
    List<String> pngs = new ArrayList<>();
    md.append("# Push versus pull: results of one run\n\n");
    md.append(
        String.format(
            "Run %s on %d cores, %s; `./iris bench results%s --parts %s%s`.%n%n",
            started,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
            quick ? " --quick" : "",
            parts.stream().sorted().map(String::valueOf).collect(Collectors.joining(",")),
            parts.contains(3) ? links.options() : ""));

    Targets targets = new Targets();
    if (parts.contains(1)) {
      out.println("results: 1/5 payload sizes");
      payloads(md, PayloadSizes.measure(10_000, 5), targets, pngs);
    }
    List<Scenario> scenarios = new ArrayList<>();
    if (parts.contains(2)) {
      scenarios.add(session(quick ? 500 : 1000));
    }
    List<SessionBenchmark.LinkPair> pairs =
        parts.contains(3) ? links.pairList() : List.<SessionBenchmark.LinkPair>of();
    if (!scenarios.isEmpty() || !pairs.isEmpty()) {
      out.printf(
          "results: 2/5 and 3/5 sessions, push and pull phones side by side (%d paired runs, %d at"
              + " a time)%n",
          pairs.size(), links.parallel());
      SessionBenchmark.Runs runs =
          new SessionBenchmark(out).run(scenarios, pairs, links.parallel());
      for (SessionBenchmark.Result r : runs.sessions()) {
        bytes(md, r, targets, pngs);
      }
      if (parts.contains(3)) {
        linkFailures(md, runs.pairs(), runs.failed(), targets, pngs);
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
    List<SessionBenchmark.PhoneResult> phones = List.of(r.push(), r.pull(), r.modern());
    md.append("## 2. Non-media bytes on the wire per delivered message\n\n");
    md.append(
        String.format(
            "One user, %d threads with %d messages of history each, %d simulated minutes (1 minute = %d ms), about %.1f incoming messages and %.2f sends a minute, offline from minute %d to %d. Three phones at once on the same schedule, each through byte-counting proxies: everything on the wire is counted (TLS handshakes and records, MQTT framing and acks, HTTP headers, the notification socket). All start with the same content: push takes a snapshot, the pull phones load the inbox and a 20-message page of every thread; that is reported apart. The 2014 pull phone then fetches the thread's latest 20-message page per notification; the modern one fetches only the messages sent or changed after its change cursor in the thread (`?after=`), gzipped; both keep HTTP/1.1 connections alive. Messages change too: after %.0f%% of the incoming messages its sender edits the thread's previous one, after %.0f%% the other friend reacts to it (each change a delta to push, a notification and a fetch to pull); the bytes they cost are in the session's, the denominator stays messages.%n%n",
            s.threads(),
            s.history(),
            s.minutes(),
            s.msPerMinute(),
            s.incomingPerMinute(),
            s.sendsPerMinute(),
            s.offlineFrom(),
            s.offlineTo(),
            100 * SessionBenchmark.EDITED_SHARE,
            100 * SessionBenchmark.REACTED_SHARE));
    md.append(
        "| | push (MQTT + Thrift, TLS) | pull, 2014 (notification + HTTPS GET 20-message pages) | pull, modern (notification + HTTPS GET after cursor, gzip) |\n|---|---:|---:|---:|\n");
    row(md, "initial load, bytes", phones, SessionBenchmark.PhoneResult::initialBytes);
    row(md, "session bytes, phone to server", phones, SessionBenchmark.PhoneResult::sessionBytesUp);
    row(
        md,
        "session bytes, server to phone",
        phones,
        SessionBenchmark.PhoneResult::sessionBytesDown);
    md.append("| messages delivered (incoming / own confirmed) |");
    for (SessionBenchmark.PhoneResult p : phones) {
      md.append(
          String.format(
              " %d / %d of %d / %d |",
              p.incomingDelivered(), p.confirmed(), p.incomingExpected(), p.sends()));
    }
    md.append(
        String.format(
            "%n| edits and reactions of messages it holds, seen (of %d made) |", r.changesMade()));
    for (SessionBenchmark.PhoneResult p : phones) {
      md.append(String.format(" %d |", p.changesSeen()));
    }
    md.append("\n| **bytes per delivered message** |");
    for (SessionBenchmark.PhoneResult p : phones) {
      md.append(String.format(" **%.0f** |", p.bytesPerDelivered()));
    }
    md.append("\n");
    row(md, "TCP connections made", phones, SessionBenchmark.PhoneResult::connections);
    md.append("\n");
    for (SessionBenchmark.PhoneResult baseline : List.of(r.pull(), r.modern())) {
      double cut = 1 - r.push().bytesPerDelivered() / baseline.bytesPerDelivered();
      t.add(
          "non-media bytes per delivered message >= 60% below "
              + (baseline == r.pull() ? "pull (2014: pages)" : "pull (modern: cursor, gzip)"),
          String.format(
              "%.0f%% below (%.0f vs %.0f B)",
              100 * cut, r.push().bytesPerDelivered(), baseline.bytesPerDelivered()),
          cut >= 0.60,
          String.format("by %.0f points", 60 - 100 * cut));
    }
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
                "pull 2014: HTTPS GET 20-message pages",
                r.pull().bytesPerDelivered(),
                PngChart.PULL,
                String.format("%.0f B", r.pull().bytesPerDelivered())),
            new PngChart.Bar(
                "pull modern: GET after cursor, gzip",
                r.modern().bytesPerDelivered(),
                PngChart.REFERENCE,
                String.format("%.0f B", r.modern().bytesPerDelivered()))),
        r.pull().bytesPerDelivered() * 0.4,
        "target: 60% below pull (2014)",
        pngs);
  }

  private static void row(
      StringBuilder md,
      String name,
      List<SessionBenchmark.PhoneResult> phones,
      java.util.function.ToLongFunction<SessionBenchmark.PhoneResult> f) {
    md.append("| ").append(name).append(" |");
    for (SessionBenchmark.PhoneResult p : phones) {
      md.append(String.format(" %,d |", f.applyAsLong(p)));
    }
    md.append("\n");
  }

  /** The phones of a paired run, in the report's column order. */
  private static final List<
          java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone>>
      PHONES =
          List.of(
              SessionBenchmark.PairResult::push,
              SessionBenchmark.PairResult::pull,
              SessionBenchmark.PairResult::modern);

  /**
   * Part 3: per profile, push and pull failures in paired runs, the push/pull ratio with its 95%
   * interval (a cluster bootstrap, {@link PairedStats}), per send and per session, against both
   * pull phones, and what the links did.
   */
  private void linkFailures(
      StringBuilder md,
      List<SessionBenchmark.PairResult> results,
      List<String> broken,
      Targets t,
      List<String> pngs)
      throws IOException {
    md.append("## 3. Send failures on mobile links: paired runs\n\n");
    md.append(
        String.format(
            "Each pair is three people living the same %d minutes of conversations (bursts of 4 to 12 messages on one thread, either side writing, separated by idle gaps of 1 minute plus an exponential part of mean 2: `Conversations`): one with a push phone (the SDK over MQTT/TLS), one with a pull phone as the 2014 app was (a notification socket, then an HTTPS GET of a 20-message JSON page per notification) and one with a modern pull phone (the same socket, then an HTTPS GET of the messages after its cursor, gzipped). Both pull phones send by HTTPS POST, retried with backoff on the same client id until the timeout, over kept-alive connections. Each phone reaches the server through one emulated radio link (`MobileLink`) of the profile for all its connections; the links of a pair have the same outages at the same moments (fades, network changes, NAT deaths: a seeded schedule starting %d s after the links, once the phones have loaded), other random draws apart. On a network change the link tells each phone, as its OS would: push calls `IrisDevice.networkChanged()`, a pull phone drops its notification socket, reconnects at once and reloads the inbox. Every pair has its own seed. A send **fails** when the app has not seen it confirmed %d s after the user pressed send.%n%n",
            links.minutes(), SessionBenchmark.LOAD_MS / 1000, links.timeoutMs() / 1000));
    md.append(
        String.format(
            "Statistics: failures cluster by outage, so sends are not independent trials. The unit is a conversation of a pair (a session of the person: its sends are close in time, the next conversation minutes away), paired (the phones saw the same outages). 95%% intervals are percentile intervals of a two-stage cluster bootstrap (%,d replicates: pairs with replacement, then each drawn pair's conversations with replacement; wide when pairs are few, and meaningless when failures fall in fewer than %d conversations: then every replicate draws the same few, and the target is reported not measurable). Per person: the share of sessions with at least one failed send (Facebook's count of people who hit a send error). The target (push/pull ratio at most %.1f, 95%% upper bound below %.1f) applies to the 2G profiles, against the 2014 pull phone.%n%n",
            PairedStats.REPLICATES, PairedStats.MIN_FAILING_CLUSTERS, TARGET_RATIO, TARGET_UPPER));
    Map<String, List<SessionBenchmark.PairResult>> byProfile = new java.util.LinkedHashMap<>();
    for (MobileLink.Profile p : links.profiles()) {
      byProfile.put(p.name(), new ArrayList<>());
    }
    for (SessionBenchmark.PairResult r : results) {
      byProfile.get(r.pair().profile().name()).add(r);
    }
    md.append(
        "| profile | pairs | sends per phone | failed push / pull / modern pull | conversations with a failure (push or 2014 pull) | **push/pull per send (95%)** | push/modern pull per send (95%) | sessions with a failure push / pull / modern of all | push/pull per session (95%) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    Map<String, PairedStats.Summary[]> summaries = new java.util.LinkedHashMap<>();
    for (var e : byProfile.entrySet()) {
      PairedStats.Summary vsPull = PairedStats.of(clusters(e.getValue(), PHONES.get(1)), 1);
      PairedStats.Summary vsModern = PairedStats.of(clusters(e.getValue(), PHONES.get(2)), 1);
      summaries.put(e.getKey(), new PairedStats.Summary[] {vsPull, vsModern});
      md.append(
          String.format(
              "| %s | %d | %d | %d / %d / %d | %d | **%s** | %s | %d / %d / %d of %d | %s |%n",
              e.getKey(),
              vsPull.pairs(),
              vsPull.sends(),
              vsPull.failedA(),
              vsPull.failedB(),
              vsModern.failedB(),
              vsPull.failingClusters(),
              ratio(vsPull.ratio()),
              ratio(vsModern.ratio()),
              vsPull.sessionsFailedA(),
              vsPull.sessionsFailedB(),
              vsModern.sessionsFailedB(),
              vsPull.sessions(),
              ratio(vsPull.sessionRatio())));
    }
    md.append("\n");
    if (!broken.isEmpty()) {
      md.append("Pairs that broke and are not counted: ")
          .append(String.join("; ", broken))
          .append(".\n\n");
    }
    int n = 0;
    for (var e : byProfile.entrySet()) {
      n++;
      List<SessionBenchmark.PairResult> rs = e.getValue();
      PairedStats.Summary s = summaries.get(e.getKey())[0];
      PairedStats.Summary m = summaries.get(e.getKey())[1];
      MobileLink.Profile profile = MobileLink.Profile.byName(e.getKey());
      md.append(String.format("## 3.%d %s%n%n", n, e.getKey()));
      md.append("Link: ").append(profile.describe()).append(".\n\n");
      if (rs.isEmpty()) {
        md.append("No pair ran.\n\n");
        continue;
      }
      md.append(
          "| | push (SDK over MQTT) | pull, 2014 (pages) | pull, modern (cursor, gzip) |\n|---|---:|---:|---:|\n");
      md.append(
          String.format(
              "| pairs / conversations / sends per phone | %d / %d / %d | | |%n",
              s.pairs(), s.clusters(), s.sends()));
      md.append(
          String.format(
              "| **failed sends (not confirmed within %d s)** | **%d (%s)** | **%d (%s)** | %d (%s) |%n",
              links.timeoutMs() / 1000,
              s.failedA(),
              pct(s.rateA()),
              s.failedB(),
              pct(s.rateB()),
              m.failedB(),
              pct(m.rateB())));
      md.append(
          String.format(
              "| **push/pull ratio, per send** | | **%s** | %s |%n",
              ratio(s.ratio()), ratio(m.ratio())));
      md.append(
          String.format(
              "| sessions with at least one failed send, of %d | %d (%s) | %d (%s) | %d (%s) |%n",
              s.sessions(),
              s.sessionsFailedA(),
              pct(s.sessionShareA()),
              s.sessionsFailedB(),
              pct(s.sessionShareB()),
              m.sessionsFailedB(),
              pct(m.sessionShareB())));
      md.append(
          String.format(
              "| push/pull ratio, per session | | %s | %s |%n",
              ratio(s.sessionRatio()), ratio(m.sessionRatio())));
      List<long[]> causes = PHONES.stream().map(f -> causes(rs, f)).toList();
      row3(
          md,
          "failed sends by the outage they fell in: network change / fade / NAT death / none",
          causes.stream().map(ResultsBenchmark::joined).toList());
      row3(
          md,
          "confirmation time p50 / p90 / max of confirmed sends",
          PHONES.stream().map(f -> lat(merged(rs, f))).toList());
      row3(
          md,
          "incoming messages delivered",
          PHONES.stream()
              .map(
                  f ->
                      sum(rs, f, x -> x.incomingDelivered())
                          + " of "
                          + sum(rs, f, x -> x.incomingExpected()))
              .toList());
      row3(
          md,
          "initial load, bytes per phone (mean)",
          PHONES.stream()
              .map(f -> String.format("%,d", sum(rs, f, x -> x.initialBytes()) / rs.size()))
              .toList());
      row3(
          md,
          "session bytes per delivered message",
          PHONES.stream().map(f -> String.format("%,.0f", perDelivered(rs, f))).toList());
      row3(
          md,
          "link: connects / refused (no network) / timed out (every SYN lost)",
          PHONES.stream()
              .map(
                  f ->
                      sum(rs, f, x -> x.link().connections())
                          + " / "
                          + sum(rs, f, x -> x.link().refused())
                          + " / "
                          + sum(rs, f, x -> x.link().timedOut()))
              .toList());
      row3(
          md,
          "link: connections reset by network changes / blackholed by NAT deaths",
          PHONES.stream()
              .map(
                  f ->
                      sum(rs, f, x -> x.link().resets())
                          + " / "
                          + sum(rs, f, x -> x.link().blackholes()))
              .toList());
      row3(
          md,
          "link: stalls by loss / buffer overflow / fade, radio wake-ups, jitter spikes",
          PHONES.stream()
              .map(
                  f ->
                      String.format(
                          "%d / %d / %d, %d, %d",
                          sum(rs, f, x -> x.link().lossStalls()),
                          sum(rs, f, x -> x.link().overflowStalls()),
                          sum(rs, f, x -> x.link().fadeStalls()),
                          sum(rs, f, x -> x.link().wakeUps()),
                          sum(rs, f, x -> x.link().jitterSpikes())))
              .toList());
      long fades = 0;
      long changes = 0;
      long nats = 0;
      for (SessionBenchmark.PairResult r : rs) {
        fades += r.schedule().count(MobileLink.Outage.Kind.FADE);
        changes += r.schedule().count(MobileLink.Outage.Kind.NETWORK_CHANGE);
        nats += r.schedule().count(MobileLink.Outage.Kind.NAT_DEATH);
      }
      md.append(
          String.format(
              "| outages, the same for all three: fades / network changes / NAT deaths | %d / %d / %d | | |%n%n",
              fades, changes, nats));
      md.append(
          "Seeds (`--seed` derives them): "
              + rs.stream()
                  .map(r -> "#" + r.pair().index() + " " + r.pair().seed())
                  .collect(Collectors.joining(", "))
              + ".\n\n");
      if (e.getKey().startsWith("2G")) {
        target(t, e.getKey(), s, causes.get(0), causes.get(1));
      }
      double pushRate = 100 * s.rateA().estimate();
      double pullRate = 100 * s.rateB().estimate();
      double modernRate = 100 * m.rateB().estimate();
      png(
          "failures-" + e.getKey() + ".png",
          "Sends not confirmed in " + links.timeoutMs() / 1000 + " s: " + e.getKey(),
          "%",
          List.of(
              new PngChart.Bar(
                  "push (SDK over MQTT)",
                  pushRate,
                  PngChart.PUSH,
                  String.format("%d of %d (%s)", s.failedA(), s.sends(), pct(s.rateA()))),
              new PngChart.Bar(
                  "pull 2014 (pages)",
                  pullRate,
                  PngChart.PULL,
                  String.format("%d of %d (%s)", s.failedB(), s.sends(), pct(s.rateB()))),
              new PngChart.Bar(
                  "pull modern (cursor, gzip)",
                  modernRate,
                  PngChart.REFERENCE,
                  String.format("%d of %d (%s)", m.failedB(), m.sends(), pct(m.rateB())))),
          pullRate * TARGET_RATIO,
          "target: push/pull (2014) at most " + TARGET_RATIO,
          pngs);
    }
  }

  private static void row3(StringBuilder md, String name, List<String> cells) {
    md.append("| ").append(name).append(" | ").append(String.join(" | ", cells)).append(" |\n");
  }

  private static void target(
      Targets t, String profile, PairedStats.Summary s, long[] pushCauses, long[] pullCauses) {
    PairedStats.Interval r = s.ratio();
    String measured =
        String.format(
            "%s; push %d, pull %d failed of %d sends in %d pairs",
            ratio(r), s.failedA(), s.failedB(), s.sends(), s.pairs());
    boolean enough = s.failingClusters() >= PairedStats.MIN_FAILING_CLUSTERS;
    boolean met = enough && r.estimate() <= TARGET_RATIO && r.high() < TARGET_UPPER;
    String why;
    if (Double.isNaN(r.estimate())) {
      why = "not measurable: no send failed on either phone";
    } else if (!enough) {
      why =
          String.format(
              "not measurable yet: failures in %d conversations, fewer than %d; run more pairs",
              s.failingClusters(), PairedStats.MIN_FAILING_CLUSTERS);
    } else {
      List<String> by = new ArrayList<>();
      if (!(r.estimate() <= TARGET_RATIO)) {
        by.add(
            String.format(
                "the ratio is %.2f above %.1f", r.estimate() - TARGET_RATIO, TARGET_RATIO));
      }
      if (!(r.high() < TARGET_UPPER)) {
        by.add(
            String.format(
                "the upper bound is %.2f above %.1f", r.high() - TARGET_UPPER, TARGET_UPPER));
      }
      int dominant = 0;
      for (int i = 1; i < pushCauses.length; i++) {
        if (pushCauses[i] + pullCauses[i] > pushCauses[dominant] + pullCauses[dominant]) {
          dominant = i;
        }
      }
      why =
          String.join(", ", by)
              + String.format(
                  "; most failures fell in %s (push %d, pull %d)",
                  CAUSES[dominant], pushCauses[dominant], pullCauses[dominant]);
    }
    t.add(
        String.format(
            "push/pull send-failure ratio <= %.1f, 95%% upper bound < %.1f (%s, 2014 pull)",
            TARGET_RATIO, TARGET_UPPER, profile),
        measured,
        met,
        why);
  }

  /** One cluster per conversation of each pair: its sends, push's failures and {@code b}'s. */
  static List<PairedStats.Cluster> clusters(
      List<SessionBenchmark.PairResult> results,
      java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone> b) {
    List<PairedStats.Cluster> clusters = new ArrayList<>();
    int pair = 0;
    for (SessionBenchmark.PairResult r : results) {
      Map<Integer, int[]> byConversation = new java.util.TreeMap<>();
      List<SessionBenchmark.Send> push = r.push().sends();
      List<SessionBenchmark.Send> other = b.apply(r).sends();
      for (int i = 0; i < push.size(); i++) {
        int[] c = byConversation.computeIfAbsent(push.get(i).conversation(), k -> new int[3]);
        c[0]++;
        c[1] += push.get(i).failed() ? 1 : 0;
        c[2] += other.get(i).failed() ? 1 : 0;
      }
      for (int[] c : byConversation.values()) {
        clusters.add(new PairedStats.Cluster(pair, c[0], c[1], c[2]));
      }
      pair++;
    }
    return clusters;
  }

  static final String[] CAUSES = {"network changes", "fades", "NAT deaths", "no outage"};

  /**
   * What a send pressed at {@code pressedMs} (on the schedule's clock) fell in: 0, a network change
   * overlapping its timeout or the 5 s before it; 1, a fade likewise; 2, a NAT death earlier with
   * no network change since (a blackholed connection stays so until someone notices); 3, none of
   * them (loss, queueing, wake-up, the protocol itself).
   */
  static int cause(MobileLink.Schedule s, long pressedMs, long timeoutMs) {
    long from = pressedMs - 5_000;
    long to = pressedMs + timeoutMs;
    boolean fade = false;
    long lastChange = Long.MIN_VALUE;
    long lastNat = Long.MIN_VALUE;
    for (MobileLink.Outage o : s.outages()) {
      boolean overlaps = o.atMs() <= to && o.atMs() + o.forMs() >= from;
      switch (o.kind()) {
        case NETWORK_CHANGE -> {
          if (overlaps) {
            return 0;
          }
          if (o.atMs() <= pressedMs) {
            lastChange = o.atMs();
          }
        }
        case FADE -> fade |= overlaps;
        case NAT_DEATH -> {
          if (o.atMs() <= pressedMs) {
            lastNat = o.atMs();
          }
        }
      }
    }
    if (fade) {
      return 1;
    }
    return lastNat > lastChange ? 2 : 3;
  }

  private static long[] causes(
      List<SessionBenchmark.PairResult> rs,
      java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone> phone) {
    long[] counts = new long[CAUSES.length];
    for (SessionBenchmark.PairResult r : rs) {
      for (SessionBenchmark.Send x : phone.apply(r).sends()) {
        if (x.failed()) {
          counts[cause(r.schedule(), x.pressedMs(), r.pair().timeoutMs())]++;
        }
      }
    }
    return counts;
  }

  private static String joined(long[] v) {
    return java.util.Arrays.stream(v).mapToObj(Long::toString).collect(Collectors.joining(" / "));
  }

  private static long sum(
      List<SessionBenchmark.PairResult> rs,
      java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone> phone,
      java.util.function.ToLongFunction<SessionBenchmark.LinkPhone> f) {
    return rs.stream().mapToLong(r -> f.applyAsLong(phone.apply(r))).sum();
  }

  private static double perDelivered(
      List<SessionBenchmark.PairResult> rs,
      java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone> phone) {
    long bytes = sum(rs, phone, SessionBenchmark.LinkPhone::sessionBytes);
    long delivered = sum(rs, phone, x -> x.incomingDelivered() + x.sends().size() - x.failed());
    return bytes / (double) Math.max(1, delivered);
  }

  private static long[] merged(
      List<SessionBenchmark.PairResult> rs,
      java.util.function.Function<SessionBenchmark.PairResult, SessionBenchmark.LinkPhone> phone) {
    return rs.stream()
        .flatMapToLong(r -> java.util.Arrays.stream(phone.apply(r).latencies()))
        .sorted()
        .toArray();
  }

  /** A share with its interval, in percent. */
  private static String pct(PairedStats.Interval i) {
    if (Double.isNaN(i.estimate())) {
      return "-";
    }
    return String.format(
        "%.1f%%; 95%% %.1f–%.1f%%", 100 * i.estimate(), 100 * i.low(), 100 * i.high());
  }

  /** A ratio with its interval. */
  static String ratio(PairedStats.Interval i) {
    if (Double.isNaN(i.estimate())) {
      return "- (no failure either side)";
    }
    return String.format("%s (95%% %s–%s)", num(i.estimate()), num(i.low()), num(i.high()));
  }

  private static String num(double v) {
    if (Double.isNaN(v)) {
      return "?";
    }
    return Double.isInfinite(v) ? "∞" : String.format("%.2f", v);
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
