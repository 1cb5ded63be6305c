package io.iris.storage;

import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Inbox snapshots from MySQL: a user's most recently active threads with their last messages,
 * members and unread counts, and the seq S they are consistent with: every delta of the user with
 * seq <= S is reflected, none after. A device applies the snapshot, then deltas from S + 1.
 *
 * <p>All reads happen in one read-only REPEATABLE READ transaction, so they see one consistent
 * state of the tables. The sink writes each user's deltas in seq order, so what MySQL holds for a
 * user is normally a prefix 1..S; should it ever hold a gap, the snapshot is built by replaying the
 * deltas up to the gap ({@link SnapshotBuilder}) instead of from the trigger-kept thread table.
 */
public final class SnapshotService {
  private final DataSource dataSource;

  public SnapshotService(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  public Snapshot snapshot(long userId, int maxThreads, int messagesPerThread) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      int isolation = c.getTransactionIsolation();
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      c.setReadOnly(true);
      c.setAutoCommit(false);
      try {
        Snapshot s = read(c, userId, maxThreads, messagesPerThread);
        c.commit();
        return s;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(autoCommit);
        c.setReadOnly(false);
        c.setTransactionIsolation(isolation);
      }
    }
  }

  private Snapshot read(Connection c, long userId, int maxThreads, int messagesPerThread)
      throws SQLException {
    long max;
    long count;
    // Kept by the insert trigger (V3): equal means the stored deltas are exactly 1..max.
    try (PreparedStatement ps =
        c.prepareStatement("SELECT max_seq, stored_count FROM iris_user_seq WHERE user_id = ?")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        boolean any = rs.next();
        max = any ? rs.getLong(1) : 0;
        count = any ? rs.getLong(2) : 0;
      }
    }
    long now = System.currentTimeMillis();
    if (count != max) {
      return replayUpToGap(c, userId, maxThreads, messagesPerThread, now);
    }
    // Three round trips whatever the number of threads: the threads, their last messages (one
    // indexed LIMIT per thread, in one UNION ALL), their unread counts (one GROUP BY).
    Map<Long, ThreadSummary> threads = new LinkedHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT thread_id, thread_name, participant_ids, last_activity_ms"
                + " FROM iris_user_threads WHERE user_id = ? AND is_member = 1"
                + " ORDER BY last_activity_ms DESC, thread_id DESC LIMIT ?")) {
      ps.setLong(1, userId);
      ps.setInt(2, maxThreads);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ThreadSummary t =
              new ThreadSummary(
                  rs.getLong(1), ids(rs.getString(3)), new ArrayList<>(), 0, rs.getLong(4));
          t.setName(rs.getString(2));
          threads.put(t.getThreadId(), t);
        }
      }
    }
    if (threads.isEmpty()) {
      return new Snapshot(userId, max, new ArrayList<>(), now);
    }
    String one =
        "(SELECT thread_id, message_id, actor_user_id, text, server_ts_ms, seq, client_id"
            + " FROM iris_deltas WHERE user_id = ? AND thread_id = ? AND kind = 'new_message'"
            + " ORDER BY seq DESC LIMIT ?)";
    try (PreparedStatement ps =
        c.prepareStatement(String.join(" UNION ALL ", Collections.nCopies(threads.size(), one)))) {
      int i = 1;
      for (long threadId : threads.keySet()) {
        ps.setLong(i++, userId);
        ps.setLong(i++, threadId);
        ps.setInt(i++, messagesPerThread);
      }
      try (ResultSet m = ps.executeQuery()) {
        while (m.next()) {
          long threadId = m.getLong(1);
          Message msg =
              new Message(
                  m.getLong(2), threadId, m.getLong(3), m.getString(4), m.getLong(5), m.getLong(6));
          msg.setClientId(m.getString(7));
          threads.get(threadId).getLastMessages().add(msg);
        }
      }
    }
    String in = String.join(", ", Collections.nCopies(threads.size(), "?"));
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT d.thread_id, COUNT(*) FROM iris_deltas d JOIN iris_user_threads t"
                + " ON t.user_id = d.user_id AND t.thread_id = d.thread_id"
                + " WHERE d.user_id = ? AND d.thread_id IN ("
                + in
                + ") AND d.kind = 'new_message' AND d.message_id > t.read_up_to_message_id"
                + " AND d.actor_user_id <> ? GROUP BY d.thread_id")) {
      int i = 1;
      ps.setLong(i++, userId);
      for (long threadId : threads.keySet()) {
        ps.setLong(i++, threadId);
      }
      ps.setLong(i, userId);
      try (ResultSet u = ps.executeQuery()) {
        while (u.next()) {
          threads.get(u.getLong(1)).setUnreadCount(u.getInt(2));
        }
      }
    }
    for (ThreadSummary t : threads.values()) {
      Collections.reverse(t.getLastMessages());
    }
    return new Snapshot(userId, max, new ArrayList<>(threads.values()), now);
  }

  private Snapshot replayUpToGap(
      Connection c, long userId, int maxThreads, int messagesPerThread, long now)
      throws SQLException {
    SnapshotBuilder builder = new SnapshotBuilder(userId);
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT "
                + DeltaHistory.COLUMNS
                + " FROM iris_deltas WHERE user_id = ? ORDER BY seq")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        long expected = 1;
        for (var d : DeltaHistory.read(rs)) {
          if (d.getSeq() != expected) {
            break;
          }
          builder.apply(d);
          expected++;
        }
      }
    }
    return builder.build(maxThreads, messagesPerThread, now);
  }

  static List<Long> ids(String csv) {
    List<Long> out = new ArrayList<>();
    if (csv != null && !csv.isEmpty()) {
      Arrays.stream(csv.split(",")).map(Long::valueOf).forEach(out::add);
    }
    return out;
  }
}
