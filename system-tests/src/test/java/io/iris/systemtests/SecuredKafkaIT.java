package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.BridgeAcls;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.embedded.EmbeddedKafka;
import io.iris.embedded.Ports;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.KafkaClientProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;

/**
 * The whole stack against a broker that only speaks SASL (issue 18): every Kafka client the project
 * makes — the bridge's, the streams app's, the Connect worker's and the sink's, the launcher's
 * admin — reaches it through the {@code kafka.client.*} settings alone, and a client without them
 * is refused. (TLS takes the same path: {@code kafka.client.ssl.*}.)
 */
class SecuredKafkaIT {
  private static final String PASSWORD = "iris-sasl-secret";
  private static final String BRIDGE_PASSWORD = "bridge-sasl-secret";

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  @Test
  void shouldRunEveryPartAgainstASaslBrokerThroughTheKafkaClientSettings() throws Exception {
    Path dir = TestStacks.newDataDir("sasl");
    int port = Ports.freePort();
    int controller = Ports.freePort();
    Map<String, String> broker =
        Map.of(
            "listeners",
            "SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
            "advertised.listeners",
            "SASL_PLAINTEXT://127.0.0.1:" + port,
            "inter.broker.listener.name",
            "SASL_PLAINTEXT",
            "listener.security.protocol.map",
            "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms",
            "PLAIN",
            "sasl.mechanism.inter.broker.protocol",
            "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"iris\""
                + " password=\""
                + PASSWORD
                + "\" user_iris=\""
                + PASSWORD
                + "\" user_bridge=\""
                + BRIDGE_PASSWORD
                + "\";",
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            // iris: the launcher, streams app and Connect here; ANONYMOUS: the controller listener
            // inside this one process.
            "super.users",
            "User:iris;User:ANONYMOUS");
    Map<String, String> client =
        Map.of(
            "security.protocol", "SASL_PLAINTEXT",
            "sasl.mechanism", "PLAIN",
            "sasl.jaas.config", jaas("iris", PASSWORD));
    try (EmbeddedKafka kafka =
        new EmbeddedKafka(
            new EmbeddedKafka.Settings(
                dir.resolve("kafka"), "127.0.0.1", port, controller, broker))) {
      kafka.start(client);
      String bootstrap = kafka.bootstrapServers();

      // Without credentials the broker does not answer.
      try (Admin anonymous =
          Admin.create(
              Map.of(
                  AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                  AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3_000,
                  AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000))) {
        assertThrows(
            ExecutionException.class,
            () -> anonymous.listTopics().names().get(10, TimeUnit.SECONDS),
            "a client without SASL settings");
      }

      Map<String, Object> admin = new java.util.HashMap<>(client);
      admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      try (Admin a = Admin.create(admin)) {
        a.createAcls(BridgeAcls.of("User:bridge")).all().get(30, TimeUnit.SECONDS);
      }

      Map<String, Object> c = TestStacks.ephemeralConfig(dir.resolve("stack"));
      c.put(IrisConfig.KAFKA_BOOTSTRAP_CONFIG, bootstrap);
      client.forEach((k, v) -> c.put(KafkaClientProperties.PREFIX + k, v));
      // The bridge as its own principal, held to its ACLs.
      c.put("kafka.client.bridge.sasl.jaas.config", jaas("bridge", BRIDGE_PASSWORD));
      IrisConfig config = new IrisConfig(c);
      try (IrisStack stack = new IrisStack(config)) {
        stack.preflight();
        stack.start(line -> {});
        long alice = UserIds.next();
        long bob = UserIds.next();
        int before = stack.devices().size();
        var tools = config.kafkaClients(KafkaClientProperties.TOOLS);
        String aliceToken = DeviceRegistry.register(tools, alice, "phone");
        String bobToken = DeviceRegistry.register(tools, bob, "phone");
        TestStacks.awaitRegistered(stack, before + 2);

        Phone a = Phone.open(stack, alice, "phone", aliceToken);
        Phone b = Phone.open(stack, bob, "phone", bobToken);
        long thread =
            a.device
                .createThread(List.of(bob), "over SASL")
                .get(60, TimeUnit.SECONDS)
                .getThreadId();
        a.device.send(thread, "hello over SASL").get(60, TimeUnit.SECONDS);
        Waits.await(
            "bob's phone gets the message (bridge and streams app through SASL)",
            Duration.ofSeconds(60),
            () -> Phone.count(b, "hello over SASL") == 1);
        Waits.await(
            "the sink stores it (Connect worker and its consumer through SASL)",
            Duration.ofSeconds(90),
            () ->
                TestStacks.storedMessages(stack.jdbcUrl(), "root", "", bob, "hello over SASL")
                    == 1);
        a.device.close();
        b.device.close();

        // The bridge's principal may not write iris.log (only the streams app does).
        Map<String, Object> asBridge =
            new java.util.HashMap<>(config.kafkaClients(KafkaClientProperties.BRIDGE).asMap());
        asBridge.put("max.block.ms", 10_000);
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> p =
            new org.apache.kafka.clients.producer.KafkaProducer<>(
                asBridge,
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
          ExecutionException e =
              assertThrows(
                  ExecutionException.class,
                  () ->
                      p.send(
                              new org.apache.kafka.clients.producer.ProducerRecord<>(
                                  "iris.log", new byte[8], new byte[] {1}))
                          .get(30, TimeUnit.SECONDS));
          assertTrue(
              e.getCause() instanceof org.apache.kafka.common.errors.TopicAuthorizationException,
              e.getCause().toString());
        }
      }
      // The password reached no log of this run.
      Path log = Path.of("target", "test.log");
      if (Files.exists(log)) {
        assertFalse(
            Files.readString(log, StandardCharsets.ISO_8859_1).contains(PASSWORD),
            "the SASL password appears in target/test.log");
      }
    } finally {
      TestStacks.delete(dir);
    }
  }
}
