package io.iris.launcher;

import io.iris.bridge.BridgeConfig;
import io.iris.bridge.KafkaClients;
import io.iris.embedded.Ports;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.ConfigLayers;
import io.iris.topics.KafkaClientProperties;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.types.Password;

/**
 * Configuration of the whole stack. Every key has a documented default; values come, lowest
 * precedence first, from the defaults, a properties file, then environment variables named {@code
 * IRIS_} + the key in upper case with dots and dashes as underscores ({@code mysql.url} is {@code
 * IRIS_MYSQL_URL}).
 *
 * <p>An empty {@code kafka.bootstrap.servers}, {@code mysql.url} or {@code connect.url} starts the
 * embedded part; a value points the same code at a real cluster.
 */
public final class IrisConfig extends AbstractConfig {

  public static final String ENV_PREFIX = ConfigLayers.ENV_PREFIX;

  public static final String DATA_DIR_CONFIG = "data.dir";
  private static final String DATA_DIR_DOC =
      "Directory for the embedded parts' data (Kafka logs, MariaDB, logs). Reused on restart.";

  public static final String BIND_HOST_CONFIG = "bind.host";
  private static final String BIND_HOST_DOC = "Address the embedded servers listen on.";

  public static final String KAFKA_BOOTSTRAP_CONFIG = "kafka.bootstrap.servers";
  private static final String KAFKA_BOOTSTRAP_DOC =
      "Kafka cluster to use, host:port[,host:port]. Empty starts the embedded KRaft broker.";

  public static final String KAFKA_PORT_CONFIG = "kafka.port";
  private static final String KAFKA_PORT_DOC = "Client port of the embedded broker.";

  public static final String KAFKA_CONTROLLER_PORT_CONFIG = "kafka.controller.port";
  private static final String KAFKA_CONTROLLER_PORT_DOC =
      "KRaft controller port of the embedded broker.";

  public static final String TOPICS_REPLICATION_CONFIG = "topics.replication.factor";
  private static final String TOPICS_REPLICATION_DOC =
      "Replication factor of the project's topics when they are created (3 in production).";

  public static final String TOPICS_COMMANDS_PARTITIONS_CONFIG = "topics.commands.partitions";
  public static final String TOPICS_LOG_PARTITIONS_CONFIG = "topics.log.partitions";
  public static final String TOPICS_POINTERS_PARTITIONS_CONFIG =
      "topics.device-pointers.partitions";
  public static final String TOPICS_DLQ_PARTITIONS_CONFIG = "topics.dlq.partitions";
  private static final String PARTITIONS_DOC =
      "Partitions of the topic when it is created. An existing topic is never changed; a"
          + " difference is reported at start.";

  public static final String LOG_RETENTION_MS_CONFIG = "topics.log.retention.ms";
  private static final String LOG_RETENTION_MS_DOC =
      "Retention of iris.log: how far back tier 2 (the log) reaches before MySQL must serve.";

  public static final String MYSQL_URL_CONFIG = "mysql.url";
  private static final String MYSQL_URL_DOC =
      "JDBC URL of MySQL (jdbc:mysql://host:port/db). Empty starts the embedded MariaDB.";

  public static final String MYSQL_USER_CONFIG = "mysql.user";
  private static final String MYSQL_USER_DOC = "MySQL user.";

  public static final String MYSQL_PASSWORD_CONNECT_CONFIG = "mysql.password.connect";
  private static final String MYSQL_PASSWORD_CONNECT_DOC =
      "How the MySQL sink's connector configuration names the MySQL password: a Kafka Connect"
          + " config-provider reference the workers resolve, e.g."
          + " ${directory:/run/secrets:mysql_password} (DirectoryConfigProvider) or"
          + " ${env:MYSQL_PASSWORD} (EnvVarConfigProvider); the password itself is never written"
          + " into Connect's configuration. Empty: with the Connect worker iris up starts, iris"
          + " writes the password to data.dir/connect-secrets (mode 600) and uses a directory"
          + " reference; with an external Connect (connect.url) and a password, iris refuses to"
          + " start until this is set.";

  public static final String MYSQL_PASSWORD_CONFIG = "mysql.password";
  private static final String MYSQL_PASSWORD_DOC = "MySQL password. Never logged.";

