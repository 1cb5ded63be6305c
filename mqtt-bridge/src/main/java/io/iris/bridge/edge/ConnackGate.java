package io.iris.bridge.edge;

import io.moquette.broker.Server;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds back what a device sends after its CONNECT until Moquette has opened the connection, so
 * that a device may send CONNECT, SUBSCRIBE, its PUBLISHes and its sync request in one flight,
 * without waiting for CONNACK (which MQTT 3.1.1 allows): a reconnect then costs one round trip
 * after TCP and TLS.
 *
 * <p>Why: Moquette 0.17 handles a packet read before it has marked the connection open as if the
 * connection were closed, or drops it. In {@code io.moquette.broker.MQTTConnection}:
 *
 * <ul>
 *   <li>{@code processConnect} (l.147-189) authenticates on the network thread and leaves the rest
 *       to the client's session loop ({@code executeConnect}, l.205); the client id is set on the
 *       channel only there (l.217), and the connection is marked open ({@code connected}, l.55)
 *       only in the listener of the CONNACK's write (l.225-236).
 *   <li>{@code processSubscribe} (l.390-396) closes a connection not yet marked open ("SUBSCRIBE
 *       received on already closed connection").
 *   <li>{@code processPublish} (l.436-468) routes by the client id on the channel; without one,
 *       {@code SessionEventLoopGroup.routeCommand} (l.65-68) refuses ("Routing collision") and the
 *       message is released: no PUBACK, no interceptor. UNSUBSCRIBE and PUBACK are lost the same
 *       way; PUBREL, PUBREC and PUBCOMP meet a null session and close the connection.
 *   <li>Even a client that waits for its CONNACK can lose: the session loop attaches that listener
 *       after {@code writeAndFlush} returns; when the network thread has written the CONNACK by
 *       then, the listener runs as a later task of that thread, and a SUBSCRIBE read in between is
 *       refused as above. About 1 in 100 to 150 immediate reconnects were closed so.
 * </ul>
 *
 * <p>What the gate does, on the connection's network thread (all its state is confined to it):
 *
 * <ul>
 *   <li>AWAIT_CONNECT: the first packet, which must be a CONNECT, goes on to Moquette; anything
 *       else closes the connection ([MQTT-3.1.0-1]).
 *   <li>GATED: every later packet is queued, in order, with its buffer. Reading stops while packets
 *       wait ({@code autoRead} off): Netty's read loop ends after the buffer in hand (the decoder
 *       still delivers the whole packets in it, and reads on by itself only to complete a partial
 *       one), so a device that sends more has to wait on TCP, not on this bridge's memory; nothing
 *       Moquette does before the connection is open depends on reading. More than {@link
 *       #MAX_PACKETS} packets or {@code maxQueuedBytes} of payload closes the connection.
 *   <li>A refused CONNACK or a DISCONNECT written by Moquette: the queue is freed and the gate lets
 *       nothing through any more (CLOSED); Moquette closes the connection.
 *   <li>An accepted CONNACK: once Moquette has marked the connection open, the queued packets go to
 *       Moquette in order, followed by a read-complete, reading resumes, and the gate leaves the
 *       pipeline (OPEN). Open means Moquette's {@value #OPEN_MARK} handler is in the pipeline:
 *       Moquette adds it in the same step of the network thread, right after setting {@code
 *       connected} (l.236-248). That is looked for when the CONNACK's write completes, at each
 *       later read, and every millisecond after, for up to {@link #MAX_WAIT_MS} ms from the
 *       CONNECT; a connection not opened by then is closed.
 * </ul>
 *
 * <p>The fix in Moquette would be to make the session loop the only gate: set the client id and
 * {@code connected} in {@code executeConnect} before writing the CONNACK, and route every later
 * packet of the connection through its session loop by the client id of its CONNECT (whose queue
 * already runs commands in order), instead of reading the channel's state on the network thread.
 */
final class ConnackGate extends ChannelDuplexHandler {
  private static final Logger log = LoggerFactory.getLogger(ConnackGate.class);

  /** The gate's name in a connection's pipeline, just before Moquette's "handler". */
  static final String NAME = "irisConnackGate";

  /** What Moquette 0.17 adds to the pipeline once a connection is open. */
  static final String OPEN_MARK = "inflightResender";

  /** Packets held back at most: a reconnect's flight is its SUBSCRIBE, commands and request. */
  static final int MAX_PACKETS = 64;

  /** Payload bytes held back at most, unless two of the largest frames need more. */
  static final int MAX_QUEUED_BYTES = 4 * 1024 * 1024;

  /** How long a connection may take from its CONNECT to being open. */
  static final long MAX_WAIT_MS = 10_000;

  /** The payload bytes held back for a connection whose frames are up to {@code networkBytes}. */
  static int maxQueuedBytes(int networkBytes) {
    return Math.max(MAX_QUEUED_BYTES, 2 * networkBytes);
  }

  private enum State {
    AWAIT_CONNECT,
    GATED,
    OPEN,
    CLOSED
  }

  /** Set while a CONNECT is handed on by a gate: Moquette authenticates it on this thread. */
  private static final ThreadLocal<Boolean> passing = new ThreadLocal<>();

  /**
   * Whether the CONNECT being authenticated on this thread came through a gate. Moquette calls its
   * authenticator on the connection's network thread, inside the gate's hand-over of the CONNECT
   * ({@code MQTTConnection.login}, l.299-320; anonymous connections are refused, so every accepted
   * CONNECT is authenticated): a CONNECT that did not is one of a connection accepted before the
   * gate was installed, or a second CONNECT.
   */
  static boolean passing() {
    return passing.get() != null;
  }

  private final int maxQueuedBytes;
  private final Map<String, Channel> connections;
  private final ArrayDeque<Object> queue = new ArrayDeque<>();
  private State state = State.AWAIT_CONNECT;
  private long queuedBytes;
  private String clientId;
  private boolean accepted;
  private ScheduledFuture<?> deadline;
  private ScheduledFuture<?> recheck;

  /**
   * @param maxQueuedBytes payload bytes held back at most
   * @param connections where an accepted connection is recorded, by client id, until it closes
   */
  ConnackGate(int maxQueuedBytes, Map<String, Channel> connections) {
    this.maxQueuedBytes = maxQueuedBytes;
    this.connections = connections;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    switch (state) {
      case AWAIT_CONNECT -> handOnConnect(ctx, msg);
      case GATED -> hold(ctx, msg);
      case OPEN -> ctx.fireChannelRead(msg);
      case CLOSED -> ReferenceCountUtil.release(msg);
    }
  }

  private void handOnConnect(ChannelHandlerContext ctx, Object msg) {
    MqttMessageType type =
        msg instanceof MqttMessage m && m.fixedHeader() != null
            ? m.fixedHeader().messageType()
            : null;
    if (type != MqttMessageType.CONNECT) {
      log.info(
          "MQTT connection from {} closed: its first packet is {}, not a CONNECT",
          ctx.channel().remoteAddress(),
          type == null ? "not MQTT" : type);
      ReferenceCountUtil.release(msg);
      close(ctx);
      return;
    }
    // A CONNECT the decoder failed on is not an MqttConnectMessage: Moquette closes the connection.
    clientId = msg instanceof MqttConnectMessage c ? c.payload().clientIdentifier() : null;
    state = State.GATED;
    deadline = ctx.executor().schedule(() -> giveUp(ctx), MAX_WAIT_MS, TimeUnit.MILLISECONDS);
    passing.set(Boolean.TRUE);
    try {
      ctx.fireChannelRead(msg);
    } finally {
      passing.remove();
    }
  }

  private void hold(ChannelHandlerContext ctx, Object msg) {
    queue.add(msg);
    if (msg instanceof ByteBufHolder h) {
      queuedBytes += h.content().readableBytes();
    }
    if (queue.size() > MAX_PACKETS || queuedBytes > maxQueuedBytes) {
      log.warn(
          "MQTT connection of {} closed: it sent {} packets ({} bytes of payload) before its"
              + " connection was open, more than the {} packets or {} bytes held back until then",
          clientId,
          queue.size(),
          queuedBytes,
          MAX_PACKETS,
          maxQueuedBytes);
      close(ctx);
      return;
    }
    if (!openIfConnected(ctx)) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (state == State.GATED && msg instanceof MqttMessage m && m.fixedHeader() != null) {
      MqttMessageType type = m.fixedHeader().messageType();
      if (type == MqttMessageType.CONNACK
          && ((MqttConnAckMessage) m).variableHeader().connectReturnCode()
              == MqttConnectReturnCode.CONNECTION_ACCEPTED) {
        accepted = true;
        record(ctx.channel());
        promise = promise.unvoid();
        promise.addListener(
            f -> {
              if (f.isSuccess()) {
                awaitOpen(ctx);
              }
            });
      } else if (type == MqttMessageType.CONNACK || type == MqttMessageType.DISCONNECT) {
        // Refused, or taken back: Moquette closes the connection; what waits is not for it.
        free();
      }
    }
    ctx.write(msg, promise);
  }

  /** The connection is what its client id names here until it closes (or a newer one is). */
  private void record(Channel channel) {
    if (clientId == null || clientId.isEmpty()) {
      return;
    }
    String id = clientId;
    connections.put(id, channel);
    channel.closeFuture().addListener(f -> connections.remove(id, channel));
  }

  /**
   * Moquette marks the connection open in a listener of the same write, attached from its session
   * loop: run before or after this one, or later still as a task of this thread when attached after
   * the write completed. So: now, after the tasks already queued, then every millisecond.
   */
  private void awaitOpen(ChannelHandlerContext ctx) {
    if (!openIfConnected(ctx)) {
      ctx.executor().execute(() -> recheck(ctx));
    }
  }

  private void recheck(ChannelHandlerContext ctx) {
    if (state == State.GATED && !openIfConnected(ctx)) {
      recheck = ctx.executor().schedule(() -> recheck(ctx), 1, TimeUnit.MILLISECONDS);
    }
  }

  private boolean openIfConnected(ChannelHandlerContext ctx) {
    if (state != State.GATED || !accepted || ctx.pipeline().get(OPEN_MARK) == null) {
      return false;
    }
    state = State.OPEN;
    cancelTimers();
    for (Object msg = queue.poll(); msg != null; msg = queue.poll()) {
      if (ctx.channel().isActive()) {
        ctx.fireChannelRead(msg);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }
    queuedBytes = 0;
    ctx.fireChannelReadComplete();
    ctx.channel().config().setAutoRead(true);
    ctx.pipeline().remove(this);
    return true;
  }

  private void giveUp(ChannelHandlerContext ctx) {
    if (state == State.GATED) {
      log.warn(
          "MQTT connection of {} closed: not open {} ms after its CONNECT ({} packets held back)",
          clientId,
          MAX_WAIT_MS,
          queue.size());
      close(ctx);
    }
  }

  private void close(ChannelHandlerContext ctx) {
    free();
    ctx.channel().close();
  }

  /** Releases what waits; from now on the gate lets nothing through. */
  private void free() {
    if (state != State.OPEN) {
      state = State.CLOSED;
    }
    cancelTimers();
    for (Object msg = queue.poll(); msg != null; msg = queue.poll()) {
      ReferenceCountUtil.release(msg);
    }
    queuedBytes = 0;
  }

  private void cancelTimers() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
    if (recheck != null) {
      recheck.cancel(false);
      recheck = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    free();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    free();
    ctx.fireExceptionCaught(cause);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    free();
  }

  /**
   * Makes Moquette put a gate into each connection's pipeline, just before its "handler". Moquette
   * 0.17 has no supported hook for that. Its {@code NewNettyAcceptor.configureMQTTPipeline}
   * (l.264-284), run for every new connection, plain, TLS or websocket, places the handler held in
   * its field {@code metrics} there, as "wizardMetrics" ({@code Optional.empty()} unless {@code
   * use_metrics} is set, which the edge never does); that one handler is added to every pipeline,
   * so it is {@link Sharable} and replaces itself by a gate of the connection's own.
   *
   * <p>Moquette has bound its ports in {@code startServer}, before this can run: a connection
   * accepted in between has no gate, and its CONNECT is not let through (see {@link #passing}).
   *
   * @throws IllegalStateException if Moquette is not 0.17 or not laid out as 0.17 is
   */
  static void install(Server server, int maxQueuedBytes, Map<String, Channel> connections) {
    // The gate leans on how 0.17 works inside (above); another version is to be read again first.
    String version = moquetteVersion();
    if (version != null && !version.equals("0.17")) {
      throw required("Moquette is " + version + ", not 0.17");
    }
    Object acceptor = read(field(Server.class, "acceptor"), server);
    if (acceptor == null) {
      throw required("Moquette's Server.acceptor is null after startServer");
    }
    Field metrics = field(acceptor.getClass(), "metrics");
    if (metrics.getType() != Optional.class) {
      throw required(
          "Moquette's NewNettyAcceptor.metrics is a "
              + metrics.getType().getName()
              + ", no Optional");
    }
    if (!(read(metrics, acceptor) instanceof Optional<?> current) || current.isPresent()) {
      throw required(
          "Moquette's NewNettyAcceptor.metrics holds a handler already (use_metrics set?)");
    }
    try {
      metrics.set(acceptor, Optional.of(new Installer(maxQueuedBytes, connections)));
    } catch (IllegalAccessException e) {
      throw required("Moquette's NewNettyAcceptor.metrics cannot be set (" + e + ")");
    }
  }

  /** Moquette's version as its jar says, or null if it does not. */
  static String moquetteVersion() {
    try (InputStream in =
        Server.class.getResourceAsStream(
            "/META-INF/maven/io.moquette/moquette-broker/pom.properties")) {
      if (in == null) {
        return null;
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      return null;
    }
  }

  private static Field field(Class<?> type, String name) {
    try {
      Field f = type.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (NoSuchFieldException | RuntimeException e) {
      throw required(
          "no field " + type.getName() + "." + name + " to be found or opened (" + e + ")");
    }
  }

  private static Object read(Field f, Object owner) {
    try {
      return f.get(owner);
    } catch (IllegalAccessException e) {
      throw required("field " + f + " cannot be read (" + e + ")");
    }
  }

  private static IllegalStateException required(String what) {
    return new IllegalStateException(
        what
            + ": the CONNACK gate (ConnackGate) cannot be installed into Moquette's pipeline; the"
            + " edge is built for Moquette 0.17 and does not run without the gate, as devices that"
            + " send before their CONNACK would lose packets and connections");
  }

  /** Replaces itself, in each new connection's pipeline, by a gate of that connection's own. */
  @Sharable
  static final class Installer extends ChannelInboundHandlerAdapter {
    private final int maxQueuedBytes;
    private final Map<String, Channel> connections;

    Installer(int maxQueuedBytes, Map<String, Channel> connections) {
      this.maxQueuedBytes = maxQueuedBytes;
      this.connections = connections;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      ctx.pipeline().replace(this, NAME, new ConnackGate(maxQueuedBytes, connections));
    }
  }
}
