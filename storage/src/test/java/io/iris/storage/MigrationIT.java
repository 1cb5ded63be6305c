package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.zaxxer.hikari.HikariDataSource;
import io.iris.protocol.thrift.Snapshot;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * V5 on a database that holds version-1 rows: they are kept aside, the new tables work. V7 on a
 * database that holds rows of V5's columns: they stay as they were, the new kinds work.
 */
class MigrationIT {
  static List<String> strings(Connection c, String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static long number(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void shouldKeepTheVersionOneRowsAsideAndStartThePositionTablesEmpty() throws Exception {
    try (HikariDataSource ds = TestDatabase.emptyDatabase("iris_upgrade")) {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:db/migration")
          .table("iris_schema_history")
          .target("4")
          .load()
          .migrate();
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute(
            "INSERT INTO iris_deltas (user_id, seq, prev_seq, thread_id, server_ts_ms, kind,"
                + " actor_user_id, thread_name, participant_ids) VALUES"
                + " (1, 1, 0, 100, 1000, 'thread_created', 1, 'old', '1,2')");
        s.execute(
            "INSERT INTO iris_deltas (user_id, seq, prev_seq, thread_id, server_ts_ms, kind,"
                + " actor_user_id, message_id, text) VALUES"
                + " (1, 2, 1, 100, 2000, 'new_message', 2, 1, 'hello')");
        assertEquals(2, number(c, "SELECT max_seq FROM iris_user_seq WHERE user_id = 1"));
      }

      assertEquals("7", StorageSchema.migrate(ds));

      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        assertEquals(List.of("hello"), strings(c, "SELECT text FROM iris_deltas_v1 WHERE seq = 2"));
        assertEquals(2, number(c, "SELECT COUNT(*) FROM iris_deltas_v1"));
        assertEquals(1, number(c, "SELECT COUNT(*) FROM iris_user_threads_v1"));
        assertEquals(0, number(c, "SELECT COUNT(*) FROM iris_deltas"));
        assertEquals(0, number(c, "SELECT COUNT(*) FROM iris_user_threads"));
        assertEquals(0, number(c, "SELECT COUNT(*) FROM iris_user_positions"));
        assertFalse(
            strings(c, "SHOW TABLES").contains("iris_user_seq"), "derived from the v1 rows only");
        assertEquals(
            List.of(),
            strings(
                c,
                "SELECT trigger_name FROM information_schema.triggers"
                    + " WHERE trigger_schema = DATABASE() AND event_object_table <> 'iris_deltas'"),
            "the v1 table keeps no trigger");
        assertEquals(
            List.of(
                "iris_deltas_after_insert",
                "iris_deltas_after_insert_message",
                "iris_deltas_after_update",
                "iris_deltas_after_update_message"),
            strings(
                c,
                "SELECT trigger_name FROM information_schema.triggers"
                    + " WHERE trigger_schema = DATABASE() ORDER BY trigger_name"));
        // A v1 row written now (by a sink still on v1) changes nothing of version 2.
        s.execute(
            "INSERT INTO iris_deltas_v1 (user_id, seq, prev_seq, thread_id, server_ts_ms, kind,"
                + " actor_user_id, message_id, text) VALUES"
                + " (1, 3, 2, 100, 3000, 'new_message', 2, 2, 'late')");
        assertEquals(0, number(c, "SELECT COUNT(*) FROM iris_user_threads"));

        DeltaRows.upsert(
            c,
            List.of(
                DeltaHistoryIT.created(1, 7, 100, List.of(1L, 2L)),
                DeltaHistoryIT.message(1, 9, 100, 3)),
            10);
      }
      Snapshot snap = new SnapshotService(ds).snapshot(1, 20, 20, -1, "e");
      assertEquals(9, snap.getPos());
      assertEquals(1, snap.getThreadsSize());
      assertEquals(9, snap.getThreads().get(0).getLastMessages().get(0).getPos());
      assertEquals(9, new DeltaHistory(ds).maxPosition(1));
    }
  }

  @Test
  void shouldAddTheColumnsAndTablesOfEditsDeletesAndReactionsToAFilledDatabase() throws Exception {
    try (HikariDataSource ds = TestDatabase.emptyDatabase("iris_upgrade_v7")) {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:db/migration")
          .table("iris_schema_history")
          .target("6")
          .load()
          .migrate();
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        // Rows as the sink wrote them before: V5's columns only.
        s.execute(
            "INSERT INTO iris_deltas (user_id, position, thread_id, server_ts_ms, kind,"
                + " actor_user_id, thread_name, participant_ids) VALUES"
                + " (1, 7, 100, 1000, 'thread_created', 1, 'old', '1,2')");
        s.execute(
            "INSERT INTO iris_deltas (user_id, position, thread_id, server_ts_ms, kind,"
                + " actor_user_id, message_id, text) VALUES"
                + " (1, 9, 100, 2000, 'new_message', 2, 1, 'hello')");
      }

      assertEquals("7", StorageSchema.migrate(ds));

      try (Connection c = ds.getConnection()) {
        assertEquals(
            List.of("emoji", "attachments", "rule"),
            strings(
                c,
                "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                    + " DATABASE() AND table_name = 'iris_deltas' AND ordinal_position > 16"
                    + " ORDER BY ordinal_position"));
        assertEquals(
            0,
            number(
                c,
                "SELECT COUNT(*) FROM iris_deltas WHERE emoji IS NOT NULL OR attachments IS NOT"
                    + " NULL OR rule IS NOT NULL"));
        DeltaRows.upsert(
            c,
            List.of(
                new io.iris.protocol.thrift.Delta(
                        1,
                        100,
                        3000,
                        io.iris.protocol.thrift.DeltaBody.messageEdited(
                            new io.iris.protocol.thrift.MessageEdited(1, 2, "hello!")))
                    .setPos(12),
                new io.iris.protocol.thrift.Delta(
                        1,
                        100,
                        3500,
                        io.iris.protocol.thrift.DeltaBody.reactionChanged(
                            new io.iris.protocol.thrift.ReactionChanged(1, 1).setEmoji("\u2764")))
                    .setPos(13)),
            10);
        assertEquals(1, number(c, "SELECT COUNT(*) FROM iris_message_changes"));
        assertEquals(1, number(c, "SELECT COUNT(*) FROM iris_message_reactions"));
      }
      io.iris.protocol.thrift.Message m =
          new SnapshotService(ds)
              .snapshot(1, 20, 20, -1, "e")
              .getThreads()
              .get(0)
              .getLastMessages()
              .get(0);
      assertEquals("hello!", m.getText());
      assertEquals(3000, m.getEditedAtMs());
      assertEquals("\u2764", m.getMyReaction());
      assertEquals(9, m.getPos());
    }
  }
}