  public static final String MYSQL_PORT_CONFIG = "mysql.port";
  private static final String MYSQL_PORT_DOC = "Port of the embedded MariaDB (127.0.0.1 only).";

  public static final String MYSQL_DATABASE_CONFIG = "mysql.database";
  private static final String MYSQL_DATABASE_DOC = "Schema of the embedded MariaDB.";

  public static final String CONNECT_URL_CONFIG = "connect.url";
  private static final String CONNECT_URL_DOC =
      "REST URL of a Kafka Connect cluster, or the URLs of several of its workers,"
          + " comma-separated (a worker that does not answer is skipped). Empty starts the"
          + " embedded Connect worker.";

  public static final String CONNECT_PORT_CONFIG = "connect.port";
  private static final String CONNECT_PORT_DOC = "REST port of the embedded Connect worker.";

  public static final String CONNECT_PLUGIN_PATH_CONFIG = "connect.plugin.path";
  private static final String CONNECT_PLUGIN_PATH_DOC =
      "plugin.path of the embedded Connect worker. Empty: the plugins built in this checkout"
          + " (connectors/target/plugins).";

  public static final String OPS_PORT_CONFIG = "ops.port";
  private static final String OPS_PORT_DOC =
      "Port of the operations endpoint: /metrics (Prometheus), /health, /ready. 0: none.";

  public static final String RUN_CONNECT_CONFIG = "run.connect";
  private static final String RUN_CONNECT_DOC =
      "Whether this process starts (or registers with) Kafka Connect and the MySQL sink. Off for"
          + " a bridge-only process (iris bridge).";

  public static final String RUN_STREAMS_CONFIG = "run.streams";
  private static final String RUN_STREAMS_DOC =
      "Whether iris up runs a streams-app instance in its own process. Turn off when the streams"
          + " app runs elsewhere (iris streams, or its own deployment).";

  public static final String RUN_BRIDGE_CONFIG = "run.bridge";
  private static final String RUN_BRIDGE_DOC =
      "Whether iris up runs an MQTT bridge in its own process. Turn off when the bridges run as"
          + " processes of their own (iris bridge): this process then hosts the rest of the stack.";

  private static final Range PORT = Range.between(1, 65535);

  /** The stack's own keys, then those of the bridge (BridgeConfig) and the streams app. */
  public static final ConfigDef CONFIG = ownKeys();

  static {
    CONFIG.embed("", "bridge", CONFIG.names().size(), BridgeConfig.CONFIG);
    CONFIG.embed("", "streams", CONFIG.names().size(), StreamsAppConfig.CONFIG);
  }

