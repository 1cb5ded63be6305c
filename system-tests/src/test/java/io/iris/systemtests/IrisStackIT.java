package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.iris.launcher.IrisStack;
import io.iris.testkit.TestStacks;
import io.iris.topics.Topic;
import io.iris.topics.Topics;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded stack as a user meets it: real broker, MariaDB, Connect and MQTT edge. */
class IrisStackIT {
  static IrisStack stack;

  @BeforeAll
  static void start() {
    stack = TestStacks.shared();
  }

  @Test
  void shouldCreateEveryContractTopicWithItsPartitionsAndConfigs() throws Exception {
    try (Admin admin = Admin.create(stack.adminConfig())) {
      List<String> names = Topics.ALL.stream().map(Topic::name).toList();
      Map<String, TopicDescription> described =
          admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
      assertEquals(12, described.get("iris.log").partitions().size());
      assertEquals(6, described.get("iris.commands").partitions().size());
      Map<ConfigResource, Config> configs =
          admin
              .describeConfigs(
                  names.stream()
                      .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n))
                      .toList())
              .all()
              .get(30, TimeUnit.SECONDS);
      assertEquals(
          "compact",
          configs
              .get(new ConfigResource(ConfigResource.Type.TOPIC, "iris.device-pointers"))
              .get("cleanup.policy")
              .value());
      assertEquals(
          Long.toString(7L * 24 * 3600 * 1000),
          configs
              .get(new ConfigResource(ConfigResource.Type.TOPIC, "iris.log"))
              .get("retention.ms")
              .value());
    }
  }

  @Test
  void shouldServeTheIrisSchemaInUtf8mb4() throws Exception {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='iris'")) {
      assertTrue(rs.next(), "schema iris exists");
      assertEquals("utf8mb4", rs.getString(1));
    }
  }

  @Test
  void shouldLoadTheJdbcSinkIntoConnect() throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(stack.connectUrl() + "/connector-plugins"))
                    .build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode());
    assertTrue(
        r.body().contains("io.debezium.connector.jdbc.JdbcSinkConnector"), "plugins: " + r.body());
  }

  @Test
  void shouldRefuseMqttWithoutOrWithWrongCredentials() throws Exception {
    String url = "tcp://127.0.0.1:" + stack.mqtt().settings().port();
    long refusedBefore = stack.mqtt().refusedConnects();
    MqttClient client = new MqttClient(url, "it-device", new MemoryPersistence());
    MqttConnectOptions anonymous = new MqttConnectOptions();
    anonymous.setConnectionTimeout(5);
    MqttException e = assertThrows(MqttException.class, () -> client.connect(anonymous));
    assertTrue(
        e.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION
            || e.getReasonCode() == MqttException.REASON_CODE_NOT_AUTHORIZED,
        "reason " + e.getReasonCode());

    MqttConnectOptions wrong = new MqttConnectOptions();
    wrong.setConnectionTimeout(5);
    wrong.setUserName("42");
    wrong.setPassword("not-a-token".toCharArray());
    assertThrows(MqttException.class, () -> client.connect(wrong));
    assertFalse(client.isConnected());
    client.close();
    assertTrue(stack.mqtt().refusedConnects() >= refusedBefore + 1);
  }

  @Test
  void shouldRefuseAStockMosquittoClientWithoutCredentials() throws Exception {
    assumeTrue(
        new File("/usr/bin/mosquitto_pub").canExecute(), "mosquitto-clients are not installed");
    Process p =
        new ProcessBuilder(
                "mosquitto_pub",
                "-V",
                "mqttv311",
                "-i",
                "stock-client",
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(stack.mqtt().settings().port()),
                "-t",
                "x",
                "-m",
                "hello")
            .redirectErrorStream(true)
            .start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.exitValue() != 0, "mosquitto_pub must be refused: " + out);
    assertTrue(out.contains("refused"), out);
  }
}
