package io.iris.launcher;

import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;

/**
 * Points log4j at the stack's log directory before any logger exists, and stops it last, after the
 * stack's own shutdown has logged what it did.
 */
final class LogSetup {
  private LogSetup() {}

  static void configure(String[] args) {
    if (System.getProperty("iris.log.dir") == null) {
      // Not IrisConfig.envName: loading Kafka's config classes would start logging too early.
      String dataDir = System.getenv().getOrDefault("IRIS_DATA_DIR", "iris-data");
      System.setProperty(
          "iris.log.dir", Path.of(dataDir).resolve("logs").toAbsolutePath().toString());
    }
    // Our shutdown hook logs while it stops the stack; log4j must not stop before it.
    System.setProperty("log4j2.shutdownHookEnabled", "false");
  }

  /** Moves the log file when the configuration file chose another data directory. */
  static void useDirectory(Path dir) {
    String wanted = dir.toAbsolutePath().toString();
    if (!wanted.equals(System.getProperty("iris.log.dir"))) {
      System.setProperty("iris.log.dir", wanted);
      ((org.apache.logging.log4j.core.LoggerContext) LogManager.getContext(false)).reconfigure();
    }
  }

  static void shutdown() {
    LogManager.shutdown();
  }
}