  private static ConfigDef ownKeys() {
    return new ConfigDef()
        .define(DATA_DIR_CONFIG, Type.STRING, "iris-data", Importance.HIGH, DATA_DIR_DOC)
        .define(BIND_HOST_CONFIG, Type.STRING, "127.0.0.1", Importance.MEDIUM, BIND_HOST_DOC)
        .define(KAFKA_BOOTSTRAP_CONFIG, Type.STRING, "", Importance.HIGH, KAFKA_BOOTSTRAP_DOC)
        .define(KAFKA_PORT_CONFIG, Type.INT, 9092, PORT, Importance.MEDIUM, KAFKA_PORT_DOC)
        .define(
            KAFKA_CONTROLLER_PORT_CONFIG,
            Type.INT,
            9093,
            PORT,
            Importance.LOW,
            KAFKA_CONTROLLER_PORT_DOC)
        .define(
            TOPICS_REPLICATION_CONFIG,
            Type.SHORT,
            (short) 1,
            Range.between(1, 32767),
            Importance.HIGH,
            TOPICS_REPLICATION_DOC)
        .define(
            TOPICS_COMMANDS_PARTITIONS_CONFIG,
            Type.INT,
            6,
            Range.atLeast(1),
            Importance.MEDIUM,
            PARTITIONS_DOC)
        .define(
            TOPICS_LOG_PARTITIONS_CONFIG,
            Type.INT,
            12,
            Range.atLeast(1),
            Importance.MEDIUM,
            PARTITIONS_DOC)
        .define(
            TOPICS_POINTERS_PARTITIONS_CONFIG,
            Type.INT,
            6,
            Range.atLeast(1),
            Importance.MEDIUM,
            PARTITIONS_DOC)
        .define(
            TOPICS_DLQ_PARTITIONS_CONFIG,
            Type.INT,
            1,
            Range.atLeast(1),
            Importance.LOW,
            PARTITIONS_DOC)
        .define(
            LOG_RETENTION_MS_CONFIG,
            Type.LONG,
            7L * 24 * 3600 * 1000,
            Range.atLeast(60_000),
            Importance.MEDIUM,
            LOG_RETENTION_MS_DOC)
        .define(MYSQL_URL_CONFIG, Type.STRING, "", Importance.HIGH, MYSQL_URL_DOC)
        .define(MYSQL_USER_CONFIG, Type.STRING, "root", Importance.MEDIUM, MYSQL_USER_DOC)
        .define(MYSQL_PASSWORD_CONFIG, Type.PASSWORD, "", Importance.MEDIUM, MYSQL_PASSWORD_DOC)
        .define(
            MYSQL_PASSWORD_CONNECT_CONFIG,
            Type.STRING,
            "",
            Importance.MEDIUM,
            MYSQL_PASSWORD_CONNECT_DOC)
        .define(MYSQL_PORT_CONFIG, Type.INT, 3307, PORT, Importance.LOW, MYSQL_PORT_DOC)
        .define(MYSQL_DATABASE_CONFIG, Type.STRING, "iris", Importance.LOW, MYSQL_DATABASE_DOC)
        .define(CONNECT_URL_CONFIG, Type.STRING, "", Importance.MEDIUM, CONNECT_URL_DOC)
        .define(CONNECT_PORT_CONFIG, Type.INT, 8083, PORT, Importance.LOW, CONNECT_PORT_DOC)
        .define(
            CONNECT_PLUGIN_PATH_CONFIG, Type.STRING, "", Importance.LOW, CONNECT_PLUGIN_PATH_DOC)
        .define(
            OPS_PORT_CONFIG,
            Type.INT,
            9400,
            Range.between(0, 65535),
            Importance.MEDIUM,
            OPS_PORT_DOC)
        .define(RUN_CONNECT_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, RUN_CONNECT_DOC)
        .define(RUN_STREAMS_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, RUN_STREAMS_DOC)
        .define(RUN_BRIDGE_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, RUN_BRIDGE_DOC);
  }

  public IrisConfig(Map<String, ?> originals) {
    super(CONFIG, originals, false);
  }

  /**
   * Loads the configuration: defaults, then {@code file} if not {@code null}, then the environment.
   */
  public static IrisConfig load(Path file, Map<String, String> env) {
    try {
      return new IrisConfig(ConfigLayers.values(CONFIG.names(), file, env));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read config file " + file, e);
    }
  }

