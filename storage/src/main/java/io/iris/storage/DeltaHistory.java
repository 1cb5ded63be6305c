package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * Tier 3 reads: a user's stored deltas in seq order, a page at a time (catch-up of a device that is
 * behind the log's retention, or repair of a gap).
 */
public final class DeltaHistory {
  static final String COLUMNS =
      String.join(
          ", ",
          DeltaColumns.USER_ID,
          DeltaColumns.SEQ,
          DeltaColumns.PREV_SEQ,
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
          DeltaColumns.ERROR_CODE);

  private final DataSource dataSource;

  public DeltaHistory(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Up to {@code limit} deltas of {@code userId} with {@code afterSeq < seq <= toSeq} ({@code
   * toSeq} 0: no upper bound), in seq order. Ask again after the last seq returned for the next
   * page.
   */
  public List<Delta> range(long userId, long afterSeq, long toSeq, int limit) throws SQLException {
    String sql =
        "SELECT "
            + COLUMNS
            + " FROM "
            + StorageSchema.DELTAS_TABLE
            + " WHERE user_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, userId);
      ps.setLong(2, afterSeq);
      ps.setLong(3, toSeq <= 0 ? Long.MAX_VALUE : toSeq);
      ps.setInt(4, limit);
      try (ResultSet rs = ps.executeQuery()) {
        return read(rs);
      }
    }
  }

  /** The highest seq of the user stored in MySQL (the storage pointer), 0 when none. */
  public long maxSeq(long userId) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT max_seq FROM iris_user_seq WHERE user_id = ?")) {
      ps.setLong(1, userId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
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
                "SELECT participant_ids FROM iris_user_threads"
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

  /** The deltas of a result set whose columns are {@link #COLUMNS}. */
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
