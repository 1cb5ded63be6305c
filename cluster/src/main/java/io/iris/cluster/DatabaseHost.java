package io.iris.cluster;

import io.iris.embedded.EmbeddedMariaDb;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.concurrent.CountDownLatch;

/**
 * The database host's process: the embedded MariaDB listening on every address of its namespace,
 * with a user for the other hosts (root stays local). In production this host is a MySQL server or
 * service; nothing else in the cluster knows the difference.
 *
 * <p>Arguments: directory, port, database, user, file holding the user's password.
 */
public final class DatabaseHost {
  /** Printed once the database serves the other hosts. */
  static final String READY = "database host: ready";

  private DatabaseHost() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    String database = args[2];
    String user = args[3];
    String password = Files.readString(Path.of(args[4]), StandardCharsets.UTF_8);
    if (!user.matches("[a-z][a-z0-9_]*") || !password.matches("[A-Za-z0-9]+")) {
      throw new IllegalArgumentException("user and password: letters and digits only");
    }
    // Checked above to hold nothing SQL could read as syntax.
    String init =
        "CREATE DATABASE IF NOT EXISTS `"
            + database
            + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
            // The installation's anonymous users would match local logins before this user.
            + "DELETE FROM mysql.global_priv WHERE User = '';\n"
            + "FLUSH PRIVILEGES;\n"
            + "CREATE USER IF NOT EXISTS '"
            + user
            + "'@'%' IDENTIFIED BY '"
            + password
            + "';\n"
            + "ALTER USER '"
            + user
            + "'@'%' IDENTIFIED BY '"
            + password
            + "';\n"
            + "GRANT ALL PRIVILEGES ON `"
            + database
            + "`.* TO '"
            + user
            + "'@'%';\n";
    EmbeddedMariaDb db =
        new EmbeddedMariaDb(
            new EmbeddedMariaDb.Settings(dir.resolve("mariadb"), "0.0.0.0", port, database, init));
    db.start();
    // The user can log in over the network.
    try (Connection c =
        DriverManager.getConnection(
            "jdbc:mysql://127.0.0.1:" + port + "/" + database, user, password)) {
      c.isValid(5);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  db.close();
                  stopped.countDown();
                }));
    System.out.println(READY + " (" + database + " on port " + port + ", user " + user + ")");
    stopped.await();
  }
}
