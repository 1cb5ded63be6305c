package io.iris.launcher.tools;

import io.iris.topics.Topics;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
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

  private final String bootstrap;
  private final String connectUrl;
  private final String jdbcUrl;
  private final String dbUser;
  private final String dbPassword;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public Resink(
      String bootstrap, String connectUrl, String jdbcUrl, String dbUser, String dbPassword) {
    this.bootstrap = bootstrap;
    this.connectUrl = connectUrl;
    this.jdbcUrl = jdbcUrl;
    this.dbUser = dbUser;
    this.dbPassword = dbPassword;
  }

  /** Records of iris.log already deleted by retention (0: the log holds its whole history). */
  public long recordsLost() throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
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
    out.println("resink: stopping connector " + CONNECTOR);
    expect(call("PUT", "/connectors/" + CONNECTOR + "/stop"), 202, 204);
    awaitState("\"state\":\"STOPPED\"", 1, Duration.ofSeconds(60));
    out.println("resink: deleting its offsets (consumer group connect-" + CONNECTOR + ")");
    expect(call("DELETE", "/connectors/" + CONNECTOR + "/offsets"), 200);
    out.println("resink: emptying " + String.join(", ", TABLES));
    try (Connection c = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
        Statement s = c.createStatement()) {
      for (String t : TABLES) {
        s.execute("TRUNCATE TABLE " + t);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(
          "could not empty the tables ("
              + e.getMessage()
              + "); the sink is STOPPED: fix and run"
              + " again, or resume it with PUT "
              + connectUrl
              + "/connectors/"
              + CONNECTOR
              + "/resume",
          e);
    }
    out.println("resink: resuming; the sink now writes iris.log from its first record");
    expect(call("PUT", "/connectors/" + CONNECTOR + "/resume"), 202, 204);
    awaitState("\"state\":\"RUNNING\"", 2, Duration.ofSeconds(60));
    out.println(
        "resink: running. Follow it with `iris kafka kafka-consumer-groups --describe --group"
            + " connect-"
            + CONNECTOR
            + "` (lag falls to 0)"
            + (lost > 0 ? "; " + lost + " records older than the log's retention are gone" : ""));
  }

  private HttpResponse<String> call(String method, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(connectUrl + path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .timeout(Duration.ofSeconds(60))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void expect(HttpResponse<String> r, int... codes) {
    for (int c : codes) {
      if (r.statusCode() == c) {
        return;
      }
    }
    throw new IllegalStateException(
        "Kafka Connect answered HTTP "
            + r.statusCode()
            + " to "
            + r.request().method()
            + " "
            + r.request().uri()
            + ": "
            + r.body());
  }

  private void awaitState(String state, int count, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String body = "";
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r = call("GET", "/connectors/" + CONNECTOR + "/status");
      body = r.body().replace(" ", "");
      int n = 0;
      for (int i = body.indexOf(state); i >= 0; i = body.indexOf(state, i + 1)) {
        n++;
      }
      if (n >= count) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(250);
    }
    throw new IllegalStateException("the sink did not reach " + state + ": " + body);
  }
}
