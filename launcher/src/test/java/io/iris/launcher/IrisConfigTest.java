package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.BridgeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IrisConfigTest {

  @Test
  void shouldStartEverythingEmbeddedByDefault() {
    IrisConfig c = IrisConfig.load(null, Map.of());
    assertTrue(c.embeddedKafka());
    assertTrue(c.embeddedMysql());
    assertTrue(c.embeddedConnect());
    assertEquals(9092, c.getInt(IrisConfig.KAFKA_PORT_CONFIG));
    assertEquals("127.0.0.1", c.bindHost());
  }

  @Test
  void environmentShouldWinOverFileWhichWinsOverDefaults(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("iris.properties");
    Files.writeString(
        file, "kafka.port=9100\nmqtt.port=1999\ntopics.device-pointers.partitions=3\n");
    IrisConfig c = IrisConfig.load(file, Map.of("IRIS_MQTT_PORT", "2000"));
    assertEquals(9100, c.getInt(IrisConfig.KAFKA_PORT_CONFIG));
    assertEquals(2000, c.getInt(BridgeConfig.MQTT_PORT_CONFIG));
    assertEquals(3, c.getInt(IrisConfig.TOPICS_POINTERS_PARTITIONS_CONFIG));
  }

  @Test
  void shouldMapKeysToEnvironmentNames() {
    assertEquals("IRIS_MYSQL_URL", IrisConfig.envName("mysql.url"));
    assertEquals(
        "IRIS_TOPICS_DEVICE_POINTERS_PARTITIONS",
        IrisConfig.envName(IrisConfig.TOPICS_POINTERS_PARTITIONS_CONFIG));
  }

  @Test
  void externalUrlsShouldTurnEmbeddedPartsOff() {
    IrisConfig c =
        IrisConfig.load(
            null,
            Map.of(
                "IRIS_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092",
                "IRIS_MYSQL_URL", "jdbc:mysql://db:3306/iris",
                "IRIS_CONNECT_URL", "http://connect:8083"));
    assertFalse(c.embeddedKafka());
    assertFalse(c.embeddedMysql());
    assertFalse(c.embeddedConnect());
  }

  @Test
  void shouldRejectOutOfRangeValuesNamingTheKey() {
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> IrisConfig.load(null, Map.of("IRIS_MQTT_PORT", "70000")));
    assertTrue(e.getMessage().contains("mqtt.port"), e.getMessage());
  }

  @Test
  void shouldNeverShowThePassword() {
    IrisConfig c =
        IrisConfig.load(
            null,
            Map.of(
                "IRIS_MYSQL_PASSWORD", "s3cret",
                "IRIS_MQTT_TLS_KEYSTORE_PASSWORD", "k3ystore"));
    assertEquals("s3cret", c.mysqlPassword().value());
    assertFalse(c.mysqlPassword().toString().contains("s3cret"));
    // What AbstractConfig logs at start and what a component's wiring prints.
    assertFalse(c.values().toString().contains("s3cret"), c.values().toString());
    BridgeConfig bridge = c.bridgeConfig();
    assertFalse(bridge.values().toString().contains("k3ystore"));
    assertEquals(
        "k3ystore",
        bridge.getPassword(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG).value(),
        "the bridge's part of the configuration still carries the secret");
    var wiring =
        new io.iris.bridge.IrisBridge.Wiring(
            io.iris.bridge.KafkaClients.of("k:9092"), "jdbc:mysql://db/iris", "u", "s3cret", "h");
    assertFalse(wiring.toString().contains("s3cret"), wiring.toString());
  }

  @Test
  void shouldRedactPasswordsInJdbcUrls() {
    assertEquals(
        "jdbc:mysql://h/db?user=u&password=***&ssl=true",
        IrisStack.redact("jdbc:mysql://h/db?user=u&password=p4ss&ssl=true"));
  }

  @Test
  void shouldGiveEachRoleItsKafkaClientPropertiesAndTheConnectWorkersClientsTheirs() {
    Map<String, Object> given = new java.util.HashMap<>();
    given.put(IrisConfig.KAFKA_BOOTSTRAP_CONFIG, "k1:9093,k2:9093");
    given.put("kafka.client.security.protocol", "SASL_SSL");
    given.put("kafka.client.bridge.sasl.jaas.config", "bridge-jaas");
    given.put("kafka.client.connect.sasl.jaas.config", "connect-jaas");
    IrisConfig c = new IrisConfig(given);

    Map<String, Object> bridge = c.kafkaClients("bridge").asMap();
    assertEquals("k1:9093,k2:9093", bridge.get("bootstrap.servers"));
    assertEquals("SASL_SSL", bridge.get("security.protocol"));
    assertEquals("bridge-jaas", bridge.get("sasl.jaas.config"));
    assertEquals(null, c.kafkaClients("tools").asMap().get("sasl.jaas.config"));

    Map<String, String> worker = IrisStack.connectClientOverrides(c.originals());
    for (String prefix : List.of("", "producer.", "consumer.", "admin.")) {
      assertEquals("connect-jaas", worker.get(prefix + "sasl.jaas.config"), prefix);
      assertEquals("SASL_SSL", worker.get(prefix + "security.protocol"), prefix);
    }
    assertTrue(IrisConfig.describe().contains("kafka.client.<role>.<property>"));
  }
}
