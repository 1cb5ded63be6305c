package io.iris.launcher.tools;

import io.iris.bridge.KafkaClients;
import io.iris.launcher.ConnectClient;
import io.iris.launcher.ConnectRestException;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/**
 * Rebuilds MySQL from iris.log ({@code iris resink}): stops the sink connector, deletes its offsets
 * (Connect's offsets API), empties the three tables, resumes the connector, which then writes every
 * delta the log still holds; the triggers rebuild the snapshot tables as it goes.
 *
 * <p>What the log no longer holds (older than its retention) cannot come back: unless told to
 * accept that, it refuses when any partition of iris.log no longer starts at offset 0.
 */
public final class Resink {
  static final String CONNECTOR = io.iris.topics.Names.SINK_CONNECTOR;
  static final List<String> TABLES = io.iris.topics.Names.TABLES;

  static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

  private final KafkaClients kafka;
  private final ConnectClient connect;
  private final String jdbcUrl;
  private final String dbUser;
  private final String dbPassword;

  public Resink(
      KafkaClients kafka, String connectUrl, String jdbcUrl, String dbUser, String dbPassword) {
    this(kafka, new ConnectClient(connectUrl), jdbcUrl, dbUser, dbPassword);
  }

  Resink(
      KafkaClients kafka, ConnectClient connect, String jdbcUrl, String dbUser, String dbPassword) {
    this.kafka = kafka;
    this.connect = connect;
    this.jdbcUrl = jdbcUrl;
    this.dbUser = dbUser;
    this.dbPassword = dbPassword;
  }

  /** Records of iris.log already deleted by retention (0: the log holds its whole history). */
  public long recordsLost() throws Exception {
    try (Admin admin = Admin.create(kafka.asMap())) {
      int n =
          admin
              .describeTopics(List.of(Topics.LOG.name()))
              .allTopicNames()
              .get()
              .get(Topics.LOG.name())
              .partitions()
              .size();
      Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
      for (int p = 0; p < n; p++) {
        earliest.put(new TopicPartition(Topics.LOG.name(), p), OffsetSpec.earliest());
      }
      long lost = 0;
      for (var e : admin.listOffsets(earliest).all().get().values()) {
        lost += e.offset();
      }
      return lost;
    }
  }

  /** Runs the whole procedure, printing each step. */
  public void run(boolean allowPartial, PrintStream out) throws Exception {
    long lost = recordsLost();
    if (lost > 0 && !allowPartial) {
      throw new IllegalStateException(
          "iris.log no longer holds its first "
              + lost
              + " records (retention deleted them): a resink would lose them from MySQL. Run"
              + " again with --allow-partial to rebuild from what the log holds.");
    }
    rebuild(lost, out, this::emptyTables);
  }

  /** Empties the tables the sink writes. */
  interface Tables {
    void empty() throws SQLException;
  }

  /**
   * The steps on Connect and MySQL, once the log has been checked: stop, delete offsets, empty the
   * tables, resume. Each failure says what state it left and what to do.
   */
  void rebuild(long lost, PrintStream out, Tables tables) {
    String resume = "PUT " + connect.url() + "/connectors/" + CONNECTOR + "/resume";
    out.println("resink: stopping connector " + CONNECTOR);
    step(
        "stopping the sink",
        "Nothing was deleted; run `iris resink` again.",
        () -> {
          connect.stop(CONNECTOR);
          connect.awaitStopped(CONNECTOR, STEP_TIMEOUT);
        });
    out.println("resink: deleting its offsets (consumer group connect-" + CONNECTOR + ")");
    step(
        "deleting the sink's offsets",
        "Nothing was deleted and the sink may be STOPPED: run `iris resink` again, or resume it"
            + " with "
            + resume,
        () -> connect.deleteOffsets(CONNECTOR));
    out.println("resink: emptying " + String.join(", ", TABLES));
    try {
      tables.empty();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "could not empty the tables ("
              + e.getMessage()
              + "); the sink is STOPPED and its offsets are deleted: fix and run `iris resink`"
              + " again, or resume it (it then writes the whole log again) with "
              + resume,
          e);
    }
    out.println("resink: resuming; the sink now writes iris.log from its first record");
    step(
        "resuming the sink",
        "The tables are empty and the sink STOPPED without offsets: run `iris resink` again, or"
            + " resume it with "
            + resume,
        () -> connect.resume(CONNECTOR));
    step(
        "waiting for the resumed sink to run",
        "It was resumed and writes once its task runs; follow it with GET "
            + connect.url()
            + "/connectors/"
            + CONNECTOR
            + "/status",
        () -> connect.awaitRunning(CONNECTOR, STEP_TIMEOUT));
    out.println(
        "resink: running. Follow it with `iris kafka kafka-consumer-groups --describe --group"
            + " connect-"
            + CONNECTOR
            + "` (lag falls to 1 per partition: the last offset is a transaction marker the sink"
            + " never consumes)"
            + (lost > 0 ? "; " + lost + " records older than the log's retention are gone" : ""));
  }

  private void emptyTables() throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
        Statement s = c.createStatement()) {
      for (String t : TABLES) {
        s.execute("TRUNCATE TABLE " + t);
      }
    }
  }

  private static void step(String what, String then, Runnable action) {
    try {
      action.run();
    } catch (ConnectRestException e) {
      throw new IllegalStateException(what + " failed: " + e.getMessage() + ". " + then, e);
    }
  }
}
