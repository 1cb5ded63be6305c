package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisCli;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.React;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The re-sink procedure, run from the packaged jar as an operator would, on its own stack: MySQL
 * emptied and rebuilt from iris.log comes back identical (deltas and the trigger-kept snapshot
 * tables); refused without --yes, and refused once retention has taken part of the log.
 */
class ResinkIT {
  static final long THREAD = 7_700_001L;
  static final List<Long> MEMBERS = List.of(UserIds.next(), UserIds.next(), UserIds.next());

  @Test
  void shouldRebuildMySqlFromTheLogIdentically() throws Exception {
    Path dir = TestStacks.newDataDir("resink");
    Path cliDir = TestStacks.newDataDir("resink-cli");
    try (IrisStack stack = new IrisStack(new IrisConfig(TestStacks.ephemeralConfig(dir)))) {
      stack.preflight();
      stack.start(line -> {});
      try (KafkaProducer<Long, byte[]> producer = TestStacks.commandProducer(stack)) {
        TestStacks.createThread(producer, THREAD, MEMBERS, "create", "re");
        for (int i = 0; i < 100; i++) {
          TestStacks.sendMessage(producer, THREAD, MEMBERS.get(i % 3), "m" + i, "again " + i);
        }
        // Changes of messages 1 and 2 (sent by the first and second member), for the tables their
        // triggers keep.
        change(producer, 0, "edit", CommandBody.editMessage(new EditMessage(1, "edited")));
        change(producer, 1, "delete", CommandBody.deleteMessage(new DeleteMessage(2)));
        change(producer, 2, "react", CommandBody.react(new React(1).setEmoji("\uD83D\uDC4D")));
        change(producer, 0, "react", CommandBody.react(new React(1).setEmoji("\uD83C\uDF89")));
        producer.flush();
      }
      awaitRows(stack, 3 * 105);
      String before = dump(stack);

      Map<String, String> env =
          Map.of(
              "IRIS_KAFKA_BOOTSTRAP_SERVERS", stack.bootstrapServers(),
              "IRIS_CONNECT_URL", stack.connectUrl(),
              "IRIS_MYSQL_URL", stack.jdbcUrl(),
              "IRIS_MYSQL_USER", "root",
              "IRIS_DATA_DIR", cliDir.toString());
      try (LauncherProcess refused = LauncherProcess.start(env, "resink")) {
        assertEquals(IrisCli.EXIT_CONFIG, refused.waitFor(Duration.ofSeconds(60)));
        assertTrue(refused.stderr().contains("--yes"), refused.stderr());
      }
      try (LauncherProcess run = LauncherProcess.start(env, "resink", "--yes")) {
        assertEquals(0, run.waitFor(Duration.ofSeconds(120)), run.stdout() + run.stderr());
        assertTrue(run.stdout().contains("resink: running"), run.stdout());
      }
      String after =
          Waits.every(Duration.ofMillis(500))
              .await(
                  "MySQL rebuilt from the log as it was",
                  Duration.ofSeconds(90),
                  () -> dump(stack),
                  before::equals);
      assertEquals(before, after, "MySQL rebuilt from the log is what it was");

      // Moving the sink's group back (a replay) with Connect's offsets API: the group is where
      // it was put, and MySQL is unchanged by the replay (upserts, forward-only triggers).
      int partition = stack.bridge().layout().partitionOf(MEMBERS.get(0));
      connect(stack, "PUT", "/connectors/iris-mysql-sink/stop", null, 202, 204);
      awaitConnector(stack, "STOPPED");
      connect(
          stack,
          "PATCH",
          "/connectors/iris-mysql-sink/offsets",
          "{\"offsets\":[{\"partition\":{\"kafka_topic\":\"iris.log\",\"kafka_partition\":"
              + partition
              + "},\"offset\":{\"kafka_offset\":0}}]}",
          200);
      try (Admin admin = Admin.create(stack.adminConfig())) {
        TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
        assertEquals(
            0,
            admin
                .listConsumerGroupOffsets("connect-iris-mysql-sink")
                .partitionsToOffsetAndMetadata()
                .get()
                .get(tp)
                .offset(),
            "the sink's group moved to offset 0 of partition " + partition);
      }
      connect(stack, "PUT", "/connectors/iris-mysql-sink/resume", null, 202, 204);
      awaitConnector(stack, "RUNNING");
      awaitReplayed(stack, new TopicPartition(Topics.LOG.name(), partition));
      assertEquals(before, dump(stack), "a replay changes nothing");

      // Once retention has taken records, a resink would lose them: refused.
      try (Admin admin = Admin.create(stack.adminConfig())) {
        TopicPartition tp =
            new TopicPartition(
                Topics.LOG.name(), stack.bridge().layout().partitionOf(MEMBERS.get(0)));
        admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(1))).all().get();
      }
      try (LauncherProcess partial = LauncherProcess.start(env, "resink", "--yes")) {
        assertEquals(1, partial.waitFor(Duration.ofSeconds(60)), partial.stdout());
        assertTrue(partial.stderr().contains("--allow-partial"), partial.stderr());
      }
    } finally {
      TestStacks.delete(dir);
      TestStacks.delete(cliDir);
    }
  }

  static String connect(IrisStack stack, String method, String path, String body, int... ok)
      throws Exception {
    java.net.http.HttpResponse<String> r =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(stack.connectUrl() + path))
                    .header("Content-Type", "application/json")
                    .method(
                        method,
                        body == null
                            ? java.net.http.HttpRequest.BodyPublishers.noBody()
                            : java.net.http.HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    for (int code : ok) {
      if (r.statusCode() == code) {
        return r.body();
      }
    }
    throw new AssertionError(method + " " + path + " -> " + r.statusCode() + " " + r.body());
  }

  static void awaitConnector(IrisStack stack, String state) {
    Waits.every(Duration.ofMillis(250))
        .await(
            "the connector " + state,
            Duration.ofSeconds(60),
            () ->
                connect(stack, "GET", "/connectors/iris-mysql-sink/status", null, 200)
                    .replace(" ", ""),
            body -> body.contains("\"connector\":{\"state\":\"" + state + "\""));
  }

  /**
   * Waits until the sink, moved back to offset 0 of {@code tp}, has written the partition again:
   * its group's committed offset is at the partition's end (or one short of it, before the commit
   * marker of the last transaction, which is never consumed).
   */
  static void awaitReplayed(IrisStack stack, TopicPartition tp) throws Exception {
    try (Admin admin = Admin.create(stack.adminConfig())) {
      long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
      Waits.every(Duration.ofMillis(500))
          .await(
              "the sink's replay of " + tp + " to offset " + end,
              Duration.ofSeconds(60),
              () -> {
                OffsetAndMetadata o =
                    admin
                        .listConsumerGroupOffsets("connect-iris-mysql-sink")
                        .partitionsToOffsetAndMetadata()
                        .get()
                        .get(tp);
                return o == null ? -1 : o.offset();
              },
              committed -> committed >= end - 1);
    }
  }

  static void awaitRows(IrisStack stack, long expected) {
    long n =
        Waits.every(Duration.ofMillis(250))
            .await(
                "MySQL to hold " + expected + " deltas",
                Duration.ofSeconds(90),
                () -> {
                  try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
                      Statement s = c.createStatement();
                      ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM iris_deltas")) {
                    rs.next();
                    return rs.getLong(1);
                  }
                },
                m -> m >= expected);
    assertEquals(expected, n);
  }

  private static void change(
      KafkaProducer<Long, byte[]> producer, int member, String clientId, CommandBody body) {
    TestStacks.sendCommand(
        producer,
        new ClientCommand(
            MEMBERS.get(member),
            "d" + MEMBERS.get(member),
            clientId + "-" + member,
            THREAD,
            System.currentTimeMillis(),
            body));
  }

  /** Every table the sink and its triggers keep, row by row, in a fixed order. */
  static String dump(IrisStack stack) throws Exception {
    StringBuilder b = new StringBuilder();
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement()) {
      for (String q :
          List.of(
              "SELECT user_id, position, kind, text, client_id, emoji, attachments, rule,"
                  + " deliveries FROM iris_deltas ORDER BY user_id, position",
              "SELECT * FROM iris_user_threads ORDER BY user_id, thread_id",
              "SELECT * FROM iris_user_positions ORDER BY user_id",
              "SELECT * FROM iris_message_changes ORDER BY user_id, thread_id, message_id",
              "SELECT * FROM iris_message_reactions"
                  + " ORDER BY user_id, thread_id, message_id, reactor_user_id")) {
        try (ResultSet rs = s.executeQuery(q)) {
          ResultSetMetaData m = rs.getMetaData();
          while (rs.next()) {
            for (int i = 1; i <= m.getColumnCount(); i++) {
              b.append(rs.getString(i)).append('|');
            }
            b.append('\n');
          }
        }
      }
    }
    return b.toString();
  }
}
