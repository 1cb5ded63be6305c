package io.iris.launcher.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.tools.UserInspector.Device;
import io.iris.launcher.tools.UserInspector.Group;
import io.iris.launcher.tools.UserInspector.KafkaSide;
import io.iris.launcher.tools.UserInspector.Lag;
import io.iris.launcher.tools.UserInspector.StorageSide;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The pointer arithmetic and what iris pointers prints, without Kafka; MySQL's timeout. */
class UserInspectorTest {
  static final String BRIDGE = "iris-mqtt-bridge";
  static final String SINK = "connect-iris-mysql-sink";

  @Test
  void shouldMeasureHowFarAPointerIsBehindItsHead() {
    assertEquals(new Lag(3, false), Lag.of(10, 7));
    assertEquals(new Lag(0, false), Lag.of(10, 10));
    assertEquals(new Lag(10, false), Lag.of(10, 0));
  }

  @Test
  void shouldClampAPointerReadPastItsHeadToZeroAndSaySo() {
    Lag lag = Lag.of(10, 12);

    assertEquals(0, lag.behind());
    assertTrue(lag.pastHead());
    assertEquals("0*", lag.toString());
  }

  @Test
  void shouldGiveAGroupWithoutACommitNoLag() {
    assertNull(new Group(BRIDGE, -1, 500).lag());
    assertEquals(new Lag(20, false), new Group(SINK, 480, 500).lag());
    assertEquals(new Lag(0, true), new Group(SINK, 510, 500).lag());
  }

  @Test
  void shouldPrintTheKafkaSideAsBefore() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    new KafkaSide(
                        42,
                        3,
                        5,
                        List.of(new Device("phone", 5, 0), new Device("tablet", 2, 0)),
                        List.of(new Group(BRIDGE, 1200, 1234), new Group(SINK, -1, 1234))),
                    out));

    assertTrue(text.startsWith("user 42   iris.log partition 3   head seq 5\n"), text);
    assertTrue(text.matches("(?s).*\\nphone\\s+5\\s+0\\s.*"), text);
    assertTrue(text.matches("(?s).*\\ntablet\\s+2\\s+3\\s.*"), text);
    assertTrue(text.matches("(?s).*\\niris-mqtt-bridge\\s+1,200\\s+34\\s+1,234\\n.*"), text);
    assertTrue(
        text.matches(
            "(?s).*\\nconnect-iris-mysql-sink\\s+-\\s+-\\s+1,234   \\(the storage pointer\\)\\n.*"),
        text);
    assertFalse(text.contains("*"), text);
  }

  @Test
  void shouldNeverPrintANegativeLagAndMarkPointersReadPastTheHead() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    new KafkaSide(
                        42,
                        3,
                        5,
                        List.of(new Device("phone", 7, 0)),
                        List.of(new Group(BRIDGE, 1240, 1234), new Group(SINK, 1234, 1234))),
                    out));

    assertTrue(text.matches("(?s).*\\nphone\\s+7\\s+0\\*\\s.*"), text);
    assertTrue(text.matches("(?s).*\\niris-mqtt-bridge\\s+1,240\\s+0\\*\\s+1,234\\n.*"), text);
    assertTrue(text.matches("(?s).*\\nconnect-iris-mysql-sink\\s+1,234\\s+0\\s.*"), text);
    assertTrue(
        text.endsWith(
            "* read past the head it is compared with (the head moved between the reads): shown as"
                + " 0 behind\n"),
        text);
    assertFalse(text.matches("(?s).*\\s-\\d.*"), text);
  }

  @Test
  void shouldPrintWhatMySqlHoldsAgainstTheHead() {
    String text = printed(out -> UserInspector.print(5, new StorageSide(4, null), out));

    assertTrue(
        text.matches(
            "(?s)\\nstorage pointer \\(MySQL\\)\\s+4\\s+1  \\(highest seq in iris_user_seq\\)\\n"),
        text);
  }

  @Test
  void shouldMarkMySqlPastTheHeadReadBeforeIt() {
    String text = printed(out -> UserInspector.print(5, new StorageSide(9, null), out));

    assertTrue(text.matches("(?s).*storage pointer \\(MySQL\\)\\s+9\\s+0\\*\\s.*"), text);
    assertTrue(text.contains("* MySQL is past the head seq above"), text);
  }

  @Test
  void shouldSayMySqlIsUnreachableAndWhy() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    5, new StorageSide(-1, "MySQL unreachable: no answer within 3 s"), out));

    assertEquals("\nstorage pointer (MySQL)      MySQL unreachable: no answer within 3 s\n", text);
  }

  @Test
  void shouldTellAConnectionProblemFromAnSqlError() {
    assertEquals(
        "MySQL unreachable: Communications link failure",
        UserInspector.problem(
            new SQLNonTransientConnectionException(
                "Communications link failure\n\nThe last packet sent successfully...", "08S01")));
    assertEquals(
        "MySQL unreachable: Could not create connection",
        UserInspector.problem(new SQLException("Could not create connection", "08001")));
    assertEquals(
        "MySQL error: Table 'iris.iris_user_seq' doesn't exist",
        UserInspector.problem(
            new SQLException("Table 'iris.iris_user_seq' doesn't exist", "42S02")));
  }

  @Test
  void shouldGiveUpOnAMySqlThatDoesNotAnswer() throws Exception {
    // A frozen MySQL: the kernel accepts the connection, no handshake ever comes.
    try (ServerSocket frozen = new ServerSocket(0)) {
      UserInspector inspector =
          new UserInspector(
              "unused:9092",
              "jdbc:mysql://127.0.0.1:" + frozen.getLocalPort() + "/iris",
              "root",
              "",
              Duration.ofMillis(500));

      long start = System.nanoTime();
      StorageSide s = inspector.storageSide(42);
      long tookMs = (System.nanoTime() - start) / 1_000_000;

      assertEquals(new StorageSide(-1, "MySQL unreachable: no answer within 500 ms"), s);
      assertTrue(tookMs < 3000, tookMs + " ms");
    }
  }

  @Test
  void shouldSayWhyAMySqlThatRefusesIsUnreachable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    UserInspector inspector =
        new UserInspector(
            "unused:9092",
            "jdbc:mysql://127.0.0.1:" + port + "/iris",
            "root",
            "",
            Duration.ofSeconds(5));

    StorageSide s = inspector.storageSide(42);

    assertEquals(-1, s.storedSeq());
    assertTrue(
        s.problem().startsWith("MySQL unreachable: Communications link failure"), s.problem());
  }

  private static String printed(Consumer<PrintStream> print) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    print.accept(out);
    return bytes.toString(StandardCharsets.UTF_8).replace(System.lineSeparator(), "\n");
  }
}
