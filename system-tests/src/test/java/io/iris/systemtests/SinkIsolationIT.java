package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/**
 * The MySQL sink reads iris.log read_committed: records of an aborted transaction (a streams-app
 * task that died mid-transaction leaves exactly these) never become rows. Kafka Connect's sink
 * consumers read read_uncommitted unless told otherwise; before the sink's configuration said so,
 * this test found both aborted deltas in MySQL.
 */
class SinkIsolationIT {
  private static final long USER = UserIds.next();

  @Test
  void shouldNeverStoreADeltaOfAnAbortedTransaction() throws Exception {
    IrisStack stack = TestStacks.shared();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "sink-isolation-it");
    try (KafkaProducer<Long, byte[]> producer =
        new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(record(1, "aborted one"));
      producer.send(record(2, "aborted two"));
      producer.flush();
      producer.abortTransaction();
      producer.beginTransaction();
      producer.send(record(3, "committed"));
      producer.commitTransaction();
    }
    Waits.await(
        "the committed delta in MySQL",
        Duration.ofSeconds(90),
        () -> texts().contains("committed"));
    assertEquals(List.of("committed"), texts(), "only the committed delta is stored");
  }

  private static ProducerRecord<Long, byte[]> record(long messageId, String text) {
    Delta d =
        new Delta(
            USER,
            7_000_650L,
            System.currentTimeMillis(),
            DeltaBody.newMessage(new NewMessage(messageId, USER, text)));
    int partition = TestStacks.shared().bridge().layout().partitionOf(USER);
    return new ProducerRecord<>(
        Topics.LOG.name(), partition, USER, FrameCodec.defaults().encode(d));
  }

  private static List<String> texts() {
    IrisStack stack = TestStacks.shared();
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT text FROM iris_deltas WHERE user_id = " + USER + " ORDER BY position")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
