package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/**
 * Commands go in at iris.commands; the streams app writes iris.log; the stock JDBC sink with the
 * iris converter writes every delta into MySQL, once, and its group's offsets (the storage pointer)
 * reach the end of iris.log.
 */
class StorageSinkIT {
  static final long THREAD = 7_000_001L;
  static final List<Long> MEMBERS = List.of(UserIds.next(), UserIds.next(), UserIds.next());

  // The poison record's key, the user whose delta follows it, and that delta's sender.
  static final long POISON_KEY = UserIds.next();
  static final long AFTER_POISON = UserIds.next();
  static final long AFTER_POISON_SENDER = UserIds.next();
  static final int SENDS = 200;

  @Test
  void shouldStoreEveryDeltaOnceAndMoveTheStoragePointerToTheEnd() throws Exception {
    IrisStack stack = TestStacks.shared();
    try (KafkaProducer<Long, byte[]> producer = TestStacks.commandProducer(stack)) {
      TestStacks.createThread(producer, THREAD, MEMBERS, "create", "storage");
      for (int i = 0; i < SENDS; i++) {
        TestStacks.sendMessage(
            producer, THREAD, MEMBERS.get(i % 3), "s" + i, "stored message " + i + " ✓");
      }
      producer.flush();
    }

    int perUser = SENDS + 1;
    awaitRows(stack, perUser * MEMBERS.size(), Duration.ofSeconds(90));
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement()) {
      for (long user : MEMBERS) {
        try (ResultSet rs =
            s.executeQuery(
                "SELECT position, kind, text, client_id FROM iris_deltas WHERE user_id="
                    + user
                    + " ORDER BY position")) {
          int expected = 1;
          long lastPos = -1;
          int partition = stack.bridge().layout().partitionOf(user);
          long end = endOffset(stack, partition);
          while (rs.next()) {
            long pos = rs.getLong("position");
            assertTrue(pos > lastPos && pos < end, "user " + user + ": position " + pos);
            lastPos = pos;
            if (expected == 1) {
              assertEquals("thread_created", rs.getString("kind"));
            } else {
              assertEquals(
                  "stored message " + (expected - 2) + " ✓",
                  rs.getString("text"),
                  "utf8mb4 survives");
            }
            expected++;
          }
          assertEquals(perUser + 1, expected, "user " + user + " has every delta");
        }
      }
    }

    // (A replay of the same records, the sink's group moved back, rewrites the same rows:
    // ResinkIT. A record written twice to iris.log is two positions, hence two rows.)
  }

  private static long endOffset(IrisStack stack, int partition) throws Exception {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(stack.adminConfig())) {
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
      return admin
          .listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
          .all()
          .get()
          .get(tp)
          .offset();
    }
  }

  @Test
  void shouldSetAPoisonRecordAsideAndKeepWriting() throws Exception {
    IrisStack stack = TestStacks.shared();
    byte[] junk = {1, 2, 3, 4};
    Delta after =
        new Delta(
            AFTER_POISON,
            7_000_002L,
            System.currentTimeMillis(),
            DeltaBody.newMessage(new NewMessage(1, AFTER_POISON_SENDER, "after the poison")));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (KafkaProducer<Long, byte[]> producer =
        new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(Topics.LOG.name(), 0, POISON_KEY, junk)).get();
      producer
          .send(
              new ProducerRecord<>(
                  Topics.LOG.name(), 0, AFTER_POISON, FrameCodec.defaults().encode(after)))
          .get();
    }
    Waits.every(Duration.ofMillis(250))
        .await(
            "the pipeline to keep writing after the poison record",
            Duration.ofSeconds(60),
            () -> {
              try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
                  Statement s = c.createStatement();
                  ResultSet rs =
                      s.executeQuery(
                          "SELECT text FROM iris_deltas WHERE user_id = " + AFTER_POISON)) {
                return rs.next() && rs.getString(1).equals("after the poison");
              }
            });

    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, "storage-it-sink-dlq");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.SINK_DLQ.name()));
      List<ConsumerRecord<byte[], byte[]>> poison = new ArrayList<>();
      Waits.await(
          "the poison record in " + Topics.SINK_DLQ.name(),
          Duration.ofSeconds(30),
          () -> {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
              if (poison.isEmpty() && java.util.Arrays.equals(junk, r.value())) {
                poison.add(r);
              }
            }
            return !poison.isEmpty();
          });
      var reason = poison.get(0).headers().lastHeader("__connect.errors.exception.message");
      assertTrue(
          reason != null && new String(reason.value()).contains("not a Delta frame"),
          "the reason travels with it");
    }
  }

  static long rows(IrisStack stack) throws Exception {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT COUNT(*) FROM iris_deltas WHERE thread_id=" + THREAD)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static void awaitRows(IrisStack stack, long expected, Duration timeout) {
    long n =
        Waits.every(Duration.ofMillis(250))
            .await(
                "MySQL to hold " + expected + " deltas",
                timeout,
                () -> rows(stack),
                m -> m >= expected);
    assertEquals(expected, n);
  }

  /**
   * The storage pointer: waits until the sink group's committed offset on {@code tp} is past {@code
   * offset}, i.e. the record there is in MySQL. (Compared with the partition's end offset it can
   * stay one short for good: Connect commits the offset after the last record it delivered, and a
   * transaction marker may follow it.)
   */
  static void awaitPointerPast(IrisStack stack, TopicPartition tp, long offset, Duration timeout) {
    try (Admin admin = Admin.create(stack.adminConfig())) {
      Waits.every(Duration.ofMillis(500))
          .await(
              "the storage pointer on " + tp + " past " + offset,
              timeout,
              () -> {
                OffsetAndMetadata om =
                    admin
                        .listConsumerGroupOffsets(io.iris.topics.Names.SINK_GROUP)
                        .partitionsToOffsetAndMetadata()
                        .get(10, TimeUnit.SECONDS)
                        .get(tp);
                return om == null ? -1 : om.offset();
              },
              committed -> committed > offset);
    }
  }

  static ConsumerRecord<byte[], byte[]> firstLogRecordOf(IrisStack stack, long user) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "storage-it");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.LOG.name()));
      List<ConsumerRecord<byte[], byte[]>> first = new ArrayList<>();
      Waits.await(
          "an iris.log record of user " + user,
          Duration.ofSeconds(30),
          () -> {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
              if (first.isEmpty() && java.nio.ByteBuffer.wrap(r.key()).getLong() == user) {
                first.add(r);
              }
            }
            return !first.isEmpty();
          });
      return first.get(0);
    }
  }
}
