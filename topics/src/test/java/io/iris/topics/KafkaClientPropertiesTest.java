package io.iris.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientPropertiesTest {
  @TempDir Path dir;

  private static final Map<String, Object> GIVEN =
      Map.of(
          "kafka.client.security.protocol", "SASL_SSL",
          "kafka.client.sasl.mechanism", "SCRAM-SHA-512",
          "kafka.client.bridge.sasl.jaas.config", new Password("bridge-secret"),
          "kafka.client.streams.sasl.jaas.config", "streams-secret",
          "kafka.client.tools.security.protocol", "SSL",
          "kafka.client.bootstrap.servers", "elsewhere:9092",
          "mysql.url", "jdbc:mysql://x/iris");

  @Test
  void shouldGiveEachRoleTheCommonPropertiesAndItsOwnOverThem() {
    assertEquals(
        Map.of(
            "security.protocol", "SASL_SSL",
            "sasl.mechanism", "SCRAM-SHA-512",
            "sasl.jaas.config", "bridge-secret"),
        KafkaClientProperties.forRole(GIVEN, KafkaClientProperties.BRIDGE),
        "a Password is passed on as its value; bootstrap.servers is each process's own setting");
    assertEquals(
        "streams-secret",
        KafkaClientProperties.forRole(GIVEN, KafkaClientProperties.STREAMS)
            .get("sasl.jaas.config"));
    assertEquals(
        "SSL",
        KafkaClientProperties.forRole(GIVEN, KafkaClientProperties.TOOLS).get("security.protocol"),
        "the role's own wins");
    assertEquals(
        Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512"),
        KafkaClientProperties.forRole(GIVEN, KafkaClientProperties.CONNECT),
        "no other role's");
    assertThrows(
        IllegalArgumentException.class, () -> KafkaClientProperties.forRole(GIVEN, "brdige"));
  }

  @Test
  void shouldReadThePassThroughFromTheEnvironmentAndFromAFile() throws Exception {
    Path file = dir.resolve("iris.properties");
    Files.writeString(file, "kafka.client.ssl.truststore.location=/etc/iris/trust.p12\n");
    Map<String, Object> values =
        ConfigLayers.values(
            List.of("mysql.url"),
            file,
            Map.of(
                "IRIS_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL ",
                "IRIS_KAFKA_CLIENT_BRIDGE_SASL_JAAS_CONFIG", "x required;",
                "IRIS_MYSQL_URL", "jdbc:mysql://db/iris",
                "IRIS_KAFKA_CLIENT_", "ignored: no property"));
    assertEquals("SASL_SSL", values.get("kafka.client.security.protocol"));
    assertEquals("x required;", values.get("kafka.client.bridge.sasl.jaas.config"));
    assertEquals("/etc/iris/trust.p12", values.get("kafka.client.ssl.truststore.location"));
    assertEquals("jdbc:mysql://db/iris", values.get("mysql.url"));
    assertEquals(4, values.size(), values.toString());
  }

  @Test
  void shouldHideWhatMayBeASecret() {
    Map<String, Object> shown =
        KafkaClientProperties.redacted(
            Map.of(
                "sasl.jaas.config", "org.apache...ScramLoginModule required password=\"p\";",
                "ssl.keystore.password", "p",
                "ssl.key.password", "p",
                "sasl.oauthbearer.token.endpoint.url", "https://idp/token",
                "security.protocol", "SASL_SSL"));
    assertEquals("SASL_SSL", shown.get("security.protocol"));
    assertFalse(shown.toString().contains("p\""), shown.toString());
    assertTrue(shown.values().stream().filter("[hidden]"::equals).count() >= 3);
  }
}
