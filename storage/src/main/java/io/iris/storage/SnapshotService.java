package io.iris.storage;

import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.ReactionCount;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import io.iris.topics.DeltaColumns;
import io.iris.topics.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Inbox snapshots from MySQL: a user's most recently active threads with their last messages,
 * members and unread counts, and the position {@code pos} they are consistent with: every delta of
 * the user with position <= pos is reflected, none after. A device applies the snapshot, sets
 * lastPos = pos, and takes deltas after pos.
 *
 * <p>A snapshot is read in ONE read-only REPEATABLE READ transaction: its rows, the thread table
 * the triggers keep in the same transactions as the rows, and the highest position of the user's
 * rows, all from one consistent view. Then {@code pos = max(storedThrough, R)}, R the highest
 * position of the user's rows in that view (-1 when none), and that is sound:
 *
 * <ul>
 *   <li>{@code storedThrough} is the sink group's committed offset on the user's partition minus
 *       one, read by the caller BEFORE this call. The sink commits an offset only after the rows
 *       below it are committed in MySQL, so every row at or below storedThrough was committed
 *       before the view was taken and is in it.
 *   <li>The sink writes a partition in offset order (one table, no reduction buffer, each flush one
 *       transaction after the previous one), so a row of the user at R in the view means every row
 *       of that partition below R is in it too.
 *   <li>No row of the user above R is in the view (R is the highest), and so none above pos.
 * </ul>
 *
 * So the view holds exactly the user's rows with position <= pos, and the snapshot reflects exactly
 * those. One exception, which no one can see from MySQL: a record the sink set aside in {@code
 * iris.sink-dlq} (it could not be converted or written) is a hole. Its position lies below pos, so
 * a device that takes the snapshot never gets that delta from storage, and the snapshot does not
 * reflect it; the snapshot still states pos (PROTOCOL.md, "Storage holes").
 *
 * <p>Edits, deletes and reactions are read from the tables the triggers of V7 keep ({@code
 * iris_message_changes}, {@code iris_message_reactions}), for the messages shown only, and applied
 * as {@link SnapshotBuilder} defines.
 *
 * <p>Positions are not contiguous, so unlike version 1 (seqs 1..S, checked against a stored count)
 * no gap can be detected here: the soundness rests on the two facts above, not on a check.
 */
public final class SnapshotService {
  private final DataSource dataSource;