  /**
   * Settings for a stack of embedded parts on ports the OS says are free, with its data in {@code
   * dataDir}: for tests and benchmarks that run beside anything else on the machine.
   */
  public static Map<String, Object> onFreePorts(Path dataDir) {
    Map<String, Object> c = new HashMap<>();
    c.put(DATA_DIR_CONFIG, dataDir.toString());
    c.put(KAFKA_PORT_CONFIG, Ports.freePort());
    c.put(KAFKA_CONTROLLER_PORT_CONFIG, Ports.freePort());
    c.put(MYSQL_PORT_CONFIG, Ports.freePort());
    c.put(CONNECT_PORT_CONFIG, Ports.freePort());
    c.put(BridgeConfig.MQTT_PORT_CONFIG, Ports.freePort());
    c.put(OPS_PORT_CONFIG, Ports.freePort());
    return c;
  }

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return ConfigLayers.envName(key);
  }

  public Path dataDir() {
    return Path.of(getString(DATA_DIR_CONFIG)).toAbsolutePath().normalize();
  }

  public String bindHost() {
    return getString(BIND_HOST_CONFIG);
  }

  public boolean embeddedKafka() {
    return getString(KAFKA_BOOTSTRAP_CONFIG).isBlank();
  }

  /**
   * Where Kafka is: the configured cluster, or the embedded broker's address (that of a running
   * {@code iris up} on this machine).
   */
  public String kafkaBootstrapServers() {
    return embeddedKafka()
        ? bindHost() + ":" + getInt(KAFKA_PORT_CONFIG)
        : getString(KAFKA_BOOTSTRAP_CONFIG);
  }

  public boolean embeddedMysql() {
    return getString(MYSQL_URL_CONFIG).isBlank();
  }

  /** The JDBC URL of MySQL: the configured one, or the embedded MariaDB's (of a running stack). */
  public String jdbcUrl() {
    return embeddedMysql()
        ? "jdbc:mysql://127.0.0.1:"
            + getInt(MYSQL_PORT_CONFIG)
            + "/"
            + getString(MYSQL_DATABASE_CONFIG)
        : getString(MYSQL_URL_CONFIG);
  }

  /**
   * Kafka Connect's REST URL: the configured one, or the embedded worker's (of a running stack).
   */
  public String connectUrl() {
    return embeddedConnect()
        ? "http://" + bindHost() + ":" + getInt(CONNECT_PORT_CONFIG)
        : getString(CONNECT_URL_CONFIG);
  }

  /** The MySQL user (root for the embedded MariaDB). */
  public String jdbcUser() {
    return embeddedMysql() ? "root" : getString(MYSQL_USER_CONFIG);
  }

  /** The MySQL password (empty for the embedded MariaDB). Never log it. */
  public String jdbcPassword() {
    return embeddedMysql() ? "" : mysqlPassword().value();
  }

  public boolean embeddedConnect() {
    return getString(CONNECT_URL_CONFIG).isBlank();
  }

  /** The bridge's part of this configuration. */
  public BridgeConfig bridgeConfig() {
    return new BridgeConfig(originals());
  }

  /** The streams app's part of this configuration. */
  public StreamsAppConfig streamsConfig() {
    return new StreamsAppConfig(originals());
  }

  /**
   * The Kafka clients of {@code role} (a {@link KafkaClientProperties} role): this process's
   * cluster address with the {@code kafka.client.*} properties given for that role.
   */
  public KafkaClients kafkaClients(String role) {
    return kafkaClients(kafkaBootstrapServers(), role);
  }

  /** {@link #kafkaClients(String)} for the cluster at {@code bootstrapServers}. */
  public KafkaClients kafkaClients(String bootstrapServers, String role) {
    return new KafkaClients(bootstrapServers, KafkaClientProperties.forRole(originals(), role));
  }

  public Password mysqlPassword() {
    return getPassword(MYSQL_PASSWORD_CONFIG);
  }

  /**
   * The documentation of every key, as a table for docs/configuration.md and {@code iris config}.
   */
  public static String describe() {
    StringBuilder b = new StringBuilder();
    b.append("| key | environment | default | description |\n|---|---|---|---|\n");
    for (ConfigDef.ConfigKey k : CONFIG.configKeys().values()) {
      Object def = k.defaultValue;
      String shown = def == null || def.toString().isEmpty() ? "(empty)" : def.toString();
      if (k.type == Type.PASSWORD) {
        shown = "(empty)";
      }
      b.append("| `")
          .append(k.name)
          .append("` | `")
          .append(envName(k.name))
          .append("` | `")
          .append(shown)
          .append("` | ")
          .append(k.documentation)
          .append(" |\n");
    }
    b.append(
        "| `kafka.client.<property>` | `IRIS_KAFKA_CLIENT_<PROPERTY>` | (none) | Any Kafka client"
            + " property for every Kafka client of the process (TLS, SASL, timeouts), e.g."
            + " `kafka.client.security.protocol=SASL_SSL`. Secrets (`sasl.jaas.config`,"
            + " `ssl.*.password`) are never shown. |\n");
    b.append(
        "| `kafka.client.<role>.<property>` | `IRIS_KAFKA_CLIENT_<ROLE>_<PROPERTY>` | (none) | The"
            + " same for one role only, over `kafka.client.<property>`: `bridge` (the bridge's"
            + " producer, consumers, admin), `streams` (the streams app), `connect` (the Connect"
            + " worker `iris up` starts and the sink's clients), `tools` (the launcher's admin"
            + " clients and consumers: topics, metrics, `iris device`, `iris pointers`, `iris"
            + " tail`, `iris resink`). |\n");
    return b.toString();
  }
}
