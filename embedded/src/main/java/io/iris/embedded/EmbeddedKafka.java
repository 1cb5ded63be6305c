package io.iris.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker in KRaft mode (combined broker and controller), run in this JVM
 * from the Kafka jars. The log directory is formatted on first start and reused afterwards, so a
 * restart keeps every topic and offset.
 *
 * <p>The generated {@code server.properties} is written next to the logs: the same file starts the
 * same broker with Kafka's own scripts.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);

  /**
   * @param dataDir directory for {@code server.properties} and the {@code logs/} directory
   * @param host address to bind and advertise
   * @param port client listener port
   * @param controllerPort KRaft controller listener port
   * @param overrides broker configs that win over the defaults
   */
  public record Settings(
      Path dataDir, String host, int port, int controllerPort, Map<String, String> overrides) {
    public Settings {
      overrides = Map.copyOf(overrides);
    }

    /** Free ports from the OS, for tests. */
    public static Settings ephemeral(Path dataDir) {
      return new Settings(dataDir, "127.0.0.1", Ports.freePort(), Ports.freePort(), Map.of());
    }
  }

  private final Settings settings;
  private KafkaRaftServer server;

  public EmbeddedKafka(Settings settings) {
    this.settings = settings;
  }

  public Settings settings() {
    return settings;
  }

  public String bootstrapServers() {
    return settings.host() + ":" + settings.port();
  }

  public Path logDir() {
    return settings.dataDir().resolve("logs");
  }

  /** The broker configuration this instance runs with. */
  public Map<String, String> brokerConfig() {
    String host = settings.host();
    Map<String, String> p = new TreeMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.bootstrap.servers", host + ":" + settings.controllerPort());
    p.put(
        "listeners",
        "PLAINTEXT://"
            + host
            + ":"
            + settings.port()
            + ",CONTROLLER://"
            + host
            + ":"
            + settings.controllerPort());
    p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + settings.port());
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir().toAbsolutePath().toString());
    // One node: every internal topic has one replica.
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "10");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "10");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    // After a kill -9 the restarted node's controller still holds the dead incarnation's
    // registration and refuses the new one (DuplicateBrokerRegistrationException) until that
    // session expires: 9 s by default, most of a restart's broker start. The controller runs in
    // this same process, so its heartbeats do not cross a network; but a loaded 2-core machine
    // can delay them ("controller event queue overloaded. Timed out heartbeat" was seen under two
    // concurrent benchmarks), and the only broker fenced stops everything: 6 s, beats every 1 s.
    p.put("broker.heartbeat.interval.ms", "1000");
    p.put("broker.session.timeout.ms", "6000");
    // The contract's topics are created explicitly with their configs; a typo must not
    // silently create a new topic.
    p.put("auto.create.topics.enable", "false");
    p.put("num.partitions", "1");
    p.putAll(settings.overrides());
    return p;
  }

  /** Formats the log directory if needed and starts the broker; returns once it serves clients. */
  public synchronized void start() {
    start(Map.of());
  }

  /**
   * {@link #start()} for a broker whose client listener needs credentials (SASL, TLS): {@code
   * clientProperties} are what a client needs to reach it, used to see that it serves.
   */
  public synchronized void start(Map<String, ?> clientProperties) {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    try {
      Files.createDirectories(settings.dataDir());
      Path propsFile = settings.dataDir().resolve("server.properties");
      Properties props = new Properties();
      props.putAll(brokerConfig());
      try (OutputStream out = Files.newOutputStream(propsFile)) {
        props.store(
            out, "Generated by iris for the embedded broker; usable with kafka-server-start");
      }
      if (!Files.exists(logDir().resolve("meta.properties"))) {
        format(propsFile);
      }
      server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
      server.startup();
      awaitReady(Duration.ofSeconds(60), clientProperties);
      log.info("Kafka broker (KRaft) serving on {}, logs in {}", bootstrapServers(), logDir());
    } catch (IOException e) {
      throw new UncheckedIOException("could not prepare " + settings.dataDir(), e);
    }
  }

  private void format(Path propsFile) {
    String clusterId = Uuid.randomUuid().toString();
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      int rc =
          StorageTool.execute(
              new String[] {"format", "-t", clusterId, "-c", propsFile.toString(), "--standalone"},
              out);
      if (rc != 0) {
        throw new IllegalStateException(
            "formatting Kafka storage in "
                + logDir()
                + " failed: "
                + buffer.toString(StandardCharsets.UTF_8));
      }
    }
    log.info("Formatted Kafka storage in {} with cluster id {}", logDir(), clusterId);
  }

  private void awaitReady(Duration timeout, Map<String, ?> clientProperties) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, Object> conf = new java.util.HashMap<>(clientProperties);
    conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    try (Admin admin = Admin.create(conf)) {
      while (true) {
        try {
          if (!admin.describeCluster().nodes().get().isEmpty()) {
            return;
          }
        } catch (Exception e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "Kafka broker did not become ready within " + timeout, e);
          }
        }
        sleep(100);
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Stops the broker (controlled shutdown); idempotent. */
  @Override
  public synchronized void close() {
    if (server == null) {
      return;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
    log.info("Kafka broker on {} stopped", bootstrapServers());
  }
}
