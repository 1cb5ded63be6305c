package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * The MySQL password reaches the sink through a Connect config provider (issue 18): Kafka Connect
 * keeps connector configurations in clear in its config topic, so the password must never be in
 * one. A stack with its own Connect worker and an "external" MySQL with a password (a database of
 * the shared MariaDB) stores its rows, and no record of Connect's config topic holds the password.
 *
 * <p>The embedded MariaDB runs without grant tables, so it accepts any password: that the worker
 * resolves the reference to the right value is {@code SinkSecretsTest}'s (Kafka's own provider
 * reading the file iris writes); here, that a sink configured with the reference runs and stores.
 */
class ConnectSecretsIT {
  private static final String PASSWORD = "sink-secret-7f3a";

  @Test
  void shouldStoreWithAPasswordThatConnectsConfigTopicNeverHolds() throws Exception {
    IrisStack shared = TestStacks.shared();
    String db = "iris_secrets_it";
    String user = "iris_secrets_it";
    try (Connection c = DriverManager.getConnection(shared.jdbcUrl(), "root", "");
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + db);
      s.execute("CREATE DATABASE " + db);
    }
    String url = shared.jdbcUrl().substring(0, shared.jdbcUrl().lastIndexOf('/') + 1) + db;
    Path dir = TestStacks.newDataDir("secrets");
    Map<String, Object> config = TestStacks.ephemeralConfig(dir);
    config.put(IrisConfig.MYSQL_URL_CONFIG, url);
    config.put(IrisConfig.MYSQL_USER_CONFIG, user);
    config.put(IrisConfig.MYSQL_PASSWORD_CONFIG, PASSWORD);
    try (IrisStack stack = new IrisStack(new IrisConfig(config))) {
      stack.preflight();
      stack.start(line -> {});

      assertFalse(stack.sinkConfigJson().contains(PASSWORD), "the registered configuration");
      assertTrue(stack.sinkConfigJson().contains("${directory:"), stack.sinkConfigJson());
      Path secret = dir.resolve("connect-secrets").resolve("mysql_password");
      assertEquals(
          "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));

      // The sink resolves the reference: a message reaches MySQL as the password's user.
      long alice = UserIds.next();
      long bob = UserIds.next();
      long thread = 8_800_000_000L + alice;
      try (KafkaProducer<Long, byte[]> producer = TestStacks.commandProducer(stack)) {
        TestStacks.createThread(producer, thread, List.of(alice, bob), "create-1", null);
        TestStacks.sendMessage(producer, thread, alice, "send-1", "stored with a hidden password");
        producer.flush();
      }
      Waits.await(
          "the sink stores the message",
          Duration.ofSeconds(90),
          () ->
              TestStacks.storedMessages(url, user, PASSWORD, bob, "stored with a hidden password")
                  == 1);

      // Connect's config topic: every record, none with the password.
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      p.put(ConsumerConfig.GROUP_ID_CONFIG, "connect-secrets-it");
      int read = 0;
      try (KafkaConsumer<byte[], byte[]> c =
          new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        c.subscribe(List.of("iris-connect-configs"));
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        boolean sawSink = false;
        while (System.nanoTime() < until && !(sawSink && read > 0)) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
            read++;
            String value = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
            assertFalse(value.contains(PASSWORD), "a config record holds the password: " + value);
            sawSink |= value.contains("connection.password");
          }
        }
        assertTrue(sawSink, "the sink's configuration was read from the topic (" + read + ")");
      }
    } finally {
      TestStacks.delete(dir);
      try (Connection c = DriverManager.getConnection(shared.jdbcUrl(), "root", "");
          Statement s = c.createStatement()) {
        s.execute("DROP DATABASE IF EXISTS " + db);
      }
    }
  }
}
