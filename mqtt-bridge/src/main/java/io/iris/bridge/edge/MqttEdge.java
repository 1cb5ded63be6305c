package io.iris.bridge.edge;

import io.moquette.broker.Server;
import io.moquette.broker.config.MemoryConfig;
import io.moquette.broker.security.IAuthenticator;
import io.moquette.broker.security.IAuthorizatorPolicy;
import io.moquette.interception.InterceptHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded Moquette MQTT broker that devices connect to.
 *
 * <p>Choices, and why:
 *
 * <ul>
 *   <li>Telemetry off: Moquette 0.17 otherwise calls hosts on the internet.
 *   <li>Persistence off: a device's position is its last acknowledged {@code seq}, kept in Kafka
 *       ({@code iris.device-pointers}); everything it missed is served from Iris, not from MQTT
 *       session queues. Broker-side queues would be a second, weaker copy of the same data.
 *   <li>Anonymous connections refused; authentication and authorisation are pluggable.
 *   <li>Session queues raised from 1024 (which silently drops under load) to 65536.
 *   <li>A {@link ConnackGate} in every connection: a device may send its SUBSCRIBE and PUBLISHes
 *       right behind its CONNECT, which Moquette 0.17 alone would drop or close on. The edge does
 *       not start without it.
 * </ul>
 */
