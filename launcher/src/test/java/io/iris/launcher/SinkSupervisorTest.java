package io.iris.launcher;

import static io.iris.launcher.FakeConnect.error;
import static io.iris.launcher.FakeConnect.status;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SinkSupervisorTest {
  static final String STATUS = "GET /connectors/" + SinkRegistration.NAME + "/status";
  static final String RESTART =
      "POST /connectors/" + SinkRegistration.NAME + "/restart?includeTasks=true&onlyFailed=true";

  FakeConnect connect;
  SinkSupervisor supervisor;

  @BeforeEach
  void start() throws Exception {
    connect = FakeConnect.start();
    supervisor =
        new SinkSupervisor(
            new ConnectClient(connect.url(), Duration.ofSeconds(5), Duration.ofMillis(5)));
  }

  @AfterEach
  void stop() {
    supervisor.close();
    connect.close();
  }

  @Test
  void shouldRestartTheFailedTasksAndCountTheRestart() {
    connect.on(STATUS, 200, status(SinkRegistration.NAME, "RUNNING", "FAILED"));
    connect.on(RESTART, 202, status(SinkRegistration.NAME, "RUNNING", "RESTARTING"));

    supervisor.check();

    assertEquals(List.of(STATUS, RESTART), connect.calls());
    assertEquals(1, supervisor.restarts());
  }

  @Test
  void shouldRestartAFailedConnector() {
    connect.on(STATUS, 200, status(SinkRegistration.NAME, "FAILED"));
    connect.on(RESTART, 204, null);

    supervisor.check();

    assertEquals(List.of(STATUS, RESTART), connect.calls());
  }

  @Test
  void shouldLeaveARunningSinkAlone() {
    connect.on(STATUS, 200, status(SinkRegistration.NAME, "RUNNING", "RUNNING"));

    supervisor.check();
    supervisor.check();

    assertEquals(List.of(STATUS, STATUS), connect.calls());
    assertEquals(0, supervisor.restarts());
  }

  @Test
  void shouldBackOffWhileTheSinkKeepsFailing() {
    connect.on(STATUS, 200, status(SinkRegistration.NAME, "RUNNING", "FAILED"));
    connect.on(RESTART, 202, "{}");

    for (int i = 0; i < 11; i++) {
      supervisor.check();
    }

    // Restarts at checks 1, 3, 6 and 11: skipping 1, 2, then 4 checks (at most 6).
    assertEquals(4, supervisor.restarts());
    assertEquals(8, connect.calls().size());
  }

  @Test
  void shouldNotCountARestartConnectRefused() {
    connect.on(STATUS, 200, status(SinkRegistration.NAME, "RUNNING", "FAILED"));
    connect.on(
        RESTART, 409, error(409, "Cannot complete request because of a conflicting operation"));

    supervisor.check();

    assertEquals(List.of(STATUS, RESTART), connect.calls());
    assertEquals(0, supervisor.restarts());
  }

  @Test
  void shouldKeepCheckingWhileConnectIsAway() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (SinkSupervisor away = new SinkSupervisor("http://127.0.0.1:" + port)) {
      away.check();
      away.check();
      assertEquals(0, away.restarts());
    }
  }
}
