package io.iris.launcher.tools;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.down.LogLayout;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.topics.IrisRecordFormatter;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One user's queue as an operator sees it ({@code iris pointers}), every number an offset of the
 * user's partition of iris.log: each device pointer (the last position it acknowledged), the two
 * consumer groups on the partition (the sink's committed offset is the storage pointer), the
 * partition's end, the user's last delta and how many of the user's deltas each pointer is behind;
 * then the highest position MySQL holds. And the user's deltas as JSON ({@code iris tail}). Reads
 * Kafka and MySQL only; the bridge and the streams app need not run.
 *
 * <p>The user's deltas are counted by reading the partition from the lowest pointer to its end (the
 * user's positions are not contiguous: other users share the partition). The Kafka side is printed
 * as soon as it is read; MySQL is asked afterwards, for at most a few seconds, so a MySQL that
 * hangs holds up only its own line, which says it is unreachable. Pointers are read before the end
 * they are compared with; one that is still past it (the end moved between the reads) is shown 0
 * behind and marked, never with a negative lag.
 */
public final class UserInspector {
  /** How long MySQL may take to answer {@code iris pointers}. */
  static final Duration STORAGE_TIMEOUT = Duration.ofSeconds(3);

  /** A device's pointer: the last position it acknowledged, of {@code epoch}. */
  public record Device(String deviceId, long ackedPos, String epoch, long updatedAtMs) {}

  /**
   * How far a pointer is behind its head, when the two were read at different moments.
   *
   * @param behind head minus pointer, never negative
   * @param pastHead the pointer was read past the head (the head moved between the two reads):
   *     {@code behind} is then 0
   */
  public record Lag(long behind, boolean pastHead) {
    public static Lag of(long head, long pointer) {
      return pointer > head ? new Lag(0, true) : new Lag(head - pointer, false);
    }

    @Override
    public String toString() {
      return String.format("%,d", behind) + (pastHead ? PAST_HEAD_MARK : "");
    }
  }

  static final String PAST_HEAD_MARK = "*";

  /**
   * Where a consumer group is on the user's partition.
   *
   * @param committed its committed offset, -1 when it has none on the partition
   * @param end the partition's end offset (high watermark), read after {@code committed}
   */
  public record Group(String name, long committed, long end) {
    /** The group's lag, or null when it has committed nothing on the partition. */
    public Lag lag() {
      return committed < 0 ? null : Lag.of(end, committed);
    }
  }

  /**
   * What Kafka says about the user: pointers first, then the partition's end, then the user's
   * positions read from {@code scannedFrom} to the end.
   *
   * @param epoch iris.log's topic id: device pointers of another epoch mean nothing here
   * @param positions the user's deltas at or after {@code scannedFrom}, in order
   */
  public record KafkaSide(
      long userId,
      int partition,
      String epoch,
      long end,
      long scannedFrom,
      List<Long> positions,
      List<Device> devices,
      List<Group> groups) {

    /** The user's last position seen, -1 when none at or after scannedFrom. */
    public long lastPos() {
      return positions.isEmpty() ? -1 : positions.get(positions.size() - 1);
    }

    /**
     * How many of the user's deltas lie after {@code pointer} (a device holds everything up to its
     * pointer; the sink everything below its committed offset, so pass that minus one); -1 when the
     * scan did not start low enough to tell.
     */
    public long deltasAfter(long pointer) {
      if (pointer < scannedFrom - 1) {
        return -1;
      }
      return positions.stream().filter(p -> p > pointer).count();
    }
  }

  /**
   * What MySQL holds of the user.
   *
   * @param storedPos the user's highest position in MySQL (-1: none); -1 also when MySQL could not
   *     tell (see problem)
   * @param problem why MySQL could not tell, e.g. {@code "MySQL unreachable: no answer within 3
   *     s"}; null when it could
   */
  public record StorageSide(long storedPos, String problem) {}

  private final KafkaClients kafka;
  private final String jdbcUrl;
  private final String dbUser;
  private final String dbPassword;
  private final Duration storageTimeout;
  private final FrameCodec codec = FrameCodec.defaults();

  /** With the Kafka clients' own settings (TLS, SASL: kafka.client.tools.*). */
  public UserInspector(KafkaClients kafka, String jdbcUrl, String dbUser, String dbPassword) {
    this(kafka, jdbcUrl, dbUser, dbPassword, STORAGE_TIMEOUT);
  }

  UserInspector(
      KafkaClients kafka,
      String jdbcUrl,
      String dbUser,
      String dbPassword,
      Duration storageTimeout) {
    this.kafka = kafka;
    this.jdbcUrl = jdbcUrl;
    this.dbUser = dbUser;
    this.dbPassword = dbPassword;
    this.storageTimeout = storageTimeout;
  }

  /**
   * Prints the user's pointers ({@code iris pointers}): the Kafka side at once, then what MySQL
   * holds, or why MySQL did not say within a few seconds.
   */
  public void pointers(long userId, PrintStream out) throws Exception {
    KafkaSide kafka = kafkaSide(userId);
    print(kafka, out);
    out.flush();
    print(kafka, storageSide(userId), out);
  }

  /**
   * Reads the user's pointers and positions from Kafka: device pointers, then the two groups'
   * committed offsets, then the partition's end offset, then the user's positions from the lowest
   * pointer to that end, so that no pointer is read after the end it is compared with.
   */
  public KafkaSide kafkaSide(long userId) throws Exception {
    try (Admin admin = Admin.create(kafka.asMap());
        KafkaConsumer<byte[], byte[]> c = consumer()) {
      LogLayout log = LogLayout.describe(admin, Duration.ofSeconds(30));
      String epoch = log.epoch();
      int p = log.partitionOf(userId);
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), p);
      List<Device> devices = devices(c, userId);
      Map<String, Long> committed = new LinkedHashMap<>();
      for (String g : List.of(Names.BRIDGE_GROUP, Names.SINK_GROUP)) {
        OffsetAndMetadata o =
            admin.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get().get(tp);
        committed.put(g, o == null ? -1 : o.offset());
      }
      // The high watermark, as kafka-consumer-groups --describe shows it: the sink may read
      // read_uncommitted, so its offset can be past the last stable offset, never past this.
      long end =
          admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
      long from = end;
      for (Device d : devices) {
        if (d.epoch().equals(epoch)) {
          from = Math.min(from, d.ackedPos() + 1);
        }
      }
      for (long o : committed.values()) {
        from = o < 0 ? -1 : Math.min(from, o);
      }
      List<Long> positions = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : readAll(c, tp, from)) {
        if (userDelta(r, userId) != null) {
          positions.add(r.offset());
        }
      }
      long scannedFrom = Math.max(from, c.beginningOffsets(List.of(tp)).get(tp));
      List<Group> groups = new ArrayList<>();
      committed.forEach((g, o) -> groups.add(new Group(g, o, end)));
      return new KafkaSide(userId, p, epoch, end, scannedFrom, positions, devices, groups);
    }
  }

  /**
   * The user's highest position in MySQL, asked for at most the storage timeout: a MySQL that does
   * not answer (stopped, frozen, behind a dead network) is reported, not waited for.
   */
  public StorageSide storageSide(long userId) {
    ExecutorService mysql =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "iris-pointers-mysql");
              t.setDaemon(true);
              return t;
            });
    Future<Long> stored = mysql.submit(() -> storedPos(userId));
    try {
      return new StorageSide(stored.get(storageTimeout.toMillis(), TimeUnit.MILLISECONDS), null);
    } catch (TimeoutException e) {
      stored.cancel(true);
      return new StorageSide(-1, "MySQL unreachable: no answer within " + text(storageTimeout));
    } catch (ExecutionException e) {
      return new StorageSide(-1, problem(e.getCause()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new StorageSide(-1, "MySQL not asked: interrupted");
    } finally {
      mysql.shutdownNow();
    }
  }

  static String problem(Throwable e) {
    String message = firstLine(String.valueOf(e.getMessage()));
    boolean connection =
        e instanceof SQLTransientConnectionException
            || e instanceof SQLNonTransientConnectionException
            || (e instanceof SQLException s
                && s.getSQLState() != null
                && s.getSQLState().startsWith("08"));
    return (connection ? "MySQL unreachable: " : "MySQL error: ") + message;
  }

  private static String text(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  private static String firstLine(String s) {
    String line = s.strip().lines().findFirst().orElse("");
    return line.isEmpty() ? "(no message)" : line;
  }

  private Delta userDelta(ConsumerRecord<byte[], byte[]> r, long userId) {
    if (r.key() == null
        || r.key().length != 8
        || java.nio.ByteBuffer.wrap(r.key()).getLong() != userId
        || r.value() == null) {
      return null;
    }
    try {
      return codec.decode(r.value(), Delta::new);
    } catch (FrameException e) {
      return null;
    }
  }

  private List<Device> devices(KafkaConsumer<byte[], byte[]> c, long userId) {
    Map<String, Device> out = new TreeMap<>();
    String prefix = userId + ":";
    for (var info : c.partitionsFor(Topics.DEVICE_POINTERS.name(), Duration.ofSeconds(30))) {
      TopicPartition tp = new TopicPartition(info.topic(), info.partition());
      for (ConsumerRecord<byte[], byte[]> r : readAll(c, tp, -1)) {
        String key =
            r.key() == null ? "" : new String(r.key(), java.nio.charset.StandardCharsets.UTF_8);
        if (!key.startsWith(prefix)) {
          continue;
        }
        if (r.value() == null) {
          out.remove(key);
          continue;
        }
        DevicePointer d = codec.decode(r.value(), DevicePointer::new);
        // The latest record of a key is the device's pointer (the bridge only moves it forward).
        out.put(
            key, new Device(d.getDeviceId(), d.getAckedPos(), d.getEpoch(), d.getUpdatedAtMs()));
      }
    }
    return List.copyOf(out.values());
  }

  private long storedPos(long userId) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", dbUser);
    p.setProperty("password", dbPassword);
    // MySQL Connector/J and MariaDB's driver: the thread gives up on its socket a little after
    // storageSide() has stopped waiting for it, rather than never.
    String driverTimeout = Long.toString(storageTimeout.toMillis() + 1000);
    p.setProperty("connectTimeout", driverTimeout);
    p.setProperty("socketTimeout", driverTimeout);
    try (Connection db = DriverManager.getConnection(jdbcUrl, p);
        PreparedStatement ps =
            db.prepareStatement(
                "SELECT MAX(position) FROM " + Names.DELTAS_TABLE + " WHERE user_id = ?")) {
      ps.setQueryTimeout((int) Math.max(1, storageTimeout.toSeconds()));
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        long max = rs.next() ? rs.getLong(1) : -1;
        return rs.wasNull() ? -1 : max;
      }
    }
  }

  /**
   * Prints the user's deltas as JSON lines: from the beginning of the log, or only new ones; stops
   * after {@code max} deltas (0: no limit) or after {@code idleMillis} without one (0: never).
   */
  public void tail(long userId, boolean fromBeginning, long max, long idleMillis, PrintStream out) {
    try (KafkaConsumer<byte[], byte[]> c = consumer()) {
      int partitions = c.partitionsFor(Topics.LOG.name(), Duration.ofSeconds(30)).size();
      TopicPartition tp =
          new TopicPartition(Topics.LOG.name(), LogLayout.partitionOf(userId, partitions));
      c.assign(List.of(tp));
      if (fromBeginning) {
        c.seekToBeginning(List.of(tp));
      } else {
        c.seekToEnd(List.of(tp));
      }
      long printed = 0;
      long last = System.currentTimeMillis();
      while ((max == 0 || printed < max)
          && (idleMillis == 0 || System.currentTimeMillis() - last < idleMillis)) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          Delta d = userDelta(r, userId);
          if (d != null && (max == 0 || printed < max)) {
            out.println(IrisRecordFormatter.json(d.setPos(r.offset())));
            printed++;
            last = System.currentTimeMillis();
          }
        }
      }
    }
  }

  /** Every record of a partition from {@code from} (-1: the beginning) to its end now. */
  private static List<ConsumerRecord<byte[], byte[]>> readAll(
      KafkaConsumer<byte[], byte[]> c, TopicPartition tp, long from) {
    c.assign(List.of(tp));
    long start = c.beginningOffsets(List.of(tp)).get(tp);
    c.seek(tp, Math.max(start, from));
    long end = c.endOffsets(List.of(tp)).get(tp);
    List<ConsumerRecord<byte[], byte[]>> out = new java.util.ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (c.position(tp) < end && System.nanoTime() < deadline) {
      c.poll(Duration.ofMillis(200)).records(tp).forEach(out::add);
    }
    return out;
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-cli-inspect");
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** The Kafka side as an operator reads it. */
  public static void print(KafkaSide k, PrintStream out) {
    boolean marked = false;
    out.printf(
        "user %d   iris.log partition %d   epoch %s   end offset %,d%n",
        k.userId(), k.partition(), k.epoch(), k.end());
    if (k.positions().isEmpty()) {
      out.printf(
          "no delta of the user from offset %,d (the lowest pointer) to the end%n",
          k.scannedFrom());
    } else {
      out.printf(
          "last delta of the user at %,d   (%,d of its deltas from offset %,d to the end)%n",
          k.lastPos(), k.positions().size(), k.scannedFrom());
    }
    out.println();
    out.printf("%-28s %12s %14s  %s%n", "device pointer", "acked pos", "deltas behind", "acked at");
    if (k.devices().isEmpty()) {
      out.println("(no device has acknowledged anything)");
    }
    for (Device d : k.devices()) {
      String behind;
      if (!d.epoch().equals(k.epoch())) {
        behind = "other epoch";
      } else {
        long n = k.deltasAfter(d.ackedPos());
        behind = n < 0 ? "?" : String.format("%,d", n);
      }
      out.printf(
          "%-28s %,12d %14s  %s%n",
          d.deviceId(), d.ackedPos(), behind, java.time.Instant.ofEpochMilli(d.updatedAtMs()));
    }
    out.println();
    out.printf(
        "%-28s %12s %10s %14s%n", "group on the partition", "committed", "lag", "deltas behind");
    for (Group g : k.groups()) {
      Lag lag = g.lag();
      marked |= lag != null && lag.pastHead();
      long behind = g.committed() < 0 ? -1 : k.deltasAfter(g.committed() - 1);
      out.printf(
          "%-28s %12s %10s %14s%s%n",
          g.name(),
          g.committed() < 0 ? "-" : String.format("%,d", g.committed()),
          lag == null ? "-" : lag,
          behind < 0 ? "-" : String.format("%,d", behind),
          g.name().equals(Names.SINK_GROUP) ? "   (the storage pointer)" : "");
    }
    out.println();
    out.println(
        "(offsets of the whole partition, shared with other users, as kafka-consumer-groups"
            + " --describe --group <group> prints them; a position is such an offset)");
    if (marked) {
      out.println(
          PAST_HEAD_MARK
              + " read past the end it is compared with (the end moved between the reads): shown"
              + " as 0 behind");
    }
  }

  /** What MySQL holds, against the user's deltas found on the Kafka side. */
  public static void print(KafkaSide k, StorageSide s, PrintStream out) {
    out.println();
    if (s.problem() != null) {
      out.printf("%-28s %s%n", "stored in MySQL", s.problem());
      return;
    }
    long behind = k.deltasAfter(s.storedPos());
    out.printf(
        "%-28s %12s %14s  (highest position of the user in %s)%n",
        "stored in MySQL",
        s.storedPos() < 0 ? "-" : String.format("%,d", s.storedPos()),
        behind < 0 ? "?" : String.format("%,d", behind),
        Names.DELTAS_TABLE);
  }
}
