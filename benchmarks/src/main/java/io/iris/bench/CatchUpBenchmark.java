package io.iris.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.bridge.BridgeConfig;
import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.LogLayout;
import io.iris.bridge.down.UserLogs;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.ConnectClient;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice;
import io.iris.storage.DeltaHistory;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * Catch-up latency against the budgets of issue 15, "from a device's sync request to its last delta
 * applied", per tier of the bridge's catch-up, on a fresh embedded stack (all parts in this JVM):
 *
 * <ul>
 *   <li>a device back after an hour: 60 deltas missed, budget 50 ms;
 *   <li>back after a day: 1,440 deltas missed, budget 150 ms;
 *   <li>a new device of a busy user, from the user's first delta (600 deltas), budget 100 ms.
 * </ul>
 *
 * Each scenario is measured three times, each on a user of its own set up so that one tier must
 * serve it: <b>memory</b> (the user's deltas are the newest the bridge read, and the bench raises
 * {@code mqtt.tier1.deltas.per.user} so that its memory holds all of them), <b>MySQL</b> (the sink
 * stored the user's deltas, then more users were written than {@code mqtt.tier1.users} keeps, so
 * memory dropped them) and <b>iris.log</b> (the sink was stopped before the user's deltas were
 * written, and memory dropped them too). Every measured user has a partition of iris.log of its own
 * and shares it with {@code other} deltas of other users per delta of its own, interleaved in write
 * order (its threads and its neighbours' share one iris.commands partition, so one stream task
 * writes them in the order produced): the log tier reads them all.
 *
 * <p>The history is produced straight into iris.commands (as the streams and sink benchmarks do);
 * the streams app turns it into deltas. A device is the SDK's {@link IrisDevice}, opened at its
 * position with {@link IrisDevice.Builder#lastPos}; the clock starts when its connection is up (the
 * SDK sends the SyncRequest right then) and stops when the listener is handed the last delta. Tiers
 * that answered, deltas and iris.log records read are the bridge's own catch-up counters. (It
 * measured the SDK's socket with and without Nagle's algorithm until the SDK turned it off itself:
 * 40 ms per follow-up page.)
 *
 * <p>Where the time goes, in the same run: the bridge's first answer computed in process (no MQTT),
 * a one-delta catch-up from memory (the edge's fixed cost), devices of the log tier back to back,
 * and the references: a plain KafkaConsumer reading the same span of the same partition, a MySQL
 * primary-key range read of the same rows, the storage pointer's read, the bridge's own MySQL reads
 * without MQTT and the COUNT of the resnapshot estimate.
 */
public final class CatchUpBenchmark {
  private static final long FIRST_USER = 61_000_000_000L;
  private static final long FIRST_THREAD = 7_100_000_000_000L;
  private static final String DEVICE = "bench";
  private static final int NEIGHBOURS = 4;
  private static final int TEXT_BYTES = 40;

  /** A budget of issue 15: {@code before} deltas the device held, then {@code missed}. */
  record Scenario(String key, String title, int before, int missed, double budgetMs) {
    int total() {
      return before + missed;
    }
  }

  static final List<Scenario> SCENARIOS =
      List.of(
          new Scenario("hour", "back after an hour, 60 missed", 20, 60, 50),
          new Scenario("day", "back after a day, 1,440 missed", 20, 1440, 150),
          new Scenario("new", "new device of a busy user, 600 from its first", 0, 600, 100));

  enum Tier {
    MEMORY("memory"),
    STORAGE("MySQL"),
    LOG("iris.log");

    final String label;

    Tier(String label) {
      this.label = label;
    }
  }

  /** One measured user: a scenario served by a tier. */
  static final class Cell {
    final Scenario scenario;
    final Tier tier;
    final long user;
    final int partition;
    long peer;
    long thread;
    final long[] neighbours = new long[NEIGHBOURS];
    final long[] partners = new long[NEIGHBOURS];
    final long[] neighbourThreads = new long[NEIGHBOURS];
    String token;
    final List<Long> positions = new ArrayList<>();
    long partitionEnd;
    final List<Run> runs = new ArrayList<>();

    Cell(Scenario scenario, Tier tier, long user, int partition) {
      this.scenario = scenario;
      this.tier = tier;
      this.user = user;
      this.partition = partition;
    }

    /** The device's position: the last delta it held, -1 for a new device. */
    long start() {
      return scenario.before() == 0 ? -1 : positions.get(scenario.before() - 1);
    }

    long target() {
      return positions.get(positions.size() - 1);
    }

    String name() {
      return scenario.key() + "/" + tier.label;
    }
  }

  /** One catch-up as the device saw it and as the bridge's counters counted it. */
  record Run(
      double ms,
      double firstMs,
      int batches,
      long deltas,
      boolean chained,
      long memoryAnswers,
      long storageAnswers,
      long logAnswers,
      long logRecordsRead,
      long resnapshotOffers) {}

  private final PrintStream out;
  private final int runs;
  private final int warmup;
  private final int other;
  private final Map<String, String> overrides;

  private final Map<Integer, Long> expected = new HashMap<>();
  private final Map<Long, Cell> byUser = new HashMap<>();
  private final FrameCodec codec = FrameCodec.defaults();
  private long nextThread = FIRST_THREAD;
  private long nextClientId;
  private int commandsPartitions;
  private int outside;

  /**
   * @param runs measured catch-ups per scenario and tier
   * @param warmup unmeasured catch-ups per scenario and tier first (the JIT, the catch-up pool's
   *     consumers and connections)
   * @param other deltas of other users in the measured user's partition per delta of its own
   * @param overrides stack settings for this run
   */
  public CatchUpBenchmark(
      PrintStream out, int runs, int warmup, int other, Map<String, String> overrides) {
    this.out = out;
    this.runs = runs;
    this.warmup = warmup;
    this.other = other;
    this.overrides = overrides;
  }

  public void run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-catchup");
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    // Memory must be able to hold a day of one user (the memory tier's cells), and be small
    // enough in users that the bench can make it drop the users of the other tiers.
    c.put(BridgeConfig.MQTT_TIER1_DELTAS_PER_USER_CONFIG, "2048");
    c.put(BridgeConfig.MQTT_TIER1_USERS_CONFIG, "200");
    c.putAll(overrides);
    StringBuilder table = new StringBuilder();
    try (IrisStack stack = new IrisStack(new IrisConfig(c))) {
      stack.preflight();
      stack.start(line -> out.println("bench: up  " + line));
      measure(stack, table);
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
    out.println();
    out.print(table);
  }

  private void measure(IrisStack stack, StringBuilder table) throws Exception {
    LogLayout layout = stack.bridge().layout();
    commandsPartitions = stack.config().getInt(IrisConfig.TOPICS_COMMANDS_PARTITIONS_CONFIG);
    int tier1Users = stack.bridge().config().getInt(BridgeConfig.MQTT_TIER1_USERS_CONFIG);
    int tier1PerUser =
        stack.bridge().config().getInt(BridgeConfig.MQTT_TIER1_DELTAS_PER_USER_CONFIG);
    int cellsNeeded = SCENARIOS.size() * Tier.values().length;
    if (layout.partitions() < cellsNeeded + 1) {
      throw new IllegalStateException(
          "bench catchup needs iris.log with at least "
              + (cellsNeeded + 1)
              + " partitions (a partition per measured user and one for everyone else), has "
              + layout.partitions());
    }
    // Users: one per partition for the measured ones, the rest in the partition left over.
    Map<Integer, List<Long>> usersOf = new HashMap<>();
    int fillerThreads = tier1Users + 100;
    for (long u = FIRST_USER; !enough(usersOf, 2 * fillerThreads); u++) {
      usersOf.computeIfAbsent(layout.partitionOf(u), k -> new ArrayList<>()).add(u);
    }
    outside = cellsNeeded;
    List<Long> outsiders = new ArrayList<>(usersOf.get(outside));
    List<Cell> cells = new ArrayList<>();
    int p = 0;
    int o = 0;
    for (Tier tier : Tier.values()) {
      for (Scenario s : SCENARIOS) {
        List<Long> mine = usersOf.get(p);
        Cell cell = new Cell(s, tier, mine.get(0), p);
        cell.peer = outsiders.get(o++);
        for (int i = 0; i < NEIGHBOURS; i++) {
          cell.neighbours[i] = mine.get(1 + i);
          cell.partners[i] = outsiders.get(o++);
        }
        cells.add(cell);
        byUser.put(cell.user, cell);
        p++;
      }
    }
    List<Long> fillers = outsiders.subList(o, o + 2 * fillerThreads);

    out.printf("bench: registering %d devices%n", cells.size());
    int known = stack.devices().size();
    List<Map.Entry<Long, String>> ids = new ArrayList<>();
    for (Cell cell : cells) {
      ids.add(Map.entry(cell.user, DEVICE));
    }
    List<String> tokens = DeviceRegistry.registerAll(stack.bootstrapServers(), ids);
    for (int i = 0; i < cells.size(); i++) {
      cells.get(i).token = tokens.get(i);
    }
    awaitTrue("devices registered", 30, () -> stack.devices().size() >= known + cells.size());

    try (KafkaProducer<Long, byte[]> producer = producer(stack.bootstrapServers());
        KafkaConsumer<Long, byte[]> reader = reader(stack.bootstrapServers());
        Admin admin = Admin.create(stack.adminConfig())) {
      reader.assign(partitions(layout.partitions()));
      reader.seekToBeginning(reader.assignment());
      // 1. MySQL's users, with the sink running; wait until it stored them.
      long t0 = System.nanoTime();
      phase(producer, reader, stack, tierCells(cells, Tier.STORAGE), "MySQL tier (sink running)");
      out.println("bench: waiting for the sink to store them (storage pointer at the end)");
      Map<Integer, Long> ends = endOffsets(reader, layout.partitions());
      awaitTrue(
          "the sink at the end of iris.log",
          180,
          () -> {
            Map<Integer, Long> committed = sinkCommitted(admin);
            for (Cell cell : tierCells(cells, Tier.STORAGE)) {
              // The last offset is the last transaction's commit marker, never consumed.
              if (committed.getOrDefault(cell.partition, 0L) < ends.get(cell.partition) - 1) {
                return false;
              }
            }
            return true;
          });
      // 2. The sink stops: what follows is only in iris.log (and memory).
      out.println("bench: stopping the MySQL sink (the storage pointer stays where it is)");
      ConnectClient connect = new ConnectClient(stack.connectUrl());
      connect.stop(Names.SINK_CONNECTOR);
      connect.awaitStopped(Names.SINK_CONNECTOR, Duration.ofSeconds(60));
      phase(producer, reader, stack, tierCells(cells, Tier.LOG), "iris.log tier (sink stopped)");
      // 3. More users than memory keeps: the users so far drop out of memory.
      out.printf(
          "bench: %,d threads of other users: memory (%,d users) drops the users so far%n",
          fillers.size() / 2, tier1Users);
      for (int i = 0; i + 1 < fillers.size(); i += 2) {
        create(producer, fillers.get(i), fillers.get(i + 1), thread(-1));
        expect(outside, 2);
      }
      producer.flush();
      awaitLog(reader, stack);
      // 4. Memory's users last: the newest the bridge read.
      phase(producer, reader, stack, tierCells(cells, Tier.MEMORY), "memory tier");
      Map<Integer, Long> stored = sinkCommitted(admin);
      Map<Integer, Long> endNow = endOffsets(reader, layout.partitions());
      for (Cell cell : cells) {
        cell.partitionEnd = endNow.get(cell.partition);
      }
      out.printf(
          "bench: history written in %.0f s: %,d deltas in iris.log%n",
          (System.nanoTime() - t0) / 1e9, endNow.values().stream().mapToLong(x -> x).sum());
      checkTiers(stack, cells, stored);

      // Warm-up, then the measured rounds: every cell once per round, in turn.
      Session session =
          new Session(
              stack.catchUp(), layout.epoch(), "tcp://127.0.0.1:" + stack.mqtt().settings().port());
      out.printf("bench: warm-up, %d unmeasured catch-ups per scenario and tier%n", warmup);
      for (int r = 0; r < warmup; r++) {
        for (Cell cell : cells) {
          catchUp(session, cell, cell.start(), true);
        }
      }
      out.printf("bench: %d measured rounds of %d catch-ups%n", runs, cells.size());
      for (int r = 0; r < runs; r++) {
        StringBuilder line = new StringBuilder();
        for (Cell cell : cells) {
          Run run = catchUp(session, cell, cell.start(), true);
          cell.runs.add(run);
          line.append(String.format(Locale.ROOT, " %s %.0f", cell.name(), run.ms()));
        }
        out.printf("bench:   round %2d/%d, ms:%s%n", r + 1, runs, line);
      }
      out.println("bench: the bridge's first answers in process, and references");
      String inProcess = inProcess(session, cells);
      List<String[]> refs = references(session, stack, admin, cells, stored);
      report(table, cells, inProcess, refs, tier1PerUser, tier1Users);
      chart(table, cells);
    }
  }

  /** The device side of the bench: the bridge's counters, the epoch and the edge's address. */
  private record Session(CatchUp counters, String epoch, String uri) {}

  /**
   * The bridge's own share of each cell: its answer to the device's first SyncRequest, computed in
   * this process (CatchUp's package-private answerSync, no MQTT and no device) and encoded.
   */
  private String inProcess(Session session, List<Cell> cells) throws Exception {
    java.lang.reflect.Method answer;
    try {
      answer = CatchUp.class.getDeclaredMethod("answerSync", long.class, SyncRequest.class);
      answer.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return String.format("%n(the bridge's answers in process: not measured, %s)%n", e);
    }
    StringBuilder t = new StringBuilder();
    t.append(
        String.format(
            "%nThe bridge's first answer carrying deltas to the device's SyncRequest, computed in"
                + " process (CatchUp.answerSync and the frame's encoding; no MQTT, no device), %d"
                + " runs after %d, one after another: ms p50 / p99 (bytes of the frame); where the"
                + " bridge offers a snapshot first, the time of that offer too (the device then"
                + " insists with force)%n%n",
            runs, warmup));
    t.append("| scenario |");
    for (Tier tier : Tier.values()) {
      t.append(' ').append(tier.label).append(" |");
    }
    t.append("\n|---|---:|---:|---:|\n");
    for (Scenario s : SCENARIOS) {
      t.append("| ").append(s.title()).append(" |");
      for (Tier tier : Tier.values()) {
        Cell cell = cell(cells, s.key(), tier);
        SyncRequest asked = new SyncRequest(session.epoch(), cell.start()).setMaxDeltas(500);
        ServerFrame first = (ServerFrame) answer.invoke(session.counters(), cell.user, asked);
        String offer = "";
        if (first.getBody().isSetResnapshotRequired()) {
          double[] ms = time(() -> answer.invoke(session.counters(), cell.user, asked));
          Arrays.sort(ms);
          offer =
              String.format(
                  Locale.ROOT,
                  "; snapshot offered first in %.1f / %.1f",
                  pct(ms, 0.5),
                  pct(ms, 0.99));
        }
        SyncRequest req = asked.deepCopy().setForce(!offer.isEmpty());
        int[] bytes = new int[1];
        double[] ms =
            time(
                () -> {
                  ServerFrame f = (ServerFrame) answer.invoke(session.counters(), cell.user, req);
                  bytes[0] = codec.encode(f).length;
                });
        Arrays.sort(ms);
        t.append(
            String.format(
                Locale.ROOT,
                " %.1f / %.1f (%,d B)%s |",
                pct(ms, 0.5),
                pct(ms, 0.99),
                bytes[0],
                offer));
      }
      t.append('\n');
    }
    return t.toString();
  }

  /** The references, measured in the same run on the same stack. */
  private List<String[]> references(
      Session session, IrisStack stack, Admin admin, List<Cell> cells, Map<Integer, Long> stored)
      throws Exception {
    List<String[]> refs = new ArrayList<>();
    Cell edgeCell = cell(cells, "hour", Tier.MEMORY);
    long oneBefore = edgeCell.positions.get(edgeCell.positions.size() - 2);
    List<Run> edge = new ArrayList<>();
    for (int r = 0; r < warmup + runs; r++) {
      Run run = catchUp(session, edgeCell, oneBefore, true);
      if (r >= warmup) {
        edge.add(run);
      }
    }
    refs.add(
        row(
            "catch-up of 1 delta from memory: the edge's fixed cost (MQTT, SDK, catch-up pool)",
            "1 delta",
            edge.stream().mapToDouble(Run::ms).toArray()));
    // Devices one after another, as when many reconnect: each next device connects as soon as
    // the one before is caught up (the catch-up pool's threads take turns).
    Cell burst = cell(cells, "hour", Tier.LOG);
    List<Run> burstRuns = new ArrayList<>();
    for (int r = 0; r < warmup + runs; r++) {
      Run run = catchUp(session, burst, burst.start(), false);
      if (r >= warmup) {
        burstRuns.add(run);
      }
    }
    refs.add(
        row(
            "hour/iris.log again, devices back to back (the next connects when the one before"
                + " is caught up)",
            String.format(
                "%,d deltas, %,.0f records",
                burst.scenario.missed(),
                burstRuns.stream().mapToLong(Run::logRecordsRead).average().orElse(0)),
            burstRuns.stream().mapToDouble(Run::ms).toArray()));
    try (KafkaConsumer<Long, byte[]> plain = reader(stack.bootstrapServers())) {
      for (Scenario s : SCENARIOS) {
        Cell cell = cell(cells, s.key(), Tier.LOG);
        long[] records = new long[1];
        double[] ms =
            time(
                () ->
                    records[0] =
                        readSpan(plain, cell.partition, cell.start() + 1, cell.partitionEnd));
        refs.add(
            row(
                "Kafka: a plain KafkaConsumer (read_committed, 500 a poll, fetch.max.wait.ms 0)"
                    + " seeks to the device's position and reads to the end of "
                    + s.key()
                    + "/iris.log's partition",
                String.format("%,d records", records[0]),
                ms));
      }
    }
    try (Connection jdbc = DriverManager.getConnection(stack.jdbcUrl(), "root", "")) {
      for (Scenario s : SCENARIOS) {
        Cell cell = cell(cells, s.key(), Tier.STORAGE);
        long[] rows = new long[1];
        double[] ms = time(() -> rows[0] = rangeRead(jdbc, cell.user, cell.start(), cell.target()));
        refs.add(
            row(
                "MySQL: a primary-key range read of the same rows (one query, plain JDBC); "
                    + s.key()
                    + "/MySQL's user",
                String.format("%,d rows", rows[0]),
                ms));
      }
    }
    refs.add(
        row(
            "the storage pointer, read as the bridge reads it (Admin: the sink group's committed"
                + " offsets; the bridge keeps one for 500 ms)",
            "1 request",
            time(() -> sinkCommitted(admin))));
    try (HikariDataSource ds = dataSource(stack.jdbcUrl())) {
      DeltaHistory history = new DeltaHistory(ds);
      int page = stack.bridge().config().getInt(BridgeConfig.MQTT_CATCHUP_MAX_DELTAS_CONFIG);
      for (Scenario s : SCENARIOS) {
        Cell cell = cell(cells, s.key(), Tier.STORAGE);
        long through = stored.get(cell.partition) - 1;
        long[] n = new long[2];
        double[] ms =
            time(
                () -> {
                  n[0] = 0;
                  n[1] = 0;
                  long after = cell.start();
                  while (true) {
                    history.countAfter(cell.user, after);
                    List<Delta> got = history.range(cell.user, after, through, page);
                    n[0] += got.size();
                    n[1]++;
                    if (got.size() < page) {
                      break;
                    }
                    after = got.get(got.size() - 1).getPos();
                  }
                });
        refs.add(
            row(
                "the bridge's MySQL reads for it, without MQTT (DeltaHistory: a COUNT and a "
                    + page
                    + "-row page per answer); "
                    + s.key()
                    + "/MySQL's user",
                String.format("%,d deltas, %d pages", n[0], n[1]),
                ms));
      }
      Cell day = cell(cells, "day", Tier.STORAGE);
      long[] count = new long[1];
      refs.add(
          row(
              "… of which the COUNT alone (the resnapshot estimate, made for every answer);"
                  + " day/MySQL's user from its position",
              "1 query",
              time(() -> count[0] = history.countAfter(day.user, day.start()))));
    }
    return refs;
  }

  private static boolean enough(Map<Integer, List<Long>> usersOf, int fillers) {
    int measured = SCENARIOS.size() * Tier.values().length;
    for (int p = 0; p < measured; p++) {
      if (usersOf.getOrDefault(p, List.of()).size() < 1 + NEIGHBOURS) {
        return false;
      }
    }
    // peers and partners of every cell, and the fillers that push them out of memory
    return usersOf.getOrDefault(measured, List.of()).size()
        >= measured * (1 + NEIGHBOURS) + fillers;
  }

  private static List<Cell> tierCells(List<Cell> cells, Tier tier) {
    return cells.stream().filter(c -> c.tier == tier).toList();
  }

  private static Cell cell(List<Cell> cells, String scenario, Tier tier) {
    return cells.stream()
        .filter(c -> c.tier == tier && c.scenario.key().equals(scenario))
        .findFirst()
        .orElseThrow();
  }

  /**
   * Produces the history of {@code cells}: for each, a thread of the user with a peer and {@code
   * NEIGHBOURS} threads of users of its partition with users outside it, all in one iris.commands
   * partition; then the user's messages, each followed by {@code other} messages of its neighbours.
   * Waits until iris.log holds them and the bridge has read them.
   */
  private void phase(
      KafkaProducer<Long, byte[]> producer,
      KafkaConsumer<Long, byte[]> reader,
      IrisStack stack,
      List<Cell> cells,
      String what)
      throws Exception {
    long deltas = 0;
    for (Cell cell : cells) {
      int cp = cell.partition % commandsPartitions;
      cell.thread = thread(cp);
      create(producer, cell.user, cell.peer, cell.thread);
      expect(cell.partition, 1);
      expect(outside, 1);
      for (int i = 0; i < NEIGHBOURS; i++) {
        cell.neighbourThreads[i] = thread(cp);
        create(producer, cell.neighbours[i], cell.partners[i], cell.neighbourThreads[i]);
        expect(cell.partition, 1);
        expect(outside, 1);
      }
      int k = 0;
      String text = "x".repeat(TEXT_BYTES);
      for (int m = 1; m < cell.scenario.total(); m++) {
        send(producer, m % 2 == 0 ? cell.user : cell.peer, cell.thread, text);
        expect(cell.partition, 1);
        expect(outside, 1);
        for (int j = 0; j < other; j++, k++) {
          int n = k % NEIGHBOURS;
          long from = (k / NEIGHBOURS) % 2 == 0 ? cell.neighbours[n] : cell.partners[n];
          send(producer, from, cell.neighbourThreads[n], text);
          expect(cell.partition, 1);
          expect(outside, 1);
        }
      }
      deltas += (long) cell.scenario.total() * (1 + other);
    }
    producer.flush();
    out.printf(
        "bench: %s: %d users, %,d deltas in their partitions (%d of other users per delta of"
            + " theirs)%n",
        what, cells.size(), deltas, other);
    awaitLog(reader, stack);
  }

  private long thread(int commandsPartition) {
    while (true) {
      long t = nextThread++;
      if (commandsPartition < 0
          || LogLayout.partitionOf(t, commandsPartitions) == commandsPartition) {
        return t;
      }
    }
  }

  private void expect(int partition, long n) {
    expected.merge(partition, n, Long::sum);
  }

  private void create(KafkaProducer<Long, byte[]> producer, long by, long with, long thread) {
    command(producer, by, thread, CommandBody.createThread(new CreateThread(List.of(with))));
  }

  private void send(KafkaProducer<Long, byte[]> producer, long by, long thread, String text) {
    command(producer, by, thread, CommandBody.sendMessage(new SendMessage(text)));
  }

  /** A command of {@code by} into {@code thread}, with a fresh client id, now. */
  private void command(KafkaProducer<Long, byte[]> producer, long by, long thread, CommandBody b) {
    ClientCommand c =
        new ClientCommand(by, "bench", "c" + nextClientId++, thread, System.currentTimeMillis(), b);
    StreamsBenchmark.produce(producer, c);
  }

  /**
   * Reads iris.log (read_committed) until every partition holds the deltas expected so far, noting
   * the positions of the measured users' deltas; then waits until the bridge's push path has read
   * to the end of every partition (its memory holds what it will hold).
   */
  private void awaitLog(KafkaConsumer<Long, byte[]> reader, IrisStack stack) throws Exception {
    Map<Integer, Long> seen = new HashMap<>();
    for (TopicPartition tp : reader.assignment()) {
      seen.put(tp.partition(), 0L);
    }
    seen.putAll(counted);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    long report = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!reached(seen)) {
      for (ConsumerRecord<Long, byte[]> r : reader.poll(Duration.ofMillis(200))) {
        seen.merge(r.partition(), 1L, Long::sum);
        Cell cell = r.key() == null ? null : byUser.get(r.key());
        if (cell != null) {
          cell.positions.add(r.offset());
        }
      }
      if (System.nanoTime() > report) {
        out.printf(
            "bench:   iris.log: %,d of %,d deltas%n",
            seen.values().stream().mapToLong(x -> x).sum(),
            expected.values().stream().mapToLong(x -> x).sum());
        report += TimeUnit.SECONDS.toNanos(5);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "iris.log did not get the deltas expected within 5 minutes: "
                + seen
                + " of "
                + expected);
      }
    }
    counted.putAll(seen);
    Map<Integer, Long> ends = endOffsets(reader, seen.size());
    UserLogs logs = stack.userLogs();
    awaitTrue(
        "the bridge at the end of iris.log",
        120,
        () -> {
          for (Map.Entry<Integer, Long> e : ends.entrySet()) {
            if (logs.readThrough(e.getKey()) < e.getValue()) {
              return false;
            }
          }
          return true;
        });
  }

  private final Map<Integer, Long> counted = new HashMap<>();

  private boolean reached(Map<Integer, Long> seen) {
    for (Map.Entry<Integer, Long> e : expected.entrySet()) {
      if (seen.getOrDefault(e.getKey(), 0L) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Says, before measuring, whether each user is where its tier needs it. */
  private void checkTiers(IrisStack stack, List<Cell> cells, Map<Integer, Long> stored) {
    UserLogs logs = stack.userLogs();
    for (Cell cell : cells) {
      if (cell.positions.size() != cell.scenario.total()) {
        throw new IllegalStateException(
            cell.name()
                + ": user "
                + cell.user
                + " has "
                + cell.positions.size()
                + " deltas in iris.log, expected "
                + cell.scenario.total());
      }
      long inMemory = logs.countAfter(cell.user, cell.partition, cell.start());
      long storedThrough = stored.getOrDefault(cell.partition, 0L) - 1;
      boolean ok =
          switch (cell.tier) {
            case MEMORY -> inMemory == cell.scenario.missed();
            case STORAGE -> inMemory < 0 && storedThrough >= cell.target();
            case LOG -> inMemory < 0 && storedThrough <= cell.start();
          };
      out.printf(
          "bench:   %-13s user %d, partition %d, positions %,d .. %,d (device at %,d), partition"
              + " end %,d, stored through %,d, memory %s%s%n",
          cell.name(),
          cell.user,
          cell.partition,
          cell.positions.get(0),
          cell.target(),
          cell.start(),
          cell.partitionEnd,
          storedThrough,
          inMemory < 0 ? "does not cover it" : "holds " + inMemory + " after it",
          ok ? "" : "  (NOT as this tier needs: see the tiers that answered)");
    }
  }

  /**
   * One catch-up: device {@code DEVICE} of the cell's user opened at {@code from}, timed from its
   * connection (the SDK sends its SyncRequest then) to the listener being handed {@code target}.
   */
  private Run catchUp(Session session, Cell cell, long from, boolean pause) throws Exception {
    CatchUp counters = session.counters();
    String epoch = session.epoch();
    String uri = session.uri();
    long target = cell.target();
    long[] before = counts(counters);
    Probe probe = new Probe(from, target);
    IrisDevice d =
        IrisDevice.builder()
            // Comparable with the figures before receipts (they add MarkDelivered commands).
            .deliveryReceipts(false)
            .serverUri(uri)
            .user(cell.user)
            .device(DEVICE)
            .token(cell.token)
            .lastPos(epoch, from)
            .listener(probe)
            .build();
    try {
      d.connect(Duration.ofSeconds(20));
      if (!probe.done.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(
            cell.name() + ": the device did not reach position " + target + " within 60 s");
      }
      if (pause) {
        // Let the answer that follows the last delta (e.g. memory after MySQL) be counted too.
        Thread.sleep(50);
      }
    } finally {
      d.close();
    }
    long[] after = counts(counters);
    return new Run(
        (probe.t1 - probe.t0) / 1e6,
        (probe.first - probe.t0) / 1e6,
        probe.batches,
        probe.deltas,
        probe.chained,
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2],
        after[3] - before[3],
        after[4] - before[4]);
  }

  private static long[] counts(CatchUp c) {
    return new long[] {
      c.count("sync-memory"),
      c.count("sync-storage"),
      c.count("sync-log"),
      c.count("log-records-read"),
      c.count("resnapshot-required")
    };
  }

  /** The app's view of one catch-up: when it asked, when each batch came, whether they chain. */
  private static final class Probe implements IrisDevice.Listener {
    final long target;
    final CountDownLatch done = new CountDownLatch(1);
    long last;
    long t0;
    long first;
    long t1;
    int batches;
    long deltas;
    boolean chained = true;

    Probe(long from, long target) {
      this.last = from;
      this.target = target;
    }

    @Override
    public void onConnection(boolean up) {
      if (up && t0 == 0) {
        t0 = System.nanoTime();
      }
    }

    @Override
    public void onDeltas(List<Delta> list) {
      long now = System.nanoTime();
      if (batches++ == 0) {
        first = now;
      }
      for (Delta d : list) {
        if (d.getPos() <= last || d.getPrevPos() > last) {
          chained = false;
        }
        last = Math.max(last, d.getPos());
        deltas++;
      }
      if (last >= target && t1 == 0) {
        t1 = now;
        done.countDown();
      }
    }

    @Override
    public boolean onResnapshotRequired(ResnapshotRequired costs) {
      return false; // deltas it is: the catch-up is what is measured
    }
  }

  private interface Body {
    void run() throws Exception;
  }

  /** {@code warmup} unmeasured then {@code runs} measured calls, ms each. */
  private double[] time(Body body) throws Exception {
    for (int i = 0; i < warmup; i++) {
      body.run();
    }
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      body.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    return ms;
  }

  /** Reads {@code [from, end)} of a partition of iris.log; returns the records read. */
  private static long readSpan(KafkaConsumer<Long, byte[]> c, int partition, long from, long end) {
    TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
    c.assign(List.of(tp));
    c.seek(tp, Math.max(0, from));
    long n = 0;
    while (c.position(tp) < end) {
      n += c.poll(Duration.ofMillis(200)).count();
    }
    return n;
  }

  private static long rangeRead(Connection c, long user, long after, long through)
      throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT * FROM "
                + Names.DELTAS_TABLE
                + " WHERE user_id = ? AND position > ? AND position <= ? ORDER BY position")) {
      ps.setLong(1, user);
      ps.setLong(2, after);
      ps.setLong(3, through);
      long n = 0;
      try (ResultSet rs = ps.executeQuery()) {
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          for (int i = 1; i <= columns; i++) {
            rs.getObject(i);
          }
          n++;
        }
      }
      return n;
    }
  }

  private void report(
      StringBuilder table,
      List<Cell> cells,
      String inProcess,
      List<String[]> refs,
      int tier1PerUser,
      int tier1Users) {
    String setting =
        String.format(
            "%d runs each after %d unmeasured, one stack on this machine; memory keeps %,d deltas of"
                + " each of %,d users; %d deltas of other users per delta of the user in its"
                + " partition of iris.log",
            runs, warmup, tier1PerUser, tier1Users, other);
    table.append(
        String.format(
            "%nCatch-up from a device's sync request to its last delta applied (%s)%n%n", setting));
    cellTable(table, cells);
    table.append(inProcess);
    table.append(
        String.format(
            "%n| reference (same stack, same run, %d runs after %d unmeasured) | reads | p50 ms |"
                + " p99 ms | max ms |%n|---|---:|---:|---:|---:|%n",
            runs, warmup));
    for (String[] r : refs) {
      table.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
  }

  private void cellTable(StringBuilder table, List<Cell> cells) {
    table.append(
        "| scenario (budget) | tier forced | answers per catch-up: memory / MySQL / log |"
            + " deltas | iris.log records read | resnapshot offers | first batch p50 ms |"
            + " p50 ms | p99 ms | max ms | budget |\n");
    table.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (Cell cell : cells) {
      List<Run> rs = cell.runs;
      double[] ms = rs.stream().mapToDouble(Run::ms).toArray();
      double[] first = rs.stream().mapToDouble(Run::firstMs).toArray();
      Arrays.sort(ms);
      Arrays.sort(first);
      int n = Math.max(1, rs.size());
      boolean chained =
          rs.stream().allMatch(r -> r.chained() && r.deltas() == cell.scenario.missed());
      double p50 = pct(ms, 0.5);
      double p99 = pct(ms, 0.99);
      double budget = cell.scenario.budgetMs();
      table.append(
          String.format(
              Locale.ROOT,
              "| %s (%.0f ms) | %s | %s / %s / %s | %,d%s | %s | %s | %.1f | %.1f | %.1f | %.1f | %s"
                  + " |%n",
              cell.scenario.title(),
              budget,
              cell.tier.label,
              avg(rs.stream().mapToLong(Run::memoryAnswers).sum(), n),
              avg(rs.stream().mapToLong(Run::storageAnswers).sum(), n),
              avg(rs.stream().mapToLong(Run::logAnswers).sum(), n),
              cell.scenario.missed(),
              chained ? "" : " (NOT all, or not chained)",
              avg(rs.stream().mapToLong(Run::logRecordsRead).sum(), n),
              avg(rs.stream().mapToLong(Run::resnapshotOffers).sum(), n),
              pct(first, 0.5),
              p50,
              p99,
              ms.length == 0 ? 0 : ms[ms.length - 1],
              p99 <= budget
                  ? "met"
                  : p50 <= budget
                      ? "p50 met, p99 missed"
                      : String.format(Locale.ROOT, "missed (p50 %.1fx)", p50 / budget)));
    }
  }

  private static String[] row(String what, String reads, double[] ms) {
    double[] s = ms.clone();
    Arrays.sort(s);
    return new String[] {
      what,
      reads,
      String.format(Locale.ROOT, "%.1f", pct(s, 0.5)),
      String.format(Locale.ROOT, "%.1f", pct(s, 0.99)),
      String.format(Locale.ROOT, "%.1f", s.length == 0 ? 0 : s[s.length - 1])
    };
  }

  private void chart(StringBuilder table, List<Cell> cells) throws Exception {
    String[] colours = {
      "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
      "#bcbd22", "#17becf"
    };
    List<HtmlChart.Series> series = new ArrayList<>();
    int i = 0;
    for (Cell cell : cells) {
      double[] ms = cell.runs.stream().mapToDouble(Run::ms).sorted().toArray();
      if (ms.length < 2) {
        return;
      }
      series.add(new HtmlChart.Series(cell.name() + " ms", colours[i++ % colours.length], ms));
    }
    Path html = Path.of("bench-results", "catchup.html");
    HtmlChart.write(
        html,
        "Catch-up time per run, sorted (ms)",
        "run, fastest to slowest",
        table.toString(),
        series);
    out.println("bench: chart written to " + html.toAbsolutePath());
  }

  private static String avg(long sum, int n) {
    double v = (double) sum / n;
    return v == Math.rint(v)
        ? String.format(Locale.ROOT, "%,d", (long) v)
        : String.format(Locale.ROOT, "%,.1f", v);
  }

  private static double pct(double[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  }

  private static List<TopicPartition> partitions(int n) {
    List<TopicPartition> out = new ArrayList<>();
    for (int p = 0; p < n; p++) {
      out.add(new TopicPartition(Topics.LOG.name(), p));
    }
    return out;
  }

  private static Map<Integer, Long> endOffsets(KafkaConsumer<Long, byte[]> c, int n) {
    Map<Integer, Long> out = new LinkedHashMap<>();
    c.endOffsets(partitions(n)).forEach((tp, o) -> out.put(tp.partition(), o));
    return out;
  }

  /** The sink group's committed offsets on iris.log: the storage pointer of each partition. */
  private static Map<Integer, Long> sinkCommitted(Admin admin) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> m =
        admin
            .listConsumerGroupOffsets(Names.SINK_GROUP)
            .partitionsToOffsetAndMetadata()
            .get(30, TimeUnit.SECONDS);
    Map<Integer, Long> out = new HashMap<>();
    m.forEach(
        (tp, o) -> {
          if (o != null && tp.topic().equals(Topics.LOG.name())) {
            out.put(tp.partition(), o.offset());
          }
        });
    return out;
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static void awaitTrue(String what, int seconds, Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!check.ok()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("gave up waiting " + seconds + " s for " + what);
      }
      Thread.sleep(100);
    }
  }

  private static KafkaProducer<Long, byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.putAll(StreamsBenchmark.TUNED);
    return new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
  }

  /**
   * A reader of iris.log as the bridge's catch-up makes one (read_committed, 500 records a poll),
   * fetch.max.wait.ms 0.
   */
  private static KafkaConsumer<Long, byte[]> reader(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
    // A bounded read of records that are there: never wait at the end for more (with Kafka's
    // default fetch.max.wait.ms, 500 ms, the next read's fetch waits behind the one left waiting).
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 0);
    return new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer());
  }

  private static HikariDataSource dataSource(String url) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(url);
    hc.setUsername("root");
    hc.setPassword("");
    hc.setMaximumPoolSize(2);
    hc.setPoolName("bench-catchup");
    return new HikariDataSource(hc);
  }
}
