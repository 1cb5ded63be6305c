package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import io.iris.topics.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes deltas into {@code iris_deltas} the way the JDBC sink does: upsert on (user_id, position),
 * in batches, each batch one transaction. For tools and tests that fill the storage tier without
 * Kafka Connect.
 */
public final class DeltaRows {
  private DeltaRows() {}

  /**
   * Upserts {@code deltas}, {@code batchSize} to a transaction, in the order given (write a
   * partition's records in offset order, as the sink does: {@link SnapshotService} relies on it).
   *
   * @param deltas each with {@code pos} set by the caller to the offset of its record in iris.log
   *     (the sink takes it from the record, Connect's {@code InsertField}; iris.log's bytes carry
   *     none)
   * @throws IllegalArgumentException when a delta has no {@code pos}; nothing is written then
   */
  public static void upsert(Connection c, List<Delta> deltas, int batchSize) throws SQLException {
    if (deltas.isEmpty()) {
      return;
    }
    for (int i = 0; i < deltas.size(); i++) {
      Delta d = deltas.get(i);
      if (!d.isSetPos()) {
        throw new IllegalArgumentException(
            "delta "
                + i
                + " (user "
                + d.getUserId()
                + ", thread "
                + d.getThreadId()
                + ") has no pos: a delta is stored under its position, the offset of its record in"
                + " iris.log; set Delta.pos from the record's offset");
      }
    }
    List<String> cols = new ArrayList<>();
    DeltaColumns.write(deltas.get(0), (k, v) -> cols.add(k));
    cols.add(DeltaColumns.POSITION);
    String sql =
        "INSERT INTO "
            + Names.DELTAS_TABLE
            + " ("
            + String.join(", ", cols)
            + ") VALUES ("
            + String.join(", ", cols.stream().map(x -> "?").toList())
            + ") ON DUPLICATE KEY UPDATE "
            + String.join(", ", cols.stream().map(x -> x + " = VALUES(" + x + ")").toList());
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int n = 0;
      for (Delta d : deltas) {
        int[] i = {1};
        DeltaColumns.write(
            d,
            (k, v) -> {
              try {
                ps.setObject(i[0]++, v);
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
            });
        ps.setLong(i[0], d.getPos());
        ps.addBatch();
        if (++n % batchSize == 0) {
          ps.executeBatch();
          c.commit();
        }
      }
      ps.executeBatch();
      c.commit();
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }
}
