package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import io.iris.topics.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Tier 3 reads: a user's stored deltas in position order, a page at a time (catch-up of a device
 * that is behind the log's retention, or repair of a gap). A delta's position is its offset in its
 * user's partition of iris.log; a user's positions only grow and are not contiguous.
 *
 * <p>What MySQL holds of a partition is everything below the sink's committed offset, except a
 * record the sink set aside in iris.sink-dlq: the caller bounds a read by that pointer (rows above
 * it may still be on their way), and a delta set aside is never served from here.
 */
public final class DeltaHistory {
  static final String COLUMNS =
      String.join(
          ", ",
          DeltaColumns.USER_ID,
          DeltaColumns.POSITION,
          DeltaColumns.THREAD_ID,
          DeltaColumns.SERVER_TS_MS,
          DeltaColumns.KIND,
          DeltaColumns.ACTOR_USER_ID,
          DeltaColumns.MESSAGE_ID,
          DeltaColumns.TEXT,
          DeltaColumns.CLIENT_ID,
          DeltaColumns.SENDER_DEVICE_ID,
          DeltaColumns.THREAD_NAME,
          DeltaColumns.PARTICIPANT_IDS,
          DeltaColumns.ADDED_IDS,
          DeltaColumns.REMOVED_IDS,
          DeltaColumns.READ_UP_TO_MESSAGE_ID,
          DeltaColumns.ERROR_CODE,
          DeltaColumns.EMOJI,
          DeltaColumns.ATTACHMENTS,
          DeltaColumns.RULE,
          DeltaColumns.DELIVERIES);

  private final DataSource dataSource;

  public DeltaHistory(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Up to {@code limit} deltas of {@code userId} with {@code afterPos < position <= throughPos}
   * ({@code throughPos} negative: no upper bound), in position order, each with {@code pos} set and
   * {@code prevPos} chained: the first's is {@code afterPos}, each next one's the position of the
   * one before. (So the promise "no delta of the user strictly between prevPos and pos" holds of
   * what MySQL stores; the caller bounds {@code throughPos} by what the sink has stored.) Ask again
   * with {@code afterPos} = the last position returned for the next page.
   */
  public List<Delta> range(long userId, long afterPos, long throughPos, int limit)
      throws SQLException {
    String sql =
        "SELECT "
            + COLUMNS
            + " FROM "
            + Names.DELTAS_TABLE
            + " WHERE user_id = ? AND position > ? AND position <= ? ORDER BY position LIMIT ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, userId);
      ps.setLong(2, afterPos);
      ps.setLong(3, throughPos < 0 ? Long.MAX_VALUE : throughPos);
      ps.setInt(4, limit);
      try (ResultSet rs = ps.executeQuery()) {
        List<Delta> out = read(rs);
        long prev = afterPos;
        for (Delta d : out) {
          d.setPrevPos(prev);
          prev = d.getPos();
        }
        return out;
      }
    }
  }

  /**
   * How many deltas of {@code userId} are stored above {@code afterPos} (a range count on the
   * primary key): what a catch-up from there would send, as far as MySQL holds it.
   */
  public long countAfter(long userId, long afterPos) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT COUNT(*) FROM "
                    + Names.DELTAS_TABLE
                    + " WHERE user_id = ? AND position > ?")) {
      ps.setLong(1, userId);
      ps.setLong(2, afterPos);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * The highest position of the user stored in MySQL (kept by the insert trigger in {@code
   * iris_user_positions}), -1 when none.
   */
  public long maxPosition(long userId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT max_position FROM " + Names.USER_POSITIONS_TABLE + " WHERE user_id = ?")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }
  }

  /**
   * The members of a thread as the user's stored deltas leave it, if the user is one of them;
   * otherwise empty. (Typing indicators are relayed to these.)
   */
  public List<Long> membersIfMember(long userId, long threadId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT participant_ids FROM "
                    + Names.USER_THREADS_TABLE
                    + " WHERE user_id = ? AND thread_id = ? AND is_member = 1")) {
      ps.setLong(1, userId);
      ps.setLong(2, threadId);
      try (ResultSet rs = ps.executeQuery()) {
        List<Long> out = new ArrayList<>();
        if (rs.next()) {
          for (String id : rs.getString(1).split(",")) {
            if (!id.isBlank()) {
              out.add(Long.parseLong(id.trim()));
            }
          }
        }
        return out;
      }
    }
  }

  /** The deltas of a result set whose columns are {@link #COLUMNS}, each with {@code pos} set. */
  static List<Delta> read(ResultSet rs) throws SQLException {
    List<Delta> out = new ArrayList<>();
    while (rs.next()) {
      out.add(
          DeltaColumns.read(
              name -> {
                try {
                  return rs.getObject(name);
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    return out;
  }
}
