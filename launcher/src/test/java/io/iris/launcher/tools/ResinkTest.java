package io.iris.launcher.tools;

import static io.iris.launcher.FakeConnect.error;
import static io.iris.launcher.FakeConnect.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.iris.bridge.KafkaClients;
import io.iris.launcher.ConnectClient;
import io.iris.launcher.FakeConnect;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Connect and MySQL steps of a resink, against a canned Connect REST API. */
class ResinkTest {
  static final String NAME = Resink.CONNECTOR;
  static final String BASE = "/connectors/" + NAME;

  FakeConnect connect;
  Resink resink;
  ByteArrayOutputStream printed = new ByteArrayOutputStream();
  PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @BeforeEach
  void start() throws Exception {
    connect = FakeConnect.start();
    resink =
        new Resink(
            KafkaClients.of("unused:9092"),
            new ConnectClient(connect.url(), Duration.ofSeconds(5), Duration.ofMillis(5)),
            "jdbc:mysql://unused/iris",
            "root",
            "");
  }

  @AfterEach
  void stop() {
    connect.close();
  }

  @Test
  void shouldStopDeleteOffsetsEmptyTheTablesAndResumeInThatOrder() {
    connect.on("PUT " + BASE + "/stop", 204, null);
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "RUNNING"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "STOPPED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "UNASSIGNED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "RUNNING"));
    connect.on("DELETE " + BASE + "/offsets", 200, "{\"message\":\"reset successfully\"}");
    connect.on("PUT " + BASE + "/resume", 202, null);
    List<String> emptiedAfter = new java.util.ArrayList<>();

    resink.rebuild(0, out, () -> emptiedAfter.addAll(connect.calls()));

    assertEquals(
        List.of(
            "PUT " + BASE + "/stop",
            "GET " + BASE + "/status",
            "GET " + BASE + "/status",
            "DELETE " + BASE + "/offsets"),
        emptiedAfter);
    assertEquals(
        List.of("PUT " + BASE + "/resume", "GET " + BASE + "/status", "GET " + BASE + "/status"),
        connect.calls().subList(emptiedAfter.size(), connect.calls().size()));
    String text = printed.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("resink: stopping connector iris-mysql-sink"), text);
    assertTrue(text.contains("resink: running."), text);
  }

  @Test
  void shouldSayTheSinkIsIntactAndHowToResumeItWhenOffsetsCannotBeDeleted() {
    connect.on("PUT " + BASE + "/stop", 204, null);
    connect.on("GET " + BASE + "/status", 200, status(NAME, "STOPPED"));
    connect.on("DELETE " + BASE + "/offsets", 500, error(500, "Failed to reset offsets"));

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> resink.rebuild(0, out, () -> fail("should not empty the tables")));

    assertEquals(
        "deleting the sink's offsets failed: Kafka Connect at "
            + connect.url()
            + " answered HTTP 500 to DELETE "
            + BASE
            + "/offsets: Failed to reset offsets; the Connect worker's log has the stack trace."
            + " Nothing was deleted and the sink may be STOPPED: run `iris resink` again, or"
            + " resume it with PUT "
            + connect.url()
            + BASE
            + "/resume",
        e.getMessage());
  }

  @Test
  void shouldSayWhatToDoWhenTheTablesCannotBeEmptied() {
    connect.on("PUT " + BASE + "/stop", 204, null);
    connect.on("GET " + BASE + "/status", 200, status(NAME, "STOPPED"));
    connect.on("DELETE " + BASE + "/offsets", 200, "{}");

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                resink.rebuild(
                    0,
                    out,
                    () -> {
                      throw new SQLException("Communications link failure");
                    }));

    assertTrue(
        e.getMessage()
            .startsWith(
                "could not empty the tables (Communications link failure); the sink is STOPPED"
                    + " and its offsets are deleted"),
        e.getMessage());
    assertTrue(
        connect.calls().stream().noneMatch(c -> c.endsWith("/resume")), connect.calls()::toString);
  }

  @Test
  void shouldSayStoppingFailedAndNothingWasDeleted() {
    connect.on("PUT " + BASE + "/stop", 404, error(404, "Connector iris-mysql-sink not found"));

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> resink.rebuild(0, out, () -> fail("should not empty the tables")));

    assertTrue(e.getMessage().startsWith("stopping the sink failed: "), e.getMessage());
    assertTrue(e.getMessage().endsWith("Nothing was deleted; run `iris resink` again."));
    assertEquals(List.of("PUT " + BASE + "/stop"), connect.calls());
  }
}
