package io.iris.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamsMainConfigTest {
  @TempDir Path dir;

  static final Map<String, String> REQUIRED =
      Map.of(
          "IRIS_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092",
          "IRIS_STREAMS_STATE_DIR", "/var/lib/iris/streams");

  Path file(String content) throws IOException {
    return Files.writeString(dir.resolve("streams.properties"), content);
  }

  @Test
  void shouldNameEachKeysEnvironmentVariableLikeTheIrisCommand() {
    assertEquals(
        "IRIS_KAFKA_BOOTSTRAP_SERVERS", StreamsMainConfig.envName("kafka.bootstrap.servers"));
    assertEquals("IRIS_A_B_C", StreamsMainConfig.envName("a.b-c"));
  }

  @Test
  void shouldRequireTheBootstrapServersAndTheStateDir() {
    ConfigException noKafka =
        assertThrows(
            ConfigException.class,
            () -> StreamsMainConfig.load(null, Map.of("IRIS_STREAMS_STATE_DIR", "/s")));
    assertTrue(noKafka.getMessage().contains("kafka.bootstrap.servers"), noKafka.getMessage());
    ConfigException noState =
        assertThrows(
            ConfigException.class,
            () -> StreamsMainConfig.load(null, Map.of("IRIS_KAFKA_BOOTSTRAP_SERVERS", "k:9092")));
    assertTrue(noState.getMessage().contains("streams.state.dir"), noState.getMessage());
    ConfigException blank =
        assertThrows(
            ConfigException.class,
            () ->
                StreamsMainConfig.load(
                    null,
                    Map.of("IRIS_KAFKA_BOOTSTRAP_SERVERS", " ", "IRIS_STREAMS_STATE_DIR", "/s")));
    assertTrue(blank.getMessage().contains("kafka.bootstrap.servers"), blank.getMessage());
  }

  @Test
  void shouldTakeTheFileThenLetTheEnvironmentWin() throws IOException {
    Path f =
        file(
            """
            kafka.bootstrap.servers = file:9092
            streams.state.dir = /from/file
            streams.num.threads = 3
            commands.max.text.bytes = 500
            """);
    StreamsMainConfig c = StreamsMainConfig.load(f, Map.of("IRIS_STREAMS_NUM_THREADS", " 4 "));
    assertEquals("file:9092", c.bootstrapServers());
    assertEquals(Path.of("/from/file"), c.stateDir());
    StreamsAppConfig app = c.appConfig();
    assertEquals(4, app.getInt(StreamsAppConfig.NUM_THREADS_CONFIG));
    assertEquals(500, app.maxTextBytes());
  }

  @Test
  void shouldDefaultTheTimeoutsAndTheAppsKeys() {
    StreamsMainConfig c = StreamsMainConfig.load(null, REQUIRED);
    assertEquals(Duration.ofMinutes(2), c.startTimeout());
    assertEquals(IrisStreamsApp.DEFAULT_CLOSE_TIMEOUT, c.closeTimeout());
    assertEquals("k1:9092,k2:9092", c.bootstrapServers());
    assertEquals(250, c.appConfig().maxParticipants());
  }

  @Test
  void shouldRefuseAnInvalidValueNamingItsKey() {
    Map<String, String> env = new java.util.HashMap<>(REQUIRED);
    env.put("IRIS_STREAMS_NUM_THREADS", "0");
    ConfigException e =
        assertThrows(ConfigException.class, () -> StreamsMainConfig.load(null, env));
    assertTrue(e.getMessage().contains("streams.num.threads"), e.getMessage());
  }

  @Test
  void shouldSayWhichFileItCannotRead() {
    Path missing = dir.resolve("nope.properties");
    ConfigException e =
        assertThrows(ConfigException.class, () -> StreamsMainConfig.load(missing, REQUIRED));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void shouldDocumentEveryKeyAndKeepEveryKeyOfTheApp() {
    for (ConfigDef.ConfigKey k : StreamsMainConfig.CONFIG.configKeys().values()) {
      assertFalse(k.documentation == null || k.documentation.isBlank(), k.name);
    }
    assertTrue(StreamsMainConfig.CONFIG.names().containsAll(StreamsAppConfig.CONFIG.names()));
    assertFalse(
        StreamsAppConfig.CONFIG.names().contains(StreamsMainConfig.BOOTSTRAP_SERVERS_CONFIG),
        "the app's keys are embedded in the iris command's, which has its own bootstrap key");
  }
}
