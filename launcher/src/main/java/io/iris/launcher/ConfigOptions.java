package io.iris.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by commands that read the configuration. */
public final class ConfigOptions {
  @Option(
      names = {"-c", "--config"},
      description = "Properties file (default: $IRIS_CONFIG, else ./iris.properties if present).")
  Path file;

  IrisConfig load() {
    Path f = file;
    if (f == null && System.getenv("IRIS_CONFIG") != null) {
      f = Path.of(System.getenv("IRIS_CONFIG"));
    }
    if (f == null && Files.exists(Path.of("iris.properties"))) {
      f = Path.of("iris.properties");
    }
    if (f != null && !Files.isReadable(f)) {
      throw new StartupException("config file " + f.toAbsolutePath() + " is not readable");
    }
    try {
      return IrisConfig.load(f, System.getenv());
    } catch (org.apache.kafka.common.config.ConfigException e) {
      throw new StartupException(
          "bad configuration: " + e.getMessage() + " (see `iris config` for every key)");
    }
  }
}