  public SnapshotService(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * The user's inbox: at most {@code maxThreads} threads the user is a member of, most recently
   * active first, each with its last {@code messagesPerThread} messages (oldest first, each with
   * the position of the user's delta that delivered it).
   *
   * @param storedThrough the sink group's committed offset on the user's partition of iris.log
   *     minus one (-1 when it has committed nothing there), read before this call: every record of
   *     the partition at or below it is in MySQL (or in iris.sink-dlq)
   * @param epoch the epoch of the positions (iris.log's topic id), stated in the snapshot
   * @return a snapshot with {@code pos = max(storedThrough, the highest position of the user's rows
   *     visible to its read)} and {@code epoch}
   */
  public Snapshot snapshot(
      long userId, int maxThreads, int messagesPerThread, long storedThrough, String epoch)
      throws SQLException {
    Objects.requireNonNull(epoch, "epoch");
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      int isolation = c.getTransactionIsolation();
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      c.setReadOnly(true);
      c.setAutoCommit(false);
      try {
        Snapshot s = read(c, userId, maxThreads, messagesPerThread, storedThrough, epoch);
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

  private Snapshot read(
      Connection c,
      long userId,
      int maxThreads,
      int messagesPerThread,
      long storedThrough,
      String epoch)
      throws SQLException {
    long highest;
    // One dive into the primary key; in the same view as everything below.
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT MAX(position) FROM " + Names.DELTAS_TABLE + " WHERE user_id = ?")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        long max = rs.getLong(1);
        highest = rs.wasNull() ? -1 : max;
      }
    }
    long pos = Math.max(storedThrough, highest);
    long now = System.currentTimeMillis();
    // Five round trips whatever the number of threads: the threads, their last messages (one
    // indexed LIMIT per thread, in one UNION ALL), the edits and deletes of those messages and
    // their reactions (one primary-key range per thread, one query each), their unread counts (one
    // index range per thread, in one UNION ALL).
    Map<Long, ThreadSummary> threads = new LinkedHashMap<>();
    Map<Long, Long> readUpTo = new HashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT thread_id, thread_name, participant_ids, last_activity_ms,"
                + " read_up_to_message_id FROM "
                + Names.USER_THREADS_TABLE
                + " WHERE user_id = ? AND is_member = 1"
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
          readUpTo.put(t.getThreadId(), rs.getLong(5));
        }
      }
    }
    if (threads.isEmpty()) {
      return new Snapshot(userId, new ArrayList<>(), now, pos, epoch);
    }
    String one =
        "(SELECT thread_id, message_id, actor_user_id, text, server_ts_ms, position, client_id,"
            + " attachments"
            + " FROM "
            + Names.DELTAS_TABLE
            // Named: with several indexes on (user_id, thread_id, ...) the optimizer may walk the
            // user's whole primary key backwards instead (seen: 55,000 rows for 20).
            + " FORCE INDEX (iris_deltas_user_thread_position)"
            + " WHERE user_id = ? AND thread_id = ? AND kind = 'new_message'"
            + " ORDER BY position DESC LIMIT ?)";
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
          List<Attachment> attachments = DeltaColumns.attachments(m.getString(8));
          if (attachments != null && !attachments.isEmpty()) {
            msg.setAttachments(attachments);
          }
          threads.get(threadId).getLastMessages().add(msg);
        }
      }
    }
    applyChanges(c, userId, threads);
    // Per thread, its read mark as a constant: a range of the unread index (V6), entries only.
    String count =
        "(SELECT ?, COUNT(*) FROM "
            + Names.DELTAS_TABLE
            + " FORCE INDEX (iris_deltas_unread)"
            + " WHERE user_id = ? AND thread_id = ? AND kind = 'new_message' AND message_id > ?"
            + " AND actor_user_id <> ?)";
    try (PreparedStatement ps =
        c.prepareStatement(
            String.join(" UNION ALL ", Collections.nCopies(threads.size(), count)))) {
      int i = 1;
      for (long threadId : threads.keySet()) {
        ps.setLong(i++, threadId);
        ps.setLong(i++, userId);
        ps.setLong(i++, threadId);
        ps.setLong(i++, readUpTo.get(threadId));
        ps.setLong(i++, userId);
      }
      try (ResultSet u = ps.executeQuery()) {
        while (u.next()) {
          threads.get(u.getLong(1)).setUnreadCount(u.getInt(2));
        }
      }
    }
    for (ThreadSummary t : threads.values()) {
      Collections.reverse(t.getLastMessages());
    }
    return new Snapshot(userId, new ArrayList<>(threads.values()), now, pos, epoch);
  }

  /**
   * Applies the edits, deletes and reactions of the messages in {@code threads} (their last
   * messages only), read in one query per table: per thread, one range of the table's primary key,
   * {@code thread_id = ? AND message_id BETWEEN} the lowest and the highest id shown. The ids a
   * user holds of a thread are contiguous unless the user was away from it (removed, then added
   * again), so the range is the messages shown; what it holds besides (changes of messages sent
   * while the user was away) is skipped here. Ranges rather than lists of ids: at most one per
   * thread whatever messagesPerThread is (a request of 200 threads of 200 messages would otherwise
   * bind 40,000 ids, past what MySQL's range optimizer plans within range_optimizer_max_mem_size:
   * it would read all the user's rows instead), and one statement text per number of threads, for
   * the prepared-statement cache.
   */
  private static void applyChanges(Connection c, long userId, Map<Long, ThreadSummary> threads)
      throws SQLException {
    Map<Long, Map<Long, Message>> shown = new LinkedHashMap<>();
    for (ThreadSummary t : threads.values()) {
      if (!t.getLastMessages().isEmpty()) {
        Map<Long, Message> byId = new HashMap<>();
        t.getLastMessages().forEach(m -> byId.put(m.getMessageId(), m));
        shown.put(t.getThreadId(), byId);
      }
    }
    if (shown.isEmpty()) {
      return;
    }
    String which =
        "user_id = ? AND ("
            + String.join(
                " OR ",
                Collections.nCopies(shown.size(), "(thread_id = ? AND message_id BETWEEN ? AND ?)"))
            + ")";
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT thread_id, message_id, edit_text, edited_at_ms, edit_position, deleted FROM "
                + Names.MESSAGE_CHANGES_TABLE
                + " WHERE "
                + which)) {
      bind(ps, 1, userId, shown);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          Message m = shown.get(rs.getLong(1)).get(rs.getLong(2));
          if (m == null) {
            continue; // sent while the user was away from the thread
          }
          if (rs.getBoolean(6)) {
            // Deleted wins over everything, before or after it.
            m.setText("");
            m.unsetAttachments();
            m.setDeleted(true);
          } else if (rs.getLong(5) >= 0) {
            m.setText(rs.getString(3));
            m.setEditedAtMs(rs.getLong(4));
          }
        }
      }
    }
    // Reactor by reactor: a snapshot lists who chose each emoji. Grouped here by the emoji's exact
    // string: the column's collation pads, and would take "x" and "x " for one. By identity: a
    // Message's hash changes as it is filled in.
    Map<Message, Map<String, List<Long>>> who = new IdentityHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT thread_id, message_id, emoji, reactor_user_id FROM "
                + Names.MESSAGE_REACTIONS_TABLE
                + " WHERE "
                + which
                + " AND emoji IS NOT NULL")) {
      bind(ps, 1, userId, shown);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          Message m = shown.get(rs.getLong(1)).get(rs.getLong(2));
          if (m == null || m.isDeleted()) {
            continue;
          }
          String emoji = rs.getString(3);
          long reactor = rs.getLong(4);
          who.computeIfAbsent(m, k -> new TreeMap<>())
              .computeIfAbsent(emoji, k -> new ArrayList<>())
              .add(reactor);
          if (reactor == userId) {
            m.setMyReaction(emoji);
          }
        }
      }
    }
    who.forEach(
        (m, byEmoji) -> {
          List<ReactionCount> reactions = SnapshotBuilder.reactions(byEmoji);
          if (!reactions.isEmpty()) {
            m.setReactions(reactions);
          }
        });
  }

  /**
   * Binds {@code user_id}, then each thread's id and the range of its ids shown, from {@code i}.
   */
  private static void bind(
      PreparedStatement ps, int i, long userId, Map<Long, Map<Long, Message>> shown)
      throws SQLException {
    ps.setLong(i++, userId);
    for (var t : shown.entrySet()) {
      ps.setLong(i++, t.getKey());
      ps.setLong(i++, Collections.min(t.getValue().keySet()));
      ps.setLong(i++, Collections.max(t.getValue().keySet()));
    }
  }

  static List<Long> ids(String csv) {
    List<Long> out = new ArrayList<>();
    if (csv != null && !csv.isEmpty()) {
      Arrays.stream(csv.split(",")).map(Long::valueOf).forEach(out::add);
    }
    return out;
  }
}
