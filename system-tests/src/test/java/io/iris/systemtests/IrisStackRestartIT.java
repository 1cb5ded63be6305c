package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.TestStacks;
import io.iris.testkit.Waits;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A second start on the same data directory finds the Kafka records and MySQL rows of the first.
 */
class IrisStackRestartIT {

  @Test
  void shouldKeepKafkaAndMysqlDataAcrossARestart() throws Exception {
    Path dir = TestStacks.newDataDir("restart");
    Map<String, Object> config = TestStacks.ephemeralConfig(dir);
    try {
      try (IrisStack first = new IrisStack(new IrisConfig(config))) {
        first.preflight();
        first.start(line -> {});
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, first.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
          producer.send(new ProducerRecord<>("iris.dlq", "kept".getBytes())).get();
        }
        try (Connection c = DriverManager.getConnection(first.jdbcUrl(), "root", "");
            Statement s = c.createStatement()) {
          s.execute("CREATE TABLE restart_probe (id INT PRIMARY KEY)");
          s.execute("INSERT INTO restart_probe VALUES (42)");
        }
      }

      long t0 = System.nanoTime();
      try (IrisStack second = new IrisStack(new IrisConfig(config))) {
        second.preflight();
        List<String> lines = new ArrayList<>();
        second.start(lines::add);
        assertTrue(
            lines.stream().anyMatch(l -> l.contains("created none")),
            "topics must be reused: " + lines);
        try (Connection c = DriverManager.getConnection(second.jdbcUrl(), "root", "");
            Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT id FROM restart_probe")) {
          assertTrue(rs.next(), "the row written before the restart is there");
          assertEquals(42, rs.getInt(1));
        }
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, second.bootstrapServers());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "restart-it");
        try (KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
          consumer.subscribe(List.of("iris.dlq"));
          List<String> values = new ArrayList<>();
          Waits.await(
              "the record written before the restart",
              Duration.ofSeconds(30),
              () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                  values.add(new String(r.value()));
                }
                return !values.isEmpty();
              });
          assertEquals(List.of("kept"), values);
        }
        System.out.printf("restart on existing data took %.1f s%n", (System.nanoTime() - t0) / 1e9);
      }
    } finally {
      TestStacks.delete(dir);
    }
  }
}
