package io.iris.storage;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.embedded.EmbeddedMariaDb;
import io.iris.embedded.Ports;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.Names;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** One MariaDB per test JVM, with the storage schema, deleted when the JVM exits. */
final class TestDatabase {
  private static EmbeddedMariaDb db;
  private static HikariDataSource dataSource;

  private TestDatabase() {}

  static synchronized HikariDataSource get() throws IOException {
    if (dataSource == null) {
      Path base = Path.of("target", "it-data").toAbsolutePath();
      Files.createDirectories(base);
      Path dir = Files.createTempDirectory(base, "mariadb-");
      db = new EmbeddedMariaDb(new EmbeddedMariaDb.Settings(dir, Ports.freePort(), "iris"));
      db.start();
      HikariDataSource ds = pool(db.jdbcUrl());
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

  private static HikariDataSource pool(String jdbcUrl) {
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl(jdbcUrl + "?rewriteBatchedStatements=true");
    c.setUsername(db.user());
    c.setPassword("");
    c.setMaximumPoolSize(4);
    return new HikariDataSource(c);
  }

  /** A new, empty database {@code name} on the same server (dropped first if it exists). */
  static HikariDataSource emptyDatabase(String name) throws Exception {
    try (Connection c = get().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name);
      s.execute("CREATE DATABASE " + name);
    }
    String url = db.jdbcUrl();
    return pool(url.substring(0, url.lastIndexOf('/') + 1) + name);
  }

  static void truncate() throws Exception {
    try (Connection c = get().getConnection();
        Statement s = c.createStatement()) {
      for (String table : Names.TABLES) {
        s.execute("DELETE FROM " + table);
      }
    }
  }

  /**
   * Writes deltas (each with pos) as the JDBC sink does: upsert keyed by (user_id, position), one
   * transaction.
   */
  static void upsert(List<Delta> deltas) throws Exception {
    try (Connection c = get().getConnection()) {
      DeltaRows.upsert(c, deltas, Math.max(1, deltas.size()));
    }
  }

  /** The single number a query returns. */
  static long count(String sql) throws Exception {
    try (Connection c = get().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
