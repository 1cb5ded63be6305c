package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.Ports;
import io.iris.launcher.IrisCli;
import io.iris.launcher.IrisConfig;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.TestStacks;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The packaged {@code iris} launcher run as a user runs it: bad configuration is one line on
 * stderr, exit code 2, no stack trace.
 */
class IrisCliIT {
  record Result(int exitCode, String stdout, String stderr) {}

  static Result run(Map<String, String> env, String... args) throws Exception {
    try (LauncherProcess p = LauncherProcess.start(env, args)) {
      int rc = p.waitFor(Duration.ofSeconds(60));
      return new Result(rc, p.stdout(), p.stderr());
    }
  }

  static Map<String, String> env(Path dataDir, Map<String, String> extra) {
    Map<String, String> env = new java.util.HashMap<>();
    env.put("IRIS_DATA_DIR", dataDir.toString());
    env.put("IRIS_KAFKA_PORT", Integer.toString(Ports.freePort()));
    env.put("IRIS_KAFKA_CONTROLLER_PORT", Integer.toString(Ports.freePort()));
    env.put("IRIS_MYSQL_PORT", Integer.toString(Ports.freePort()));
    env.put("IRIS_CONNECT_PORT", Integer.toString(Ports.freePort()));
    env.put("IRIS_MQTT_PORT", Integer.toString(Ports.freePort()));
    env.put("IRIS_OPS_PORT", Integer.toString(Ports.freePort()));
    env.putAll(extra);
    return env;
  }

  private static void assertOneLineError(Result r, String... fragments) {
    assertEquals(
        IrisCli.EXIT_CONFIG, r.exitCode(), "stdout: " + r.stdout() + " stderr: " + r.stderr());
    List<String> lines = r.stderr().lines().filter(l -> l.startsWith("iris: ")).toList();
    assertEquals(1, lines.size(), r.stderr());
    for (String f : fragments) {
      assertTrue(lines.get(0).contains(f), lines.get(0));
    }
    assertFalse(r.stderr().contains("\tat "), "no stack trace: " + r.stderr());
  }

  @Test
  void shouldNameTheTakenPortAndTheKeyToChange() throws Exception {
    Path dir = TestStacks.newDataDir("cli");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Result r = run(env(dir, Map.of("IRIS_MQTT_PORT", Integer.toString(port))), "up");
      assertOneLineError(r, "port " + port, "mqtt.port", "IRIS_MQTT_PORT");
    } finally {
      TestStacks.delete(dir);
    }
  }

  @Test
  void shouldNameAnUnreachableMysqlWithoutItsPassword() throws Exception {
    Path dir = TestStacks.newDataDir("cli");
    try {
      String url = "jdbc:mysql://127.0.0.1:" + Ports.freePort() + "/iris?password=hunter2";
      Result r =
          run(env(dir, Map.of("IRIS_MYSQL_URL", url, "IRIS_MYSQL_PASSWORD", "hunter2")), "up");
      assertOneLineError(r, "cannot reach MySQL", "IRIS_MYSQL_URL");
      assertFalse(r.stderr().contains("hunter2"), "the password is never printed: " + r.stderr());
    } finally {
      TestStacks.delete(dir);
    }
  }

  @Test
  void shouldNameAnUnwritableDataDirectory() throws Exception {
    Path file = Files.createTempFile("not-a-dir", "");
    try {
      Result r = run(env(file.resolve("sub"), Map.of()), "up");
      assertOneLineError(r, "not writable", "IRIS_DATA_DIR");
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void shouldRefuseAnInvalidValueWithTheKeyName() throws Exception {
    Path dir = TestStacks.newDataDir("cli");
    try {
      Result r = run(env(dir, Map.of("IRIS_TOPICS_LOG_PARTITIONS", "zero")), "up");
      assertOneLineError(r, "topics.log.partitions");
    } finally {
      TestStacks.delete(dir);
    }
  }

  @Test
  void shouldDocumentEveryKey() throws Exception {
    Result r = run(Map.of(), "config");
    assertEquals(0, r.exitCode(), r.stderr());
    for (String key : IrisConfig.CONFIG.names()) {
      assertTrue(r.stdout().contains("`" + key + "`"), key);
    }
  }
}
