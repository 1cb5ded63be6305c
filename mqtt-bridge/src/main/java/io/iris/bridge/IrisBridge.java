package io.iris.bridge;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.bridge.down.BridgeRoutes;
import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.DevicePointers;
import io.iris.bridge.down.LogLayout;
import io.iris.bridge.down.PushPath;
import io.iris.bridge.down.StoragePointers;
import io.iris.bridge.down.UserLogs;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.bridge.edge.DeviceSender;
import io.iris.bridge.edge.DeviceTopicPolicy;
import io.iris.bridge.edge.MqttEdge;
import io.iris.bridge.edge.Redirects;
import io.iris.bridge.up.DeviceRateLimiter;
import io.iris.bridge.up.SendPath;
import io.iris.bridge.up.TypingRelay;
import io.iris.storage.DeltaHistory;
import io.iris.storage.SnapshotService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT bridge: the edge (Moquette, device authentication and topic policy), the up direction
 * (send path, typing), the down direction (push path, catch-up from memory, iris.log and MySQL,
 * device pointers). Built from {@link BridgeConfig} and where Kafka and MySQL are ({@link Wiring});
 * {@link #start} starts the parts in dependency order and {@link #close} stops them in reverse.
 *
 * <p>{@link #health()} tells whether the bridge's vital background threads still run: a dead push
 * path or a dead device-registry view makes the bridge wrong (deltas no longer pushed, revocations
 * no longer applied) while its sockets still answer, so a host process must report it unhealthy.
 */
public final class IrisBridge implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisBridge.class);

  /**
   * Where the bridge connects and listens.
   *
   * @param kafka the cluster and the client properties every Kafka client of the bridge uses
   * @param jdbcUrl MySQL, for catch-up from storage and snapshots
   * @param jdbcUser MySQL user
   * @param jdbcPassword MySQL password (never logged)
   * @param bindHost the address the MQTT listeners bind to
   */
  public record Wiring(
      KafkaClients kafka, String jdbcUrl, String jdbcUser, String jdbcPassword, String bindHost) {
    @Override
    public String toString() {
      return "Wiring[kafka=" + kafka.bootstrapServers() + ", mysql=" + jdbcUrl + "]";
    }
  }

  private record Part(String name, AutoCloseable closer) {}

  private final BridgeConfig config;
  private final Wiring wiring;
  private final Deque<Part> started = new ArrayDeque<>();
  private DeviceRegistry devices;
  private DevicePointers pointers;
  private DeviceTopicPolicy topicPolicy;
  private HikariDataSource db;
  private Admin admin;
  private LogLayout layout;
  private UserLogs userLogs;
  private CatchUp catchUp;
  private PushPath pushPath;
  private BridgeRoutes routes;
  private Redirects redirects;
  private TypingRelay typing;
  private SendPath sendPath;
  private MqttEdge mqtt;

  public IrisBridge(BridgeConfig config, Wiring wiring) {
    this.config = config;
    this.wiring = wiring;
  }

  /**
   * Starts every part; on failure stops what was started and rethrows.
   *
   * @param progress receives one line when the edge listens, for the console
   */
  public synchronized void start(Consumer<String> progress) {
    try {
      startParts(progress);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private void startParts(Consumer<String> progress) {
    KafkaClients kafka = wiring.kafka();
    devices = new DeviceRegistry(kafka);
    started.push(new Part("device registry", devices));
    devices.start(Duration.ofSeconds(60));
    pointers = new DevicePointers(kafka);
    started.push(new Part("device pointers", pointers));
    pointers.start(Duration.ofSeconds(60));
    topicPolicy = new DeviceTopicPolicy();
    int catchUpThreads = config.getInt(BridgeConfig.MQTT_CATCHUP_THREADS_CONFIG);
    db = dataSource(catchUpThreads + 1);
    started.push(new Part("bridge MySQL pool", db));
    DeltaHistory history = new DeltaHistory(db);
    admin = Admin.create(kafka.asMap());
    started.push(new Part("admin client", admin));
    layout = LogLayout.describe(admin, Duration.ofSeconds(60));
    log.info(
        "iris.log epoch {} ({} partitions): positions of devices are offsets of this log",
        layout.epoch(),
        layout.partitions());
    userLogs =
        new UserLogs(
            config.getInt(BridgeConfig.MQTT_TIER1_DELTAS_PER_USER_CONFIG),
            config.getInt(BridgeConfig.MQTT_TIER1_USERS_CONFIG));
    DeviceSender qos1 = (device, frame) -> mqtt.publish(device.down(), frame);
    catchUp =
        new CatchUp(
            kafka,
            userLogs,
            layout,
            new StoragePointers(admin, Duration.ofMillis(500)),
            history,
            new SnapshotService(db),
            new CatchUp.Settings(
                catchUpThreads,
                catchUpThreads * 4,
                config.getInt(BridgeConfig.MQTT_CATCHUP_MAX_DELTAS_CONFIG),
                config.getLong(BridgeConfig.MQTT_RESNAPSHOT_AFTER_DELTAS_CONFIG),
                config.getInt(BridgeConfig.MQTT_MAX_MESSAGE_BYTES_CONFIG)),
            qos1);
    started.push(new Part("catch-up", catchUp));
    String bridgeId = bridgeId();
    routes = new BridgeRoutes(kafka, bridgeId, advertisedUris());
    started.push(
        new Part(
            "bridge routes",
            () -> {
              routes.leave();
              routes.close();
            }));
    routes.start(Duration.ofSeconds(60));
    redirects =
        new Redirects(
            layout::partitionOf,
            // Never this bridge itself (a claim of it not yet replaced): the owner is then unknown.
            partition -> {
              List<String> owner = routes.ownerOf(partition);
              return owner.equals(routes.serverUris()) ? List.of() : owner;
            },
            // QoS 0: the connection is closed a second later anyway, and a lost redirect costs
            // one more reconnect. (Moquette 0.17's double release of a QoS 1 message whose PUBACK
            // met a closing connection no longer hurts: see MqttEdge.payload.)
            (device, frame) -> mqtt.publishAtMostOnce(device.down(), frame),
            // The connection the frame went to, not one the device has opened here since.
            clientId -> mqtt == null ? () -> {} : mqtt.connectionCloser(clientId),
            device -> {
              java.util.Set<io.iris.protocol.DeviceTopics.DeviceId> here =
                  pushPath == null ? null : pushPath.devicesOf(device.userId());
              return here != null && here.contains(device);
            });
    started.push(new Part("redirects", redirects));
    pushPath =
        new PushPath(
            kafka,
            new PushPath.Membership(
                config.getBoolean(BridgeConfig.MQTT_BRIDGE_STATIC_MEMBERSHIP_CONFIG)
                    ? bridgeId
                    : null,
                config.getInt(BridgeConfig.MQTT_BRIDGE_SESSION_TIMEOUT_MS_CONFIG)),
            config.getInt(BridgeConfig.MQTT_DELTA_BATCH_SIZE_CONFIG),
            config.getInt(BridgeConfig.MQTT_MAX_MESSAGE_BYTES_CONFIG),
            qos1,
            userLogs,
            layout,
            routes::claim,
            redirects);
    started.push(new Part("push path", pushPath));
    typing =
        new TypingRelay(
            history,
            pushPath::devicesOf,
            (device, frame) -> mqtt.publishAtMostOnce(device.down(), frame),
            10_000);
    sendPath =
        new SendPath(
            kafka,
            config.getInt(BridgeConfig.MQTT_MAX_MESSAGE_BYTES_CONFIG),
            qos1,
            new SendPath.Services(
                catchUp,
                typing,
                pointers,
                layout.epoch(),
                pushPath::serves,
                redirects,
                new DeviceRateLimiter(
                    config.getDouble(BridgeConfig.MQTT_DEVICE_COMMANDS_PER_SECOND_CONFIG),
                    config.getInt(BridgeConfig.MQTT_DEVICE_COMMANDS_BURST_CONFIG))));
    started.push(new Part("send path", sendPath));
    int tlsPort = config.getInt(BridgeConfig.MQTT_TLS_PORT_CONFIG);
    MqttEdge.Tls tls = null;
    if (tlsPort > 0) {
      tls =
          new MqttEdge.Tls(
              tlsPort,
              Path.of(config.getString(BridgeConfig.MQTT_TLS_KEYSTORE_PATH_CONFIG)),
              config.getPassword(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG).value());
    }
    mqtt =
        new MqttEdge(
            new MqttEdge.Settings(
                wiring.bindHost(),
                config.getInt(BridgeConfig.MQTT_PORT_CONFIG),
                config.getInt(BridgeConfig.MQTT_MAX_MESSAGE_BYTES_CONFIG),
                tls),
            devices,
            topicPolicy,
            List.of(sendPath, pushPath));
    devices.onRevoked(mqtt::disconnect);
    pushPath.start(Duration.ofSeconds(60));
    log.info(
        "Bridge {} owns partitions {} of iris.log; devices of the others are redirected",
        bridgeId,
        new java.util.TreeSet<>(pushPath.ownedPartitions()));
    mqtt.start();
    started.push(new Part("MQTT edge", mqtt));
    long maxFiles = openFileLimit();
    if (maxFiles > 0 && maxFiles < 65_536) {
      log.warn(
          "This process may open {} files: each device connection takes one, so this bridge holds"
              + " at most about {} devices. Raise the limit for more: ulimit -n (shell), LimitNOFILE="
              + " (systemd), --ulimit nofile= (docker); see docs/operations.md, Scale-out.",
          maxFiles,
          Math.max(0, maxFiles - 1_000));
    }
    progress.accept(
        "MQTT edge (Moquette)     "
            + String.join("   ", endpoints().values())
            + "   "
            + devices.size()
            + " devices registered");
  }

  /** The process's open-file limit, or -1 where the JVM does not say. */
  static long openFileLimit() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.UnixOperatingSystemMXBean unix
        ? unix.getMaxFileDescriptorCount()
        : -1;
  }

  private HikariDataSource dataSource(int poolSize) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(wiring.jdbcUrl());
    hc.setUsername(wiring.jdbcUser());
    hc.setPassword(wiring.jdbcPassword());
    hc.setMaximumPoolSize(poolSize);
    hc.setPoolName("iris-bridge");
    // Start even when MySQL is away: catch-up from storage answers UNAVAILABLE until it is back.
    hc.setInitializationFailTimeout(-1);
    hc.setConnectionTimeout(5_000);
    return new HikariDataSource(hc);
  }

  /** Which bridge owns which partition (iris.bridges), once started. */
  public BridgeRoutes routes() {
    return routes;
  }

  /** Devices sent to another bridge, once started. */
  public Redirects redirects() {
    return redirects;
  }

  /**
   * Which bridge serves {@code userId}, as JSON: {"user":"42","partition":3,"bridge":"bridge-b",
   * "serverUris":["tcp://..."]} (bridge null and serverUris empty while no bridge owns it).
   */
  public String routeJson(long userId) {
    int partition = layout.partitionOf(userId);
    io.iris.protocol.thrift.BridgeRoute claim = routes.claimOf(partition);
    String owner = claim == null ? null : claim.getBridgeId();
    StringBuilder b =
        new StringBuilder("{\"user\":\"")
            .append(userId)
            .append("\",\"partition\":")
            .append(partition)
            .append(",\"bridge\":")
            .append(owner == null ? "null" : "\"" + owner + "\"")
            .append(",\"serverUris\":[");
    List<String> uris = claim == null ? List.of() : claim.getServerUris();
    for (int i = 0; i < uris.size(); i++) {
      b.append(i == 0 ? "" : ",").append('"').append(uris.get(i)).append('"');
    }
    return b.append("]}").toString();
  }

  /** This bridge's id: mqtt.bridge.id, or bridge-<host>-<mqtt port>. */
  public String bridgeId() {
    String id = config.getString(BridgeConfig.MQTT_BRIDGE_ID_CONFIG);
    return id.isBlank()
        ? "bridge-" + hostName() + "-" + config.getInt(BridgeConfig.MQTT_PORT_CONFIG)
        : id;
  }

  /** Where devices reach this bridge: mqtt.advertised.uris, or the listeners at the bind host. */
  public List<String> advertisedUris() {
    List<String> configured = config.getList(BridgeConfig.MQTT_ADVERTISED_URIS_CONFIG);
    if (!configured.isEmpty()) {
      return List.copyOf(configured);
    }
    String host = wiring.bindHost();
    String reachable = host.equals("0.0.0.0") || host.equals("::") ? hostName() : host;
    return endpoints().values().stream()
        .map(u -> u.replace("//" + host + ":", "//" + reachable + ":"))
        .toList();
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
  }

  /** The MQTT listeners: "mqtt" and, with TLS, "mqtts", as URLs. */
  public Map<String, String> endpoints() {
    Map<String, String> e = new LinkedHashMap<>();
    e.put(
        "mqtt", "tcp://" + wiring.bindHost() + ":" + config.getInt(BridgeConfig.MQTT_PORT_CONFIG));
    int tlsPort = config.getInt(BridgeConfig.MQTT_TLS_PORT_CONFIG);
    if (tlsPort > 0) {
      e.put("mqtts", "ssl://" + wiring.bindHost() + ":" + tlsPort);
    }
    return e;
  }

  /**
   * Liveness of the vital background threads: for each, "UP" or why it is dead. A dead one does not
   * come back by itself; the process must be restarted.
   */
  public Map<String, String> health() {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("push-path", describe(pushPath == null ? null : pushPath.failure()));
    String loops = mqtt == null ? null : mqtt.deadSessionLoops();
    h.put("mqtt-session-loops", loops == null ? "UP" : "dead: " + loops);
    h.put("bridge-routes", describe(routes == null ? null : routes.failure()));
    h.put("device-registry", describe(devices == null ? null : devices.failure()));
    h.put("device-pointers", describe(pointers == null ? null : pointers.failure()));
    return h;
  }

  private static String describe(Throwable failure) {
    return failure == null ? "UP" : "dead: " + failure;
  }

  /** Readiness of the parts that serve devices: "UP" or what is wrong. */
  public Map<String, String> readiness() {
    Map<String, String> r = new LinkedHashMap<>();
    r.put("push", pushPath != null && pushPath.running() ? "UP" : "push path stopped");
    r.put("mqtt", mqtt != null && mqtt.running() ? "UP" : "MQTT edge not listening");
    return r;
  }

  public BridgeConfig config() {
    return config;
  }

  public MqttEdge mqtt() {
    return mqtt;
  }

  public DeviceRegistry devices() {
    return devices;
  }

  public DevicePointers pointers() {
    return pointers;
  }

  public DeviceTopicPolicy topicPolicy() {
    return topicPolicy;
  }

  /** The layout of iris.log this bridge serves positions of (its epoch and partition count). */
  public LogLayout layout() {
    return layout;
  }

  public UserLogs userLogs() {
    return userLogs;
  }

  public CatchUp catchUp() {
    return catchUp;
  }

  public PushPath pushPath() {
    return pushPath;
  }

  public TypingRelay typing() {
    return typing;
  }

  public SendPath sendPath() {
    return sendPath;
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
