package io.iris.launcher;

import static io.iris.launcher.FakeConnect.error;
import static io.iris.launcher.FakeConnect.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SinkRegistrationTest {
  static final String BASE = "/connectors/" + SinkRegistration.NAME;
  static final String PASSWORD = "pa\"ss\\word\n";

  FakeConnect connect;
  SinkRegistration registration;

  @BeforeEach
  void start() throws Exception {
    connect = FakeConnect.start();
    registration =
        new SinkRegistration(
            new ConnectClient(connect.url(), Duration.ofSeconds(5), Duration.ofMillis(5)));
  }

  @AfterEach
  void stop() {
    connect.close();
  }

  static String config() {
    return SinkRegistration.render(
        Map.of(
            "mysql.url", "jdbc:mysql://127.0.0.1:3306/iris?rewriteBatchedStatements=true",
            "mysql.user", "iris",
            "mysql.password", PASSWORD,
            "replication.factor", "3"));
  }

  @Test
  void shouldRenderValidJsonWhateverThePasswordHolds() throws Exception {
    JsonNode c = new ObjectMapper().readTree(config());

    assertEquals(PASSWORD, c.get("connection.password").asText());
    assertEquals("iris", c.get("connection.username").asText());
    assertEquals("3", c.get("errors.deadletterqueue.topic.replication.factor").asText());
    assertEquals("iris.log", c.get("topics").asText());
  }

  @Test
  void shouldRefuseATemplateValueItWasNotGiven() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SinkRegistration.render(Map.of("mysql.url", "jdbc:mysql://h/iris")));

    assertTrue(e.getMessage().startsWith("no value for ${"), e.getMessage());
  }

  @Test
  void shouldPutTheConfigThenWaitUntilTheTaskRuns() {
    connect.on("PUT " + BASE + "/config", 201, "{}");
    connect.on("GET " + BASE + "/status", 404, error(404, "No status found"));
    connect.on("GET " + BASE + "/status", 200, status(SinkRegistration.NAME, "RUNNING", "RUNNING"));

    registration.register(config(), Duration.ofSeconds(10));

    assertEquals(
        List.of("PUT " + BASE + "/config", "GET " + BASE + "/status", "GET " + BASE + "/status"),
        connect.calls());
    assertEquals(config(), connect.requests().get(0).body());
  }

  @Test
  void shouldStopStartupWithTheTaskTraceWhenTheSinkFails() {
    connect.on("PUT " + BASE + "/config", 200, "{}");
    connect.on("GET " + BASE + "/status", 200, status(SinkRegistration.NAME, "RUNNING", "FAILED"));

    StartupException e =
        assertThrows(
            StartupException.class, () -> registration.register(config(), Duration.ofSeconds(10)));

    assertTrue(
        e.getMessage().startsWith("the MySQL sink did not start: connector iris-mysql-sink failed"),
        e.getMessage());
    assertTrue(
        e.getMessage().contains("(cause: java.sql.SQLException: Communications link failure)"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("with the configured user"), e.getMessage());
    assertFalse(e.getMessage().contains("pa\"ss"), e.getMessage());
  }

  @Test
  void shouldStopStartupWhenConnectRefusesTheConfig() {
    connect.on(
        "PUT " + BASE + "/config",
        500,
        error(500, "Failed to find any class that implements Connector"));

    StartupException e =
        assertThrows(
            StartupException.class, () -> registration.register(config(), Duration.ofSeconds(10)));

    assertEquals(
        "cannot register the MySQL sink: Kafka Connect at "
            + connect.url()
            + " answered HTTP 500 to PUT "
            + BASE
            + "/config: Failed to find any class that implements Connector; the Connect worker's"
            + " log has the stack trace",
        e.getMessage());
    assertEquals(List.of("PUT " + BASE + "/config"), connect.calls());
  }
}
