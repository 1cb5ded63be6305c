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
 * database that holds rows of V5's columns: they stay as they were, the new kinds work. V8 on a
 * database that holds rows of V7's: likewise, delivery updates.
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

      assertEquals("8", StorageSchema.migrate(ds));

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

      assertEquals("8", StorageSchema.migrate(ds));

      try (Connection c = ds.getConnection()) {
        assertEquals(
            List.of("emoji", "attachments", "rule", "deliveries"),
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

  @Test
  void shouldAddTheDeliveriesColumnToAFilledDatabaseAndNoTable() throws Exception {
    try (HikariDataSource ds = TestDatabase.emptyDatabase("iris_upgrade_v8")) {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:db/migration")
          .table("iris_schema_history")
          .target("7")
          .load()
          .migrate();
      List<String> tables;
      List<String> triggers;
      try (Connection c = ds.getConnection()) {
        // Rows as the sink wrote them before: V7's columns.
        try (Statement s = c.createStatement()) {
          s.execute(
              "INSERT INTO iris_deltas (user_id, position, thread_id, server_ts_ms, kind,"
                  + " actor_user_id, thread_name, participant_ids) VALUES"
                  + " (1, 7, 100, 1007, 'thread_created', 1, 'old', '1,2')");
          s.execute(
              "INSERT INTO iris_deltas (user_id, position, thread_id, server_ts_ms, kind,"
                  + " actor_user_id, message_id, text) VALUES"
                  + " (1, 9, 100, 1009, 'new_message', 2, 1, 'hello')");
          s.execute(
              "INSERT INTO iris_deltas (user_id, position, thread_id, server_ts_ms, kind,"
                  + " actor_user_id, message_id, emoji) VALUES"
                  + " (1, 10, 100, 3500, 'reaction_changed', 1, 1, '\u2764')");
        }
        tables = strings(c, "SHOW TABLES");
        triggers =
            strings(
                c,
                "SELECT trigger_name FROM information_schema.triggers"
                    + " WHERE trigger_schema = DATABASE() ORDER BY trigger_name");
      }
      Snapshot before = new SnapshotService(ds).snapshot(1, 20, 20, -1, "e").setTakenAtMs(0);

      assertEquals("8", StorageSchema.migrate(ds));

      io.iris.protocol.thrift.Delta update =
          new io.iris.protocol.thrift.Delta(
                  1,
                  100,
                  9000,
                  io.iris.protocol.thrift.DeltaBody.deliveryUpdate(
                      new io.iris.protocol.thrift.DeliveryUpdate(
                          new ArrayList<>(
                              List.of(new io.iris.protocol.thrift.DeviceDelivery(2, "phone", 1))))))
              .setPos(12);
      try (Connection c = ds.getConnection()) {
        assertEquals(
            List.of("deliveries"),
            strings(
                c,
                "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                    + " DATABASE() AND table_name = 'iris_deltas' AND ordinal_position > 19"
                    + " ORDER BY ordinal_position"));
        assertEquals(
            List.of("mediumtext YES"),
            strings(
                c,
                "SELECT CONCAT(data_type, ' ', is_nullable) FROM information_schema.columns"
                    + " WHERE table_schema = DATABASE() AND table_name = 'iris_deltas'"
                    + " AND column_name = 'deliveries'"));
        assertEquals(0, number(c, "SELECT COUNT(*) FROM iris_deltas WHERE deliveries IS NOT NULL"));
        assertEquals(
            tables.stream().filter(t -> !t.equals("iris_schema_history")).toList(),
            strings(c, "SHOW TABLES").stream()
                .filter(t -> !t.equals("iris_schema_history"))
                .toList(),
            "no table");
        assertEquals(
            triggers,
            strings(
                c,
                "SELECT trigger_name FROM information_schema.triggers"
                    + " WHERE trigger_schema = DATABASE() ORDER BY trigger_name"),
            "no trigger");
        DeltaRows.upsert(c, List.of(update), 10);
        assertEquals(12, number(c, "SELECT max_position FROM iris_user_positions"));
        assertEquals(4, number(c, "SELECT stored_count FROM iris_user_positions"));
        assertEquals(9, number(c, "SELECT last_position FROM iris_user_threads"));
        assertEquals(1009, number(c, "SELECT last_activity_ms FROM iris_user_threads"));
      }
      Snapshot after = new SnapshotService(ds).snapshot(1, 20, 20, -1, "e").setTakenAtMs(0);
      assertEquals(before.deepCopy().setPos(12), after, "only pos moves");
      assertEquals(
          List.of(update.deepCopy().setPrevPos(10)), new DeltaHistory(ds).range(1, 10, -1, 10));
    }
  }
}
