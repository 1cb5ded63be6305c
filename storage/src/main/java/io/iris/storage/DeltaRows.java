package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes deltas into {@code iris_deltas} the way the JDBC sink does: upsert on (user_id, seq), in
 * batches, each batch one transaction. For tools and tests that fill the storage tier without Kafka
 * Connect.
 */
public final class DeltaRows {
  private DeltaRows() {}

  public static void upsert(Connection c, List<Delta> deltas, int batchSize) throws SQLException {
    if (deltas.isEmpty()) {
      return;
    }
    List<String> cols = new ArrayList<>();
    DeltaColumns.write(deltas.get(0), (k, v) -> cols.add(k));
    String sql =
        "INSERT INTO "
            + StorageSchema.DELTAS_TABLE
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
