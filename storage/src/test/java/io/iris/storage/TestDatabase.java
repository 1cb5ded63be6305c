package io.iris.storage;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.embedded.EmbeddedMariaDb;
import io.iris.embedded.Ports;
import io.iris.protocol.thrift.Delta;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** One MariaDB per test JVM, with the storage schema, deleted when the JVM exits. */
final class TestDatabase {
  private static HikariDataSource dataSource;

  private TestDatabase() {}

  static synchronized HikariDataSource get() throws IOException {
    if (dataSource == null) {
      Path base = Path.of("target", "it-data").toAbsolutePath();
      Files.createDirectories(base);
      Path dir = Files.createTempDirectory(base, "mariadb-");
      EmbeddedMariaDb db =
          new EmbeddedMariaDb(new EmbeddedMariaDb.Settings(dir, Ports.freePort(), "iris"));
      db.start();
      HikariConfig c = new HikariConfig();
      c.setJdbcUrl(db.jdbcUrl() + "?rewriteBatchedStatements=true");
      c.setUsername(db.user());
      c.setPassword("");
      c.setMaximumPoolSize(4);
      HikariDataSource ds = new HikariDataSource(c);
      StorageSchema.migrate(ds);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    ds.close();
                    db.close();
                    try (Stream<Path> files = Files.walk(dir)) {
                      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                    } catch (IOException e) {
                      // best effort
                    }
                  }));
      dataSource = ds;
    }
    return dataSource;
  }

  static void truncate() throws Exception {
    try (Connection c = get().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM iris_deltas");
      s.execute("DELETE FROM iris_user_threads");
    }
  }

  /** Writes deltas as the JDBC sink does: upsert keyed by (user_id, seq), one batch. */
  static void upsert(List<Delta> deltas) throws Exception {
    try (Connection c = get().getConnection()) {
      DeltaRows.upsert(c, deltas, Math.max(1, deltas.size()));
    }
  }
}
