package io.iris.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;

/**
 * Points log4j at the stack's log directory before any logger exists, and stops it last, after the
 * stack's own shutdown has logged what it did.
 */
final class LogSetup {
  private static final String PROPERTY = "iris.log.dir";

  private LogSetup() {}

  static void configure(String[] args) {
    if (System.getProperty(PROPERTY) == null) {
      // Not IrisConfig.envName: loading Kafka's config classes would start logging too early.
      String dataDir = System.getenv().getOrDefault("IRIS_DATA_DIR", "iris-data");
      System.setProperty(PROPERTY, usable(Path.of(dataDir).resolve("logs")).toString());
    }
    // Our shutdown hook logs while it stops the stack; log4j must not stop before it.
    System.setProperty("log4j2.shutdownHookEnabled", "false");
  }

  /** Moves the log file when the configuration file chose another data directory. */
  static void useDirectory(Path dir) {
    String wanted = usable(dir).toString();
    if (!wanted.equals(System.getProperty(PROPERTY))) {
      System.setProperty(PROPERTY, wanted);
      ((LoggerContext) LogManager.getContext(false)).reconfigure();
    }
  }

  /**
   * {@code dir} if it can be created; otherwise a temporary directory, so that logging works while
   * the launcher reports the unwritable data directory in one line.
   */
  private static Path usable(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    try {
      Files.createDirectories(abs);
      if (Files.isWritable(abs)) {
        return abs;
      }
    } catch (IOException | SecurityException e) {
      // fall through
    }
    return Path.of(System.getProperty("java.io.tmpdir"), "iris-logs").toAbsolutePath();
  }

  static void shutdown() {
    LogManager.shutdown();
  }
}
