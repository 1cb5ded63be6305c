package io.iris.launcher.tools;

import io.iris.bridge.down.LogIndex;
import io.iris.bridge.down.UserLogs;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.topics.IrisRecordFormatter;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * One user's queue as an operator sees it: the head seq, every device pointer, the storage pointer,
 * and the two consumer groups' positions on the user's partition ({@code iris pointers}); and the
 * user's deltas as JSON ({@code iris tail}). Reads Kafka and MySQL only; the bridge and the streams
 * app need not run.
 */
public final class UserInspector {
  /** A device's pointer. */
  public record Device(String deviceId, long ackedSeq, long updatedAtMs) {}

  /** Where a consumer group is on the user's partition. */
  public record Group(String name, long committed, long end) {
    public long lag() {
      return committed < 0 ? -1 : end - committed;
    }
  }

  /**
   * @param storedSeq highest seq in MySQL (-1 when MySQL could not be asked: see storageError)
   */
  public record Report(
      long userId,
      int partition,
      long headSeq,
      List<Device> devices,
      long storedSeq,
      String storageError,
      List<Group> groups) {}

  private final String bootstrap;
  private final String jdbcUrl;
  private final String dbUser;
  private final String dbPassword;
  private final FrameCodec codec = FrameCodec.defaults();

  public UserInspector(String bootstrap, String jdbcUrl, String dbUser, String dbPassword) {
    this.bootstrap = bootstrap;
    this.jdbcUrl = jdbcUrl;
    this.dbUser = dbUser;
    this.dbPassword = dbPassword;
  }

  /** The partition of iris.log that holds the user, as Kafka's default partitioner puts it. */
  public int partitionOf(long userId, int partitions) {
    byte[] key = new LongSerializer().serialize(Topics.LOG.name(), userId);
    return Utils.toPositive(Utils.murmur2(key)) % partitions;
  }

  public Report report(long userId) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        KafkaConsumer<byte[], byte[]> c = consumer()) {
      int partitions = c.partitionsFor(Topics.LOG.name(), Duration.ofSeconds(30)).size();
      int p = partitionOf(userId, partitions);
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), p);
      long end = c.endOffsets(List.of(tp)).get(tp);
      long head = head(c, userId, tp);
      List<Device> devices = devices(c, userId);
      long stored = -1;
      String error = null;
      try {
        stored = storedSeq(userId);
        head = Math.max(head, stored);
      } catch (SQLException e) {
        error = e.getMessage();
      }
      List<Group> groups = new java.util.ArrayList<>();
      for (String g : List.of(io.iris.topics.Names.BRIDGE_GROUP, io.iris.topics.Names.SINK_GROUP)) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get();
        OffsetAndMetadata o = committed.get(tp);
        groups.add(new Group(g, o == null ? -1 : o.offset(), end));
      }
      return new Report(userId, p, head, devices, stored, error, groups);
    }
  }

  /** The user's last seq in iris.log: read from the user's newest offset bookmark to the end. */
  private long head(KafkaConsumer<byte[], byte[]> c, long userId, TopicPartition tp) {
    UserLogs index = new UserLogs(0, 1, Integer.MAX_VALUE, Integer.MAX_VALUE, b -> {});
    LogIndex.restore(bootstrap, List.of(tp), index);
    UserLogs.Bookmark newest = index.bookmarkAtOrBefore(userId, Long.MAX_VALUE);
    long from = newest == null ? -1 : newest.offset();
    long head = 0;
    for (ConsumerRecord<byte[], byte[]> r : readAll(c, tp, from)) {
      Delta d = userDelta(r, userId);
      if (d != null) {
        head = Math.max(head, d.getSeq());
      }
    }
    return head;
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
        out.merge(
            key,
            new Device(d.getDeviceId(), d.getAckedSeq(), d.getUpdatedAtMs()),
            (a, b) -> b.ackedSeq() >= a.ackedSeq() ? b : a);
      }
    }
    return List.copyOf(out.values());
  }

  private long storedSeq(long userId) throws SQLException {
    try (Connection db = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
        PreparedStatement ps =
            db.prepareStatement("SELECT max_seq FROM iris_user_seq WHERE user_id = ?")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
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
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), partitionOf(userId, partitions));
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
            out.println(IrisRecordFormatter.json(d));
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
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-cli-inspect");
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** The report as an operator reads it. */
  public static void print(Report r, PrintStream out) {
    out.printf(
        "user %d   iris.log partition %d   head seq %,d%n", r.userId(), r.partition(), r.headSeq());
    out.println();
    out.printf("%-28s %12s %10s  %s%n", "device pointer", "acked seq", "behind", "acked at");
    if (r.devices().isEmpty()) {
      out.println("(no device has acknowledged anything)");
    }
    for (Device d : r.devices()) {
      out.printf(
          "%-28s %,12d %,10d  %s%n",
          d.deviceId(),
          d.ackedSeq(),
          Math.max(0, r.headSeq() - d.ackedSeq()),
          java.time.Instant.ofEpochMilli(d.updatedAtMs()));
    }
    out.println();
    if (r.storedSeq() >= 0) {
      out.printf(
          "%-28s %,12d %,10d%n",
          "storage pointer (MySQL)", r.storedSeq(), Math.max(0, r.headSeq() - r.storedSeq()));
    } else {
      out.println("storage pointer (MySQL)      unknown: " + r.storageError());
    }
    out.println();
    out.printf(
        "%-28s %12s %10s %12s%n", "group on the partition", "committed", "lag", "end offset");
    for (Group g : r.groups()) {
      out.printf(
          "%-28s %12s %10s %,12d%n",
          g.name(),
          g.committed() < 0 ? "-" : String.format("%,d", g.committed()),
          g.committed() < 0 ? "-" : String.format("%,d", g.lag()),
          g.end());
    }
    out.println();
    out.println(
        "(offsets are of the whole partition, shared with other users; the same as"
            + " kafka-consumer-groups --describe --group <group>)");
  }
}
