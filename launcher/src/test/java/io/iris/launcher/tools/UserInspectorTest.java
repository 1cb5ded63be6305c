package io.iris.launcher.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.KafkaClients;
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

  private static final String EPOCH = "AAAAAAAAAAAAAAAAAAAAAQ";

  /** User 42 has deltas at 1100, 1130, 1201 of partition 3, read from 1000 to the end 1234. */
  private static KafkaSide side(List<Device> devices, List<Group> groups) {
    return new KafkaSide(42, 3, EPOCH, 1234, 1000, List.of(1100L, 1130L, 1201L), devices, groups);
  }

  @Test
  void shouldCountTheUsersDeltasAfterAPointerNotTheOffsets() {
    KafkaSide k = side(List.of(), List.of());
    assertEquals(1201, k.lastPos());
    assertEquals(3, k.deltasAfter(999));
    assertEquals(2, k.deltasAfter(1100));
    assertEquals(1, k.deltasAfter(1150), "a pointer need not be a delta's position");
    assertEquals(0, k.deltasAfter(1201));
    assertEquals(0, k.deltasAfter(1300));
    assertEquals(-1, k.deltasAfter(500), "below the scan: unknown");
  }

  @Test
  void shouldPrintEveryPointerInOffsetsOfTheUsersPartition() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    side(
                        List.of(
                            new Device("phone", 1201, EPOCH, 0),
                            new Device("tablet", 1100, EPOCH, 0),
                            new Device("old", 7, "BBBBBBBBBBBBBBBBBBBBBQ", 0)),
                        List.of(new Group(BRIDGE, 1200, 1234), new Group(SINK, -1, 1234))),
                    out));

    assertTrue(
        text.startsWith(
            "user 42   iris.log partition 3   epoch " + EPOCH + "   end offset 1,234\n"),
        text);
    assertTrue(text.contains("last delta of the user at 1,201"), text);
    assertTrue(text.matches("(?s).*\\nphone\\s+1,201\\s+0\\s.*"), text);
    assertTrue(text.matches("(?s).*\\ntablet\\s+1,100\\s+2\\s.*"), text);
    assertTrue(text.matches("(?s).*\\nold\\s+7\\s+other epoch\\s.*"), text);
    assertTrue(text.matches("(?s).*\\niris-mqtt-bridge\\s+1,200\\s+34\\s+1\\n.*"), text);
    assertTrue(
        text.matches(
            "(?s).*\\nconnect-iris-mysql-sink\\s+-\\s+-\\s+-   \\(the storage pointer\\)\\n.*"),
        text);
    assertFalse(text.contains("*"), text);
  }

  @Test
  void shouldNeverPrintANegativeLagAndMarkGroupsReadPastTheEnd() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    side(
                        List.of(),
                        List.of(new Group(BRIDGE, 1240, 1234), new Group(SINK, 1234, 1234))),
                    out));

    assertTrue(text.matches("(?s).*\\niris-mqtt-bridge\\s+1,240\\s+0\\*\\s+0\\n.*"), text);
    assertTrue(text.matches("(?s).*\\nconnect-iris-mysql-sink\\s+1,234\\s+0\\s.*"), text);
    assertTrue(
        text.endsWith(
            "* read past the end it is compared with (the end moved between the reads): shown as"
                + " 0 behind\n"),
        text);
    assertFalse(text.matches("(?s).*\\s-\\d.*"), text);
  }

  @Test
  void shouldPrintWhatMySqlHoldsAgainstTheUsersDeltas() {
    String text =
        printed(
            out ->
                UserInspector.print(side(List.of(), List.of()), new StorageSide(1130, null), out));

    assertTrue(
        text.matches(
            "(?s)\\nstored in MySQL\\s+1,130\\s+1  \\(highest position of the user in"
                + " iris_deltas\\)\\n"),
        text);
  }

  @Test
  void shouldSayMySqlIsUnreachableAndWhy() {
    String text =
        printed(
            out ->
                UserInspector.print(
                    side(List.of(), List.of()),
                    new StorageSide(-1, "MySQL unreachable: no answer within 3 s"),
                    out));

    assertEquals("\nstored in MySQL              MySQL unreachable: no answer within 3 s\n", text);
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
        "MySQL error: Table 'iris.iris_deltas' doesn't exist",
        UserInspector.problem(new SQLException("Table 'iris.iris_deltas' doesn't exist", "42S02")));
  }

  @Test
  void shouldGiveUpOnAMySqlThatDoesNotAnswer() throws Exception {
    // A frozen MySQL: the kernel accepts the connection, no handshake ever comes.
    try (ServerSocket frozen = new ServerSocket(0)) {
      UserInspector inspector =
          new UserInspector(
              KafkaClients.of("unused:9092"),
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
            KafkaClients.of("unused:9092"),
            "jdbc:mysql://127.0.0.1:" + port + "/iris",
            "root",
            "",
            Duration.ofSeconds(5));

    StorageSide s = inspector.storageSide(42);

    assertEquals(-1, s.storedPos());
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
