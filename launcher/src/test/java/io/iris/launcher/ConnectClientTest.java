package io.iris.launcher;

import static io.iris.launcher.FakeConnect.error;
import static io.iris.launcher.FakeConnect.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.ConnectClient.ConnectorStatus;
import io.iris.launcher.ConnectClient.TaskStatus;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConnectClientTest {
  static final String NAME = "iris-mysql-sink";
  static final String BASE = "/connectors/" + NAME;

  FakeConnect connect;
  ConnectClient client;

  @BeforeEach
  void start() throws Exception {
    connect = FakeConnect.start();
    client = new ConnectClient(connect.url() + "/", Duration.ofSeconds(5), Duration.ofMillis(5));
  }

  @AfterEach
  void stop() {
    connect.close();
  }

  @Test
  void shouldReadTheStatusDocumentOfConnectsRestReference() {
    // The example of Kafka Connect's REST API reference, GET /connectors/{name}/status.
    connect.on(
        "GET " + BASE + "/status",
        200,
        """
        {
            "name": "iris-mysql-sink",
            "connector": {
                "state": "RUNNING",
                "worker_id": "fakehost:8083"
            },
            "tasks":
            [
                {
                    "id": 0,
                    "state": "RUNNING",
                    "worker_id": "fakehost:8083"
                },
                {
                    "id": 1,
                    "state": "FAILED",
                    "worker_id": "fakehost:8083",
                    "trace": "org.apache.kafka.common.errors.RecordTooLargeException\\n"
                }
            ],
            "type": "sink"
        }
        """);

    ConnectorStatus s = client.status(NAME);

    assertEquals(NAME, s.name());
    assertEquals("RUNNING", s.state());
    assertEquals("fakehost:8083", s.workerId());
    assertNull(s.trace());
    assertEquals(
        List.of(
            new TaskStatus(0, "RUNNING", "fakehost:8083", null),
            new TaskStatus(
                1,
                "FAILED",
                "fakehost:8083",
                "org.apache.kafka.common.errors.RecordTooLargeException\n")),
        s.tasks());
    assertTrue(s.failed());
    assertFalse(s.running());
    assertEquals("task 1: org.apache.kafka.common.errors.RecordTooLargeException", s.failure());
    assertEquals("connector RUNNING, task 0 RUNNING, task 1 FAILED", s.summary());
  }

  @Test
  void shouldNameTheFailureByItsFirstTraceLineAndItsRootCause() {
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "FAILED"));

    assertEquals(
        "task 0: org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to"
            + " unrecoverable exception. (cause: java.sql.SQLException: Communications link"
            + " failure)",
        client.status(NAME).failure());
  }

  @Test
  void shouldReportAFailedConnectorBeforeItsTasks() {
    connect.on(
        "GET " + BASE + "/status",
        200,
        "{\"name\":\"x\",\"connector\":{\"state\":\"FAILED\",\"worker_id\":\"w\",\"trace\":"
            + "\"org.apache.kafka.common.config.ConfigException: Missing required configuration"
            + " \\\"connection.url\\\"\\n\\tat x.y(Z.java:1)\"},\"tasks\":[]}");

    ConnectorStatus s = client.status(NAME);

    assertTrue(s.failed());
    assertEquals(
        "connector: org.apache.kafka.common.config.ConfigException: Missing required configuration"
            + " \"connection.url\"",
        s.failure());
    assertEquals("connector FAILED, no tasks", s.summary());
  }

  @Test
  void shouldCountAConnectorRunningOnlyWhenEveryTaskIs() {
    assertTrue(running("RUNNING", "RUNNING"));
    assertTrue(running("RUNNING", "RUNNING", "RUNNING"));
    assertFalse(running("RUNNING"), "no task yet");
    assertFalse(running("RUNNING", "UNASSIGNED"));
    assertFalse(running("RUNNING", "RUNNING", "RESTARTING"));
    assertFalse(running("PAUSED", "PAUSED"));
    assertFalse(running("UNASSIGNED", "RUNNING"));
  }

  private static boolean running(String connector, String... tasks) {
    List<TaskStatus> ts = new java.util.ArrayList<>();
    for (int i = 0; i < tasks.length; i++) {
      ts.add(new TaskStatus(i, tasks[i], "w", null));
    }
    return new ConnectorStatus(NAME, connector, "w", null, ts).running();
  }

  @Test
  void shouldPutTheConfigAsJsonAndSayWhetherItCreatedTheConnector() {
    String config = "{\"connection.password\":\"s3cret\"}";
    connect.on("PUT " + BASE + "/config", 201, "{\"name\":\"" + NAME + "\"}");
    connect.on("PUT " + BASE + "/config", 200, "{\"name\":\"" + NAME + "\"}");

    assertTrue(client.putConfig(NAME, config), "201 Created");
    assertFalse(client.putConfig(NAME, config), "200 OK: updated");

    FakeConnect.Request put = connect.requests().get(0);
    assertEquals("PUT", put.method());
    assertEquals(BASE + "/config", put.target());
    assertEquals("application/json", put.contentType());
    assertEquals(config, put.body());
  }

  @Test
  void shouldSayWhatConnectRefusedWithoutRepeatingTheConfig() {
    connect.on(
        "PUT " + BASE + "/config",
        400,
        error(
            400,
            "Connector configuration is invalid and contains the following 1 error(s):\\n"
                + "Invalid value for configuration insert.mode"));

    ConnectRestException e =
        assertThrows(
            ConnectRestException.class,
            () -> client.putConfig(NAME, "{\"connection.password\":\"s3cret\"}"));

    assertEquals(400, e.httpStatus());
    assertEquals(
        "Kafka Connect at "
            + connect.url()
            + " answered HTTP 400 to PUT "
            + BASE
            + "/config: Connector configuration is invalid and contains the following 1"
            + " error(s):\nInvalid value for configuration insert.mode",
        e.getMessage());
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
  }

  @Test
  void shouldSayWhenAnAnswerIsNotAConnectorStatus() {
    connect.on("GET " + BASE + "/status", 200, "{\"version\":\"4.4.0\"}");

    ConnectRestException e = assertThrows(ConnectRestException.class, () -> client.status(NAME));

    assertEquals(
        "Kafka Connect at "
            + connect.url()
            + " answered GET "
            + BASE
            + "/status with a document that is not a connector status (no connector.state):"
            + " {\"version\":\"4.4.0\"}; is "
            + connect.url()
            + " the REST address of a Kafka Connect worker?",
        e.getMessage());
  }

  @Test
  void shouldSayTheConnectorIsMissingAndHowToListThem() {
    ConnectRestException e = assertThrows(ConnectRestException.class, () -> client.status(NAME));

    assertEquals(404, e.httpStatus());
    assertTrue(
        e.getMessage()
            .endsWith(
                ": Unknown route: GET "
                    + BASE
                    + "/status; is the connector registered? GET "
                    + connect.url()
                    + "/connectors lists them"),
        e.getMessage());
  }

  @Test
  void shouldAdviseToRetryWhenConnectIsRebalancing() {
    connect.on(
        "POST " + BASE + "/restart?includeTasks=true&onlyFailed=true",
        409,
        error(409, "Cannot complete request momentarily due to stale configuration"));

    ConnectRestException e =
        assertThrows(ConnectRestException.class, () -> client.restartFailed(NAME));

    assertEquals(409, e.httpStatus());
    assertTrue(e.getMessage().contains("due to stale configuration; "), e.getMessage());
    assertTrue(e.getMessage().endsWith("try again in a few seconds"), e.getMessage());
  }

  @Test
  void shouldShowTheStartOfAnAnswerThatIsNotConnectsErrorDocument() {
    connect.on(
        "GET " + BASE + "/status",
        502,
        "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + "x".repeat(500));

    ConnectRestException e = assertThrows(ConnectRestException.class, () -> client.status(NAME));

    assertEquals(502, e.httpStatus());
    assertTrue(
        e.getMessage()
            .contains(
                "answered HTTP 502 to GET "
                    + BASE
                    + "/status: an answer that is not Connect's error document: <html> <head>"
                    + "<title>502 Bad Gateway</title></head> <body>xxx"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("...; the Connect worker's log has the stack trace"));
    assertTrue(e.getMessage().length() < 400, e.getMessage());
  }

  @Test
  void shouldRestartOnlyTheFailedTasks() {
    connect.on(
        "POST " + BASE + "/restart?includeTasks=true&onlyFailed=true",
        202,
        status(NAME, "RUNNING", "RESTARTING"));

    client.restartFailed(NAME);

    assertEquals(
        List.of("POST " + BASE + "/restart?includeTasks=true&onlyFailed=true"), connect.calls());
  }

  @Test
  void shouldStopDeleteOffsetsAndResumeWithTheDocumentedCalls() {
    connect.on("PUT " + BASE + "/stop", 204, null);
    connect.on(
        "DELETE " + BASE + "/offsets",
        200,
        "{\"message\":\"The offsets for this connector have been reset successfully\"}");
    connect.on("PUT " + BASE + "/resume", 202, null);

    client.stop(NAME);
    client.deleteOffsets(NAME);
    client.resume(NAME);

    assertEquals(
        List.of("PUT " + BASE + "/stop", "DELETE " + BASE + "/offsets", "PUT " + BASE + "/resume"),
        connect.calls());
  }

  @Test
  void shouldSayWhyConnectRefusedToDeleteOffsets() {
    connect.on(
        "DELETE " + BASE + "/offsets",
        400,
        error(
            400,
            "Connectors must be in the STOPPED state before their offsets can be modified. This"
                + " can be done for the specified connector by issuing a 'PUT' request to the"
                + " '/connectors/iris-mysql-sink/stop' endpoint"));

    ConnectRestException e =
        assertThrows(ConnectRestException.class, () -> client.deleteOffsets(NAME));

    assertTrue(
        e.getMessage()
            .contains("to DELETE " + BASE + "/offsets: Connectors must be in the STOPPED"),
        e.getMessage());
  }

  @Test
  void shouldWaitThroughNoStatusYetAndUnassignedTasksUntilRunning() {
    connect.on("GET " + BASE + "/status", 404, error(404, "No status found for connector " + NAME));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "UNASSIGNED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "UNASSIGNED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "RUNNING"));

    ConnectorStatus s = client.awaitRunning(NAME, Duration.ofSeconds(10));

    assertTrue(s.running());
    assertEquals(4, connect.calls().size());
  }

  @Test
  void shouldStopWaitingAtOnceWhenATaskFails() {
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "UNASSIGNED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "FAILED"));

    ConnectRestException e =
        assertThrows(
            ConnectRestException.class, () -> client.awaitRunning(NAME, Duration.ofSeconds(30)));

    assertEquals(
        "connector iris-mysql-sink failed instead of reaching RUNNING: task 0:"
            + " org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to"
            + " unrecoverable exception. (cause: java.sql.SQLException: Communications link"
            + " failure) (full trace: GET "
            + connect.url()
            + BASE
            + "/status)",
        e.getMessage());
    assertEquals(2, connect.calls().size());
  }

  @Test
  void shouldGiveUpAfterTheTimeoutWithTheLastStatusSeen() {
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "UNASSIGNED"));

    ConnectRestException e =
        assertThrows(
            ConnectRestException.class, () -> client.awaitRunning(NAME, Duration.ofMillis(100)));

    assertTrue(
        e.getMessage()
            .startsWith(
                "connector iris-mysql-sink did not reach RUNNING within 100 ms; last seen:"
                    + " connector RUNNING, task 0 UNASSIGNED (GET "),
        e.getMessage());
  }

  @Test
  void shouldWaitForStoppedThroughATaskThatFailedBefore() {
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "FAILED"));
    connect.on("GET " + BASE + "/status", 200, status(NAME, "STOPPED"));

    assertEquals("STOPPED", client.awaitStopped(NAME, Duration.ofSeconds(10)).state());
  }

  @Test
  void shouldSayConnectCannotBeReachedAndWhatToCheck() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ConnectClient nowhere = new ConnectClient("http://127.0.0.1:" + port);

    ConnectRestException e =
        assertThrows(
            ConnectRestException.class, () -> nowhere.awaitRunning(NAME, Duration.ofSeconds(30)));

    assertEquals(ConnectRestException.NO_ANSWER, e.httpStatus());
    assertTrue(
        e.getMessage()
            .startsWith(
                "cannot reach Kafka Connect at http://127.0.0.1:"
                    + port
                    + " (GET "
                    + BASE
                    + "/status): "),
        e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith("; check that Connect runs and that connect.url is its REST address"),
        e.getMessage());
  }

  @Test
  void shouldSayConnectDidNotAnswerInTime() throws Exception {
    // A listening socket nobody serves: the connection opens, no answer ever comes.
    try (ServerSocket silent = new ServerSocket(0)) {
      ConnectClient slow =
          new ConnectClient(
              "http://127.0.0.1:" + silent.getLocalPort(),
              Duration.ofMillis(200),
              Duration.ofMillis(5));

      ConnectRestException e = assertThrows(ConnectRestException.class, () -> slow.stop(NAME));

      assertEquals(ConnectRestException.NO_ANSWER, e.httpStatus());
      assertTrue(
          e.getMessage().contains("did not answer PUT " + BASE + "/stop within 200 ms"),
          e.getMessage());
    }
  }

  @Test
  void shouldEscapeTheConnectorNameInThePath() {
    connect.on(
        "GET /connectors/my%20sink%2F1/status", 200, status("my sink/1", "RUNNING", "RUNNING"));

    assertEquals("my sink/1", client.status("my sink/1").name());
  }

  @Test
  void shouldAskTheNextWorkerWhenOneDoesNotAnswerAndKeepAskingTheOneThatDid() throws Exception {
    int down;
    try (ServerSocket s = new ServerSocket(0)) {
      down = s.getLocalPort();
    }
    connect.on("GET " + BASE + "/status", 200, status(NAME, "RUNNING", "RUNNING"));
    ConnectClient two =
        new ConnectClient(
            "http://127.0.0.1:" + down + ", " + connect.url() + "/",
            Duration.ofSeconds(5),
            Duration.ofMillis(5));

    assertEquals(List.of("http://127.0.0.1:" + down, connect.url()), two.urls());
    assertEquals("RUNNING", two.status(NAME).state(), "answered by the second worker");
    assertEquals(connect.url(), two.url(), "the worker that answered is asked first next time");
  }

  @Test
  void shouldSayWhichWorkerDidNotAnswerWhenNoneDoes() throws Exception {
    int a;
    int b;
    try (ServerSocket s = new ServerSocket(0);
        ServerSocket t = new ServerSocket(0)) {
      a = s.getLocalPort();
      b = t.getLocalPort();
    }
    ConnectClient none =
        new ConnectClient(
            "http://127.0.0.1:" + a + ",http://127.0.0.1:" + b,
            Duration.ofSeconds(5),
            Duration.ofMillis(5));

    ConnectRestException e = assertThrows(ConnectRestException.class, () -> none.status(NAME));

    assertEquals(ConnectRestException.NO_ANSWER, e.httpStatus());
    assertTrue(e.getMessage().contains("127.0.0.1:" + b), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ConnectClient(" , "));
  }
}
