package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.Ports;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/** A sink task that fails for good is restarted by the stack and writes again once it can. */
class SinkSupervisorIT {
  private static final long USER = UserIds.next();
  private static final long SENDER = UserIds.next();

  @Test
  void shouldRestartAFailedSinkTask() throws Exception {
    IrisStack stack = TestStacks.shared();
    String good = stack.sinkConfigJson();
    String unreachable =
        good.replaceFirst(
            "\"connection.url\": \"[^\"]*\"",
            "\"connection.url\": \"jdbc:mysql://127.0.0.1:" + Ports.freePort() + "/iris\"");
    long before = stack.sinkRestarts();
    try {
      put(stack, unreachable);
      Waits.await(
          "the supervisor to restart the failed task",
          Duration.ofSeconds(90),
          () -> stack.sinkRestarts() > before);
    } finally {
      put(stack, good);
    }
    Delta d =
        new Delta(
            USER,
            7_000_090L,
            System.currentTimeMillis(),
            DeltaBody.newMessage(new NewMessage(1, SENDER, "after the restart")));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (KafkaProducer<Long, byte[]> producer =
        new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer())) {
      producer
          .send(new ProducerRecord<>(Topics.LOG.name(), USER, FrameCodec.defaults().encode(d)))
          .get();
    }
    Waits.every(Duration.ofMillis(500))
        .await(
            "the sink to write again with the right configuration",
            Duration.ofSeconds(90),
            () -> {
              try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
                  Statement s = c.createStatement();
                  ResultSet rs =
                      s.executeQuery("SELECT COUNT(*) FROM iris_deltas WHERE user_id = " + USER)) {
                rs.next();
                return rs.getLong(1) == 1;
              }
            });
  }

  static void put(IrisStack stack, String json) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            stack.connectUrl()
                                + "/connectors/"
                                + io.iris.topics.Names.SINK_CONNECTOR
                                + "/config"))
                    .header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(json))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() < 300, r.body());
  }
}