public final class MqttEdge implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MqttEdge.class);

  /**
   * @param host address to bind
   * @param port MQTT port
   * @param maxMessageBytes the frame limit (mqtt.max.message.bytes); the network layer takes up to
   *     {@link #networkBytes} so that a larger frame is answered, not cut off
   */
  public record Settings(String host, int port, int maxMessageBytes, Tls tls) {}

  /**
   * A TLS listener beside the plain one.
   *
   * @param port TLS port
   * @param keyStore PKCS12 or JKS key store with the edge's key and certificate chain
   * @param password of the key store and of the key (never logged)
   */
  public record Tls(int port, java.nio.file.Path keyStore, String password) {
    @Override
    public String toString() {
      return "Tls[port=" + port + ", keyStore=" + keyStore + "]";
    }
  }

  /** What the network layer reads of one MQTT message at least: 960 KiB. */
  static final int NETWORK_BYTES = 960 * 1024;

  /**
   * The largest MQTT message the network layer reads, for a frame limit of {@code maxMessageBytes}.
   * Moquette closes the connection on a larger one, with no answer possible; a frame between the
   * two limits is read and answered FRAME_TOO_LARGE, and kept in iris.dlq (whose records Kafka's
   * default 1 MiB message limit holds). At least the frame limit plus room for the topic name.
   */
  public static int networkBytes(int maxMessageBytes) {
    return Math.max(NETWORK_BYTES, maxMessageBytes + 1024);
  }

  private final Settings settings;
  private final DeviceAuthenticator authenticator;
  private final IAuthorizatorPolicy authorizer;
  private final AtomicLong refusedConnects = new AtomicLong();
  private volatile Server server;

  /** Each device's open connection, by client id, as recorded by its {@link ConnackGate}. */
  private final Map<String, Channel> connections = new ConcurrentHashMap<>();

  private final List<InterceptHandler> handlers;

  public MqttEdge(
      Settings settings,
      DeviceAuthenticator authenticator,
      IAuthorizatorPolicy authorizer,
      List<InterceptHandler> handlers) {
    this.settings = settings;
    this.authenticator = authenticator;
    this.authorizer = authorizer;
    this.handlers = List.copyOf(handlers);
  }

  /** Publishes {@code frame} at QoS 1 to {@code topic}, as the broker (no client is charged). */
  public void publish(String topic, byte[] frame) {
    publish(topic, frame, MqttQoS.AT_LEAST_ONCE);
  }

  /** Publishes at QoS 0: for what may be lost (typing indicators). */
  public void publishAtMostOnce(String topic, byte[] frame) {
    publish(topic, frame, MqttQoS.AT_MOST_ONCE);
  }

  /** Closes a client's connection, if it has one here. */
  public boolean disconnect(String clientId) {
    Server s = server;
    return s != null && s.disconnectClient(clientId);
  }

  /**
   * What closes the connection {@code clientId} has here now, and no later one: run a moment later
   * (see {@link Redirects}), it leaves alone a connection the device has opened since, which {@link
   * #disconnect} would close. Does nothing if the client has no open connection now.
   */
  public Runnable connectionCloser(String clientId) {
    Channel c = connections.get(clientId);
    return c == null ? () -> {} : () -> c.close();
  }

  private void publish(String topic, byte[] frame, MqttQoS qos) {
    Server s = server;
    if (s == null) {
      return;
    }
    // Built by hand: MqttMessageBuilders copies the payload into a counted buffer.
    MqttPublishMessage msg =
        new MqttPublishMessage(
            new MqttFixedHeader(MqttMessageType.PUBLISH, false, qos, false, 0),
            new MqttPublishVariableHeader(topic, 0),
            payload(frame));
    s.internalPublish(msg, "iris-bridge");
  }

  /**
   * The frame as Moquette's payload: a heap buffer whose release does nothing. Moquette 0.17
   * releases a delta twice when a device's new connection takes over its session while the old
   * connection still acknowledges (the purge of the old session releases its in-flight deltas and a
   * late PUBACK releases one again); the second release of a counted buffer throws in the session
   * loop, which ends the loop and leaves every device bound to it unserved. A heap buffer needs no
   * release (the collector frees it), so nothing is lost by not counting.
   */
  static ByteBuf payload(byte[] frame) {
    return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(frame));
  }

  public Settings settings() {
    return settings;
  }

  public boolean running() {
    return server != null;
  }

  /** Connections refused by authentication since start. */
  public long refusedConnects() {
    return refusedConnects.get();
  }

  /**
   * Starts Moquette and installs the {@link ConnackGate} into it; fails if the gate cannot be
   * installed. Moquette binds its ports inside {@code startServer}, before the gate can be put in
   * place: a connection accepted in that moment (or one whose set-up did not see the gate yet) has
   * no gate, and its CONNECT, not having come through one, is closed unanswered by the
   * authenticator (see {@link UngatedConnect}); the device reconnects, and meets a gate. So no
   * device is ever served without one, and none is refused for it. The edge counts as running only
   * once the gate is in place.
   */
  public synchronized void start() {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    Properties p = new Properties();
    p.setProperty("host", settings.host());
    p.setProperty("port", Integer.toString(settings.port()));
    p.setProperty("telemetry_enabled", "false");
    p.setProperty("persistence_enabled", "false");
    p.setProperty("allow_anonymous", "false");
    p.setProperty("session_queue_size", "65536");
    p.setProperty(
        "netty.mqtt.message_size", Integer.toString(networkBytes(settings.maxMessageBytes())));
    Tls tls = settings.tls();
    if (tls != null) {
      String type = tls.keyStore().toString().endsWith(".jks") ? "jks" : "pkcs12";
      // Moquette logs and carries on without TLS when the key store is wrong: refuse to start.
      try (java.io.InputStream in = java.nio.file.Files.newInputStream(tls.keyStore())) {
        java.security.KeyStore.getInstance(type).load(in, tls.password().toCharArray());
      } catch (Exception e) {
        throw new IllegalStateException(
            "TLS key store "
                + tls.keyStore()
                + " cannot be read with the configured password ("
                + e.getMessage()
                + "): check mqtt.tls.keystore.path and mqtt.tls.keystore.password",
            e);
      }
      p.setProperty("ssl_provider", "JDK");
      p.setProperty("ssl_port", Integer.toString(tls.port()));
      p.setProperty("jks_path", tls.keyStore().toAbsolutePath().toString());
      p.setProperty("key_store_type", type);
      p.setProperty("key_store_password", tls.password());
      p.setProperty("key_manager_password", tls.password());
    }
    // No websocket listener unless configured.
    p.setProperty("websocket_port", "disabled");
    IAuthenticator auth =
        (clientId, username, password) -> {
          if (!ConnackGate.passing()) {
            // Accepted before the gate was installed, or a second CONNECT. Not refused (a device
            // refused gives up for good): Moquette closes the connection on the exception.
            throw new UngatedConnect(clientId);
          }
          boolean ok = authenticator.authenticate(clientId, username, password);
          if (!ok) {
            refusedConnects.incrementAndGet();
            // The password is never logged; the user name only as given.
            log.info("MQTT connection refused: client id {}, user {}", clientId, username);
          }
          return ok;
        };
    Server s = new Server();
    java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
    try {
      s.startServer(new MemoryConfig(p), handlers, null, auth, authorizer);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "MQTT broker could not listen on " + settings.host() + ":" + settings.port(), e);
    }
    try {
      ConnackGate.install(
          s, ConnackGate.maxQueuedBytes(networkBytes(settings.maxMessageBytes())), connections);
    } catch (IllegalStateException e) {
      s.stopServer();
      throw e;
    }
    server = s;
    sessionLoops =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> !before.contains(t) && t.getName().startsWith(SESSION_LOOP_PREFIX))
            .toList();
    log.info(
        "MQTT edge (Moquette) listening on {}:{}{}",
        settings.host(),
        settings.port(),
        tls == null ? "" : ", TLS on " + settings.host() + ":" + tls.port());
  }

  /**
   * A CONNECT that did not come through a {@link ConnackGate}: thrown by the authenticator, so that
   * Moquette closes the connection without an answer ({@code NewNettyMQTTHandler.channelRead}
   * catches and logs it) and the device tries again. Without a stack: the message says it all.
   */
  static final class UngatedConnect extends IllegalStateException {
    UngatedConnect(String clientId) {
      super(
          "CONNECT of "
              + clientId
              + " closed unanswered: its connection was accepted before the CONNACK gate was"
              + " installed (the device reconnects), or it is a second CONNECT");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  /** The name Moquette 0.17 gives the threads of its session event loops. */
  static final String SESSION_LOOP_PREFIX = "Session Executor";

  private volatile List<Thread> sessionLoops = List.of();

  /**
   * Whether Moquette's session event loops still run: null while they do (or before start), else
   * what died. Each device's session is bound to one loop; a loop that dies (Moquette 0.17 lets an
   * exception end it; see {@link #payload} for the one seen here) leaves every device routed to it
   * connected and never served again, while the sockets still answer: a bridge in that state must
   * be restarted, so it fails its health.
   */
  public String deadSessionLoops() {
    return deadSessionLoops(server == null ? List.of() : sessionLoops);
  }

  /** How many session loops of Moquette this edge watches. */
  int sessionLoopsWatched() {
    return sessionLoops.size();
  }

  static String deadSessionLoops(List<Thread> loops) {
    List<String> dead = loops.stream().filter(t -> !t.isAlive()).map(Thread::getName).toList();
    return dead.isEmpty()
        ? null
        : dead.size()
            + " of "
            + loops.size()
            + " Moquette session loops died ("
            + String.join(", ", dead)
            + "): the devices bound to them are no longer served; restart the bridge";
  }

  public synchronized void close() {
    if (server == null) {
      return;
    }
    server.stopServer();
    server = null;
    connections.clear();
    log.info("MQTT edge on port {} stopped", settings.port());
  }
}
