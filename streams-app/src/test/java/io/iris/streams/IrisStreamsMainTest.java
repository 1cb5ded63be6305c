package io.iris.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.Ports;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IrisStreamsMainTest {
  @TempDir Path dir;

  final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

  String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  int run(Map<String, String> env, String... args) {
    return IrisStreamsMain.run(args, env, err);
  }

  @Test
  void shouldExitWithStatus2NamingTheMissingKeyAndItsVariable() {
    assertEquals(2, run(Map.of("IRIS_STREAMS_STATE_DIR", dir.toString())));
    assertTrue(err().startsWith("iris-streams: "), err());
    assertTrue(err().contains("\"kafka.bootstrap.servers\""), err());
    assertTrue(err().contains("(environment: IRIS_KAFKA_BOOTSTRAP_SERVERS)"), err());
    assertEquals(1, err().lines().count(), "one line");
  }

  @Test
  void shouldExitWithStatus2ForAStateDirMissingOrAValueOutOfRange() {
    assertEquals(2, run(Map.of("IRIS_KAFKA_BOOTSTRAP_SERVERS", "k:9092")));
    assertTrue(err().contains("streams.state.dir"), err());
    errBytes.reset();
    Map<String, String> env =
        Map.of(
            "IRIS_KAFKA_BOOTSTRAP_SERVERS", "k:9092",
            "IRIS_STREAMS_STATE_DIR", dir.toString(),
            "IRIS_STREAMS_PROCESSING_GUARANTEE", "exactly_once");
    assertEquals(2, run(env));
    assertTrue(err().contains("IRIS_STREAMS_PROCESSING_GUARANTEE"), err());
  }

  @Test
  void shouldExitWithStatus2ForAnUnreadableFileOrAWrongUsage() {
    assertEquals(2, run(Map.of(), dir.resolve("missing.properties").toString()));
    assertTrue(err().contains("missing.properties"), err());
    errBytes.reset();
    assertEquals(2, run(Map.of(), "a.properties", "b.properties"));
    assertTrue(err().contains("usage: IrisStreamsMain [config.properties]"), err());
    errBytes.reset();
    assertEquals(2, run(Map.of(), "--help"));
    assertTrue(err().contains("usage"), err());
  }

  @Test
  void shouldExitWithStatus1WhenTheAppDoesNotStart() {
    Map<String, String> env =
        Map.of(
            "IRIS_KAFKA_BOOTSTRAP_SERVERS",
            "127.0.0.1:" + Ports.freePort(),
            "IRIS_STREAMS_STATE_DIR",
            dir.toString(),
            "IRIS_STREAMS_START_TIMEOUT_MS",
            "1000",
            "IRIS_STREAMS_CLOSE_TIMEOUT_MS",
            "1000");
    assertEquals(1, run(env));
    assertTrue(
        err().contains("iris-streams: the streams app did not start: streams app did not reach"),
        err());
  }

  @Test
  void shouldAddTheEnvironmentVariableOnlyForAKeyItKnows() {
    assertEquals(
        "Invalid value x for configuration streams.num.threads"
            + " (environment: IRIS_STREAMS_NUM_THREADS)",
        IrisStreamsMain.withEnvName("Invalid value x for configuration streams.num.threads"));
    assertEquals("something else", IrisStreamsMain.withEnvName("something else"));
  }
}
