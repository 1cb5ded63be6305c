package io.iris.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BridgeConfigTest {

  @Test
  void shouldStartFromDocumentedDefaults() {
    BridgeConfig c = new BridgeConfig(Map.of());

    assertEquals(1883, c.getInt(BridgeConfig.MQTT_PORT_CONFIG));
    assertEquals(0, c.getInt(BridgeConfig.MQTT_TLS_PORT_CONFIG), "no TLS unless asked");
    assertEquals(50, c.getInt(BridgeConfig.MQTT_DELTA_BATCH_SIZE_CONFIG));
    assertEquals(500, c.getInt(BridgeConfig.MQTT_CATCHUP_MAX_DELTAS_CONFIG));
    assertEquals(5_000L, c.getLong(BridgeConfig.MQTT_RESNAPSHOT_AFTER_DELTAS_CONFIG));
    assertEquals(50.0, c.getDouble(BridgeConfig.MQTT_DEVICE_COMMANDS_PER_SECOND_CONFIG));
    assertEquals(300, c.getInt(BridgeConfig.MQTT_DEVICE_COMMANDS_BURST_CONFIG));
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({
    "mqtt.port, 0",
    "mqtt.port, 65536",
    "mqtt.tls.port, -1",
    "mqtt.max.message.bytes, 1023",
    "mqtt.delta.batch.size, 0",
    "mqtt.tier1.deltas.per.user, -1",
    "mqtt.tier1.users, 0",
    "mqtt.catchup.threads, 0",
    "mqtt.catchup.max.deltas, 0",
    "mqtt.resnapshot.after.deltas, 0",
    "mqtt.device.commands.per.second, 0",
    "mqtt.device.commands.burst, 0",
    "mqtt.port, not-a-number"
  })
  void shouldRefuseAValueOutOfRange(String key, String value) {
    ConfigException e =
        assertThrows(ConfigException.class, () -> new BridgeConfig(Map.of(key, value)));

    assertTrue(e.getMessage().contains(key), e.getMessage());
  }

  @Test
  void shouldKeepTheKeyStorePasswordHidden() {
    BridgeConfig c =
        new BridgeConfig(Map.of(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG, "pw1"));

    assertEquals("pw1", c.getPassword(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG).value());
    assertFalse(c.values().toString().contains("pw1"));
    assertEquals(
        ConfigDef.Type.PASSWORD,
        BridgeConfig.CONFIG.configKeys().get(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG).type);
  }

  @Test
  void shouldDocumentAndGroupEveryKey() {
    assertEquals(17, BridgeConfig.CONFIG.names().size());
    for (ConfigDef.ConfigKey k : BridgeConfig.CONFIG.configKeys().values()) {
      assertFalse(k.documentation == null || k.documentation.isBlank(), k.name);
      assertTrue(
          java.util.Set.of("Edge", "Push", "Catch-up", "Limits", "Bridges").contains(k.group),
          k.name);
      assertTrue(k.name.startsWith("mqtt."), k.name);
    }
  }
}
