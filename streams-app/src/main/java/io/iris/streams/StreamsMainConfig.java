package io.iris.streams;

import io.iris.topics.ConfigLayers;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.NonEmptyString;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * Configuration of a streams-app process started by {@link IrisStreamsMain}: where Kafka is, where
 * the local state goes, how long to wait on start and stop, and every key of {@link
 * StreamsAppConfig}. Values come, lowest precedence first, from the defaults, a properties file,
 * then environment variables named {@code IRIS_} + the key in upper case with dots and dashes as
 * underscores ({@code kafka.bootstrap.servers} is {@code IRIS_KAFKA_BOOTSTRAP_SERVERS}), as for the
 * {@code iris} command, so that one file or environment serves both.
 */
public final class StreamsMainConfig extends AbstractConfig {

  public static final String ENV_PREFIX = ConfigLayers.ENV_PREFIX;

  public static final String BOOTSTRAP_SERVERS_CONFIG = "kafka.bootstrap.servers";
  private static final String BOOTSTRAP_SERVERS_DOC =
      "Kafka cluster the app joins, host:port[,host:port]. Required.";

  public static final String STATE_DIR_CONFIG = "streams.state.dir";
  private static final String STATE_DIR_DOC =
      "Directory of this instance's local state (the stores and their checkpoints). Required; one"
          + " per instance on a host. Keep it across restarts: without it the stores are restored"
          + " from their changelogs first.";

  public static final String START_TIMEOUT_MS_CONFIG = "streams.start.timeout.ms";
  private static final String START_TIMEOUT_MS_DOC =
      "How long the app may take to join the group and restore its state before the process gives"
          + " up and exits with status 1.";

  public static final String CLOSE_TIMEOUT_MS_CONFIG = "streams.close.timeout.ms";
  private static final String CLOSE_TIMEOUT_MS_DOC =
      "How long a stop (SIGTERM, Ctrl-C) waits for the app to commit and leave the group before"
          + " the process exits anyway; what is not committed is processed again by the next owner.";

  /** The keys of this process, then those of the streams app (StreamsAppConfig). */
  public static final ConfigDef CONFIG =
      new ConfigDef(StreamsAppConfig.CONFIG)
          .define(
              BOOTSTRAP_SERVERS_CONFIG,
              Type.STRING,
              ConfigDef.NO_DEFAULT_VALUE,
              new NonEmptyString(),
              Importance.HIGH,
              BOOTSTRAP_SERVERS_DOC)
          .define(
              STATE_DIR_CONFIG,
              Type.STRING,
              ConfigDef.NO_DEFAULT_VALUE,
              new NonEmptyString(),
              Importance.HIGH,
              STATE_DIR_DOC)
          .define(
              START_TIMEOUT_MS_CONFIG,
              Type.LONG,
              120_000L,
              Range.atLeast(1),
              Importance.LOW,
              START_TIMEOUT_MS_DOC)
          .define(
              CLOSE_TIMEOUT_MS_CONFIG,
              Type.LONG,
              IrisStreamsApp.DEFAULT_CLOSE_TIMEOUT.toMillis(),
              Range.atLeast(0),
              Importance.LOW,
              CLOSE_TIMEOUT_MS_DOC);

  /**
   * @throws ConfigException naming the key, when a required key is missing or a value is invalid
   */
  public StreamsMainConfig(Map<?, ?> originals) {
    super(CONFIG, originals, false);
  }

  /**
   * Loads the configuration: defaults, then {@code file} if not {@code null}, then the environment.
   *
   * @throws ConfigException when the file cannot be read, a required key is missing or a value is
   *     invalid; the message names the file or the key
   */
  public static StreamsMainConfig load(Path file, Map<String, String> env) {
    try {
      return new StreamsMainConfig(ConfigLayers.values(CONFIG.names(), file, env));
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e);
    }
  }

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return ConfigLayers.envName(key);
  }

  /** The streams app's part of this configuration. */
  public StreamsAppConfig appConfig() {
    return new StreamsAppConfig(originals());
  }

  public String bootstrapServers() {
    return getString(BOOTSTRAP_SERVERS_CONFIG);
  }

  public Path stateDir() {
    return Path.of(getString(STATE_DIR_CONFIG)).toAbsolutePath().normalize();
  }

  public Duration startTimeout() {
    return Duration.ofMillis(getLong(START_TIMEOUT_MS_CONFIG));
  }

  public Duration closeTimeout() {
    return Duration.ofMillis(getLong(CLOSE_TIMEOUT_MS_CONFIG));
  }
}
