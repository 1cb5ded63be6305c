package io.iris.sdk;

import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.Typing;
import io.iris.protocol.thrift.TypingEvent;
import io.iris.sdk.internals.MqttLink;
import io.iris.sdk.internals.MqttWire;
import io.iris.sdk.internals.SyncStateMachine;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.SocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference Iris device: connects one device of one user to the MQTT edge and follows the sync
 * protocol (docs/PROTOCOL.md). It hands the app every delta of its user exactly once, in position
 * order and without gaps, whatever the network does.
 *
 * <p>Its {@link Position} is {@code (epoch, lastPos)}: it holds every delta of its user with a
 * position up to {@code lastPos} in the log named by {@code epoch}. Positions are offsets in
 * iris.log: they only grow, and are not contiguous.
 *
 * <ul>
 *   <li>on connect it asks for what it missed after its position (or for a snapshot when it has
 *       none), and keeps asking while the answer says there is more ({@code more}) until one says
 *       it is current;
 *   <li>a delta whose {@code prevPos} lies beyond the position is held back (with what follows it)
 *       and the missing range {@code (lastPos, prevPos]} is asked for; duplicates (a position
 *       already held) are dropped;
 *   <li>a batch of another epoch, or a request answered {@code RESNAPSHOT_REQUIRED}, means the log
 *       was replaced: the device takes a new snapshot and continues in its epoch;
 *   <li>the position is acknowledged in batches, {@code Ack(lastPos, epoch)} (the device pointer);
 *   <li>a send carries a client id and is repeated with the same id, backing off, until a bridge
 *       accepts it (it is in Kafka), then until the user's own delta carrying it arrives (the
 *       confirmation) or the server refuses it for good; the server applies it once;
 *   <li>a (re)connect costs one round trip after TCP (and TLS): CONNECT, SUBSCRIBE, the commands no
 *       bridge has accepted yet (in the order first sent) and then the sync request (or snapshot
 *       request) leave in one flight, without waiting for CONNACK, which MQTT 3.1.1 allows. A
 *       connection the server refuses (bad token, revoked device: CONNACK 4 or 5) is not tried
 *       again; any other failure loses the flight, and the device tries again;
 *   <li>a lost connection is re-established with exponential backoff and jitter (250 ms doubling to
 *       {@link Builder#maxReconnectDelay}, half of it random), then the device catches up and
 *       repeats unconfirmed sends; {@link #networkChanged()} reconnects at once;
 *   <li>a dead connection is noticed without waiting for TCP: when nothing at all arrives within
 *       {@link Builder#deadConnectionAfter} (5 s) of a send, a second connection is raced against
 *       the silent one and whichever answers first is kept; an idle connection is pinged every
 *       {@link Builder#keepAlive} (30 s) and declared dead when nothing arrives within 1.5 times
 *       that after the ping.
 * </ul>
 *
 * The protocol's decisions are made by a {@link SyncStateMachine}; this class is its transport (an
 * MQTT 3.1.1 client of its own, {@link MqttLink}, reconnects, timers). All protocol state lives on
 * one thread per device; listener calls are made from it, so a listener must not block. Each
 * connection has a reader and a writer thread of its own, so that a network that stops answering
 * never holds up that thread.
 */
public final class IrisDevice implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IrisDevice.class);

  /** What the app hears. Called on the device's own thread: do not block. */
  public interface Listener {
    /** Deltas applied, in position order, each once, no gap before the first. */
    default void onDeltas(List<Delta> deltas) {}

    /**
     * A snapshot was applied: the inbox in {@code snapshot.epoch} as of {@code snapshot.pos}
     * (replacing whatever the app held: a new epoch starts over); deltas resume after it.
     */
    default void onSnapshot(Snapshot snapshot) {}

    /** Someone else in a thread started or stopped typing (best effort, QoS 0). */
    default void onTyping(TypingEvent event) {}

    /**
     * The device is too far behind. Return true to take a snapshot (the default), false to catch up
     * by deltas anyway.
     */
    default boolean onResnapshotRequired(ResnapshotRequired costs) {
      return true;
    }

    /** The connection went up (true) or down (false). */
    default void onConnection(boolean up) {}
  }

  /**
   * Where a device is: it holds every delta of its user up to {@code lastPos} (a watermark, not
   * necessarily the position of a delta) in the log named by {@code epoch}. No epoch (and {@code
   * lastPos} -1): nothing yet, a snapshot comes first. Keep both to resume (see {@link
   * Builder#lastPos}).
   */
  public record Position(String epoch, long lastPos) {
    /** No position: a new device takes a snapshot first. */
    public static final Position NONE = new Position(null, -1);
  }

  /**
   * A command the server refused: the code says why, the rule (when there is one) says which check;
   * sending it again will not help.
   */
  public static final class RejectedException extends RuntimeException {
    private final ErrorCode code;
    private final String rule;

    public RejectedException(ErrorCode code, String message) {
      this(code, message, null);
    }

    public RejectedException(ErrorCode code, String message, String rule) {
      super(code + (rule == null ? "" : " (" + rule + ")") + ": " + message);
      this.code = code;
      this.rule = rule;
    }

    public ErrorCode code() {
      return code;
    }

    /**
     * The rule that refused the command ({@code CommandRejected.rule}), a stable name to branch on,
     * e.g. {@code NOT_THE_SENDER} or {@code EDIT_WINDOW_PASSED} (docs/PROTOCOL.md, "Rejections").
     * Several rules share a code (most are {@code INVALID_ARGUMENT}), and new rules come as new
     * names, never as new codes. Null when the server sent none (an older one), or when the refusal
     * was not a {@code CommandRejected}: a {@code ServerError} from the bridge, or the SDK's own
     * {@code FRAME_TOO_LARGE}.
     */
    public String rule() {
      return rule;
    }
  }

  /**
   * The server refused the device itself when it connected: CONNACK return code 4 (bad user name or
   * password: a wrong token) or 5 (not authorized: a revoked device). The device does not try
   * again.
   */
  public static final class ConnectionRefusedException extends IOException {
    private final int returnCode;

    public ConnectionRefusedException(int returnCode, String message) {
      super(message);
      this.returnCode = returnCode;
    }

    /** The CONNACK return code: 4 or 5. */
    public int returnCode() {
      return returnCode;
    }
  }

  /** Builds a device. userId, deviceId and token are required. */
  public static final class Builder {
    private String serverUri = "tcp://127.0.0.1:1883";
    private String[] serverUris;
    private long userId;
    private String deviceId;
    private String token;
    private String epoch;
    private long lastPos = -1;
    private Listener listener = new Listener() {};
    private Duration resendAfter = Duration.ofSeconds(5);
    private Duration maxResendInterval = Duration.ofMinutes(1);
    private Duration sendDeadline = Duration.ofMinutes(2);
    private Duration maxReconnectDelay = Duration.ofSeconds(30);
    private int ackEvery = 50;
    private Duration ackDelay = Duration.ofMillis(200);
    private int syncPage = 500;
    private boolean deliveryReceipts = true;
    private SocketFactory socketFactory;
    private Duration keepAlive = Duration.ofSeconds(30);
    private Duration deadConnectionAfter = Duration.ofSeconds(5);

    /** tcp://host:port, or ssl://host:port for the TLS listener (see socketFactory). */
    public Builder serverUri(String uri) {
      this.serverUri = uri;
      this.serverUris = null;
      return this;
    }

    /**
     * Several bridges, tried in order on every (re)connect: when one dies, the device moves to the
     * next and catches up there from its position (any bridge serves any user).
     */
    public Builder serverUris(String... uris) {
      this.serverUri = uris[0];
      this.serverUris = uris.clone();
      return this;
    }

    public Builder user(long userId) {
      this.userId = userId;
      return this;
    }

    public Builder device(String deviceId) {
      this.deviceId = deviceId;
      return this;
    }

    /** The token shown once by {@code iris device add}. */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /**
     * The position this device held before (kept by the app, e.g. {@link IrisDevice#position()}
     * when it closed): every delta up to {@code lastPos} in {@code epoch}. A null epoch (with
     * {@code lastPos} -1, the default): none, take a snapshot. A lastPos of -1 with an epoch: none
     * of that epoch's deltas yet, catch up from its start.
     */
    public Builder lastPos(String epoch, long lastPos) {
      this.epoch = epoch;
      this.lastPos = lastPos;
      return this;
    }

    public Builder listener(Listener listener) {
      this.listener = listener;
      return this;
    }

    /**
     * How long a send waits for an answer before it is sent again (same client id) the first time;
     * each later resend waits twice as long, up to {@link #maxResendInterval}.
     */
    public Builder resendAfter(Duration d) {
      this.resendAfter = d;
      return this;
    }

    /**
     * The longest wait between two resends of one command (default 1 minute); also how long a
     * command a bridge accepted (it is in Kafka, its delta will come) waits before the safety-net
     * resend. Not shorter than {@link #resendAfter}.
     */
    public Builder maxResendInterval(Duration d) {
      this.maxResendInterval = d;
      return this;
    }

    /** How long a send is retried before its future fails with a TimeoutException. */
    public Builder sendDeadline(Duration d) {
      this.sendDeadline = d;
      return this;
    }

    /**
     * The longest pause between two connection attempts (default 30 s): the first waits 125 to 250
     * ms, each next one up to twice as long, half of it random.
     */
    public Builder maxReconnectDelay(Duration d) {
      this.maxReconnectDelay = d;
      return this;
    }

    /** Acknowledge after this many applied deltas, or after ackDelay, whichever comes first. */
    public Builder ackEvery(int n, Duration delay) {
      this.ackEvery = n;
      this.ackDelay = delay;
      return this;
    }

    /** Deltas asked for per catch-up request. */
    public Builder syncPage(int n) {
      this.syncPage = n;
      return this;
    }

    /**
     * Whether this device gives delivery receipts (default true): its acks carry, per thread, the
     * highest id of the other users' messages it applied since the previous ack, and their senders
     * see them as DeliveryUpdate deltas. They ride on the acks the device sends anyway (see {@link
     * #ackEvery}): no extra request. Off, e.g. by the user's choice: none are sent.
     */
    public Builder deliveryReceipts(boolean on) {
      this.deliveryReceipts = on;
      return this;
    }

    /** For ssl:// URIs, e.g. an SSLContext's socket factory trusting the edge's certificate. */
    public Builder socketFactory(SocketFactory f) {
      this.socketFactory = f;
      return this;
    }

    /**
     * The MQTT keep-alive (default 30 s, chosen for an app in the foreground): a PINGREQ goes out
     * when nothing was sent or nothing arrived for this long, and the connection is declared dead
     * (and replaced, after the usual backoff) when nothing at all arrives within 1.5 times this
     * after the PINGREQ. Whole seconds, 1 to 65,535. Shorter notices a silent network sooner, at
     * two small packets per interval; an app going to the background would rather close the device
     * than ping for nothing.
     */
    public Builder keepAlive(Duration d) {
      this.keepAlive = d;
      return this;
    }

    /**
     * How long a connection may stay silent after the device sent something that the server answers
     * before it is taken for dead (default 5 s). Every command, sync, snapshot request and ack is
     * answered at least by the edge's PUBACK, so silence that long after one means the network (or
     * the bridge) is gone, not slow: a second connection is then opened beside the silent one, with
     * a one-flight connect, and whichever answers first is kept. Long enough that a loaded edge is
     * not mistaken for a dead one; short enough that a send on a dead network goes out again on a
     * new connection within seconds rather than after TCP's minutes.
     */
    public Builder deadConnectionAfter(Duration d) {
      this.deadConnectionAfter = d;
      return this;
    }

    public IrisDevice build() {
      if (userId <= 0 || deviceId == null || token == null) {
        throw new IllegalArgumentException("user, device and token are required");
      }
      if (lastPos < -1 || (epoch == null && lastPos != -1)) {
        throw new IllegalArgumentException(
            "lastPos is -1 or more, and a position needs its epoch: " + epoch + "/" + lastPos);
      }
      if (keepAlive.toSeconds() < 1 || keepAlive.toSeconds() > 0xFFFF) {
        throw new IllegalArgumentException("keepAlive is 1 s to 65535 s: " + keepAlive);
      }
      if (deadConnectionAfter.isNegative() || deadConnectionAfter.isZero()) {
        throw new IllegalArgumentException("deadConnectionAfter must be positive");
      }
      for (String uri : serverUris != null ? serverUris : new String[] {serverUri}) {
        MqttLink.check(uri); // IllegalArgumentException: bad server URI
      }
      return new IrisDevice(this);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The largest frame a device sends: the edge's default {@code mqtt.max.message.bytes}. A command
   * above it is refused here, before it is sent (docs/PROTOCOL.md, "Frames").
   */
  public static final int MAX_FRAME_BYTES = 64 * 1024;

  /** The size of the frame that carries {@code command} (request ids are UUIDs: 36 bytes). */
  static int frameBytes(DeviceCommand command) {
    return FrameCodec.defaults()
        .encode(new DeviceRequest(UUID_SIZED_ID, DeviceRequestBody.command(command)))
        .length;
  }

  private static final String UUID_SIZED_ID = "00000000-0000-0000-0000-000000000000";

  /**
   * How long each step of a connection attempt may take: the TCP connect to one URI, the TLS
   * handshake, and the CONNACK after the flight went out (Paho's connection timeout, kept).
   */
  static final int CONNECT_TIMEOUT_MILLIS = 10_000;

  /**
   * The largest MQTT packet read from a bridge: far above the frame limit (64 KiB by default, 960
   * KiB at most where the edge's network layer stops reading), only a guard against a corrupt
   * length.
   */
  private static final int MAX_PACKET_BYTES = 16 * 1024 * 1024;

  private static final long NONE = Long.MIN_VALUE;

  private final Builder cfg;
  private final FrameCodec codec = FrameCodec.defaults();

  /** Where the last Redirect sent this device, tried before the configured URIs (loop thread). */
  private volatile List<String> preferredUris = List.of();

  private long redirects;
  private final ScheduledExecutorService loop;
  private final String mqttClientId;
  private final String up;
  private final String down;
  private final int keepAliveSeconds;
  private final long keepAliveNanos;
  private final long deadAfterNanos;
  private volatile boolean connected;

  /** The server URI of the last connection opened, for {@link #connection()}. */
  private volatile String lastUri;

  // --- touched only on the loop thread ---
  private final SyncStateMachine sync;
  private boolean closed;

  /** The app asked for a connection ({@link #connect}) and has not closed the device. */
  private boolean wanted;

  /** The server refused the device (bad token, revoked): no connection is tried any more. */
  private boolean refused;

  private int reconnectAttempt;
  private ScheduledFuture<?> reconnectTask;

  /** The connection, up or being set up; null while the device waits to reconnect. */
  private Link link;

  /**
   * A second connection opened because {@link #link} went silent after a send; see {@link
   * #checkAnswered}.
   */
  private Link racer;

  /**
   * The connection the state machine speaks through: its flight carried the machine's {@code
   * connected()} requests, and its later requests go there too. {@link #link}, or {@link #racer}
   * once that one has sent its flight; null: the machine is disconnected.
   */
  private Link speaking;

  /** While {@code connected()} runs for a flight: the PUBLISHes it makes go here, not out. */
  private List<byte[]> gathering;

  /** A URI that took the TCP connection but did not answer: the next attempt tries it last. */
  private String avoidUri;

  /** {@link #connect} calls waiting for a CONNACK. */
  private final List<CompletableFuture<Void>> waiters = new ArrayList<>();

  private IrisDevice(Builder b) {
    this.cfg = b;
    DeviceTopics.DeviceId id = new DeviceTopics.DeviceId(b.userId, b.deviceId);
    String clientId = id.clientId();
    this.mqttClientId = clientId;
    this.up = id.up();
    this.down = id.down();
    this.keepAliveSeconds = (int) b.keepAlive.toSeconds();
    this.keepAliveNanos = TimeUnit.SECONDS.toNanos(keepAliveSeconds);
    this.deadAfterNanos = b.deadConnectionAfter.toNanos();
    this.lastUri = b.serverUri;
    this.sync =
        new SyncStateMachine(
            clientId,
            new SyncStateMachine.Settings(
                b.resendAfter,
                b.maxResendInterval,
                b.sendDeadline,
                b.ackEvery,
                b.ackDelay,
                b.syncPage,
                b.deliveryReceipts),
            b.epoch,
            b.lastPos,
            new DeviceHost(),
            () -> UUID.randomUUID().toString());
    ScheduledThreadPoolExecutor executor =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "iris-device-" + clientId);
              t.setDaemon(true);
              return t;
            });
    // Timers left at close (a CONNACK awaited, a resend) have nothing to do: close does not wait.
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    executor.setRemoveOnCancelPolicy(true);
    this.loop = executor;
    loop.scheduleWithFixedDelay(this::tick, 250, 250, TimeUnit.MILLISECONDS);
  }

  /** Runs on the device's thread; dropped once the device is closed. */
  private void onLoop(Runnable r) {
    try {
      loop.execute(r);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void onLoopAfter(long delayNanos, Runnable r) {
    try {
      loop.schedule(r, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  /** What the state machine asks of the transport; called on the loop thread. */
  private final class DeviceHost implements SyncStateMachine.Host {
    @Override
    public void publish(DeviceRequest request) {
      IrisDevice.this.publish(request, 1);
    }

    @Override
    public void wakeAfter(long delayNanos) {
      onLoopAfter(
          delayNanos,
          () -> {
            if (!closed) {
              sync.timerFired(System.nanoTime());
            }
          });
    }

    @Override
    public void deltasApplied(List<Delta> deltas) {
      cfg.listener.onDeltas(deltas);
    }

    @Override
    public void snapshotApplied(Snapshot snapshot) {
      cfg.listener.onSnapshot(snapshot);
    }

    @Override
    public boolean takeSnapshot(ResnapshotRequired costs) {
      return cfg.listener.onResnapshotRequired(costs);
    }
  }

  /**
   * Connects, subscribes and starts catching up (all in one flight), and returns once the server
   * accepted the connection (its CONNACK). Fails with a {@link ConnectionRefusedException} if the
   * server refuses the device; any other failure is tried again, with the usual backoff, until
   * {@code timeout}, and after it in the background until {@link #close()}. Returns at once when
   * connected already.
   */
  public void connect(Duration timeout) throws IOException {
    CompletableFuture<Void> accepted = new CompletableFuture<>();
    try {
      loop.execute(
          () -> {
            if (closed) {
              accepted.completeExceptionally(new IOException("closed"));
              return;
            }
            wanted = true;
            refused = false; // the app asks again: try
            if (connected) {
              accepted.complete(null);
              return;
            }
            waiters.add(accepted);
            if (link == null) {
              cancelReconnect();
              reconnect();
            }
          });
    } catch (RejectedExecutionException e) {
      throw new IOException("closed", e);
    }
    try {
      accepted.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      onLoop(() -> waiters.remove(accepted));
      throw new SocketTimeoutException(
          "not connected within " + timeout + " (" + connection() + "); still trying");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while connecting");
    }
  }

  /**
   * Call this on the operating system's "network changed" signal (another Wi-Fi, Wi-Fi to mobile
   * data, back from airplane mode): the current connection is bound to the old network and may
   * never say it is dead. It is dropped at once and a new one made at once, without the backoff
   * (the backoff starts over). Does nothing before {@link #connect}, after {@link #close}, or once
   * the server refused the device.
   */
  public void networkChanged() {
    onLoop(
        () -> {
          if (closed || !wanted || refused) {
            return;
          }
          log.info("Device {}/{}: the network changed; reconnecting now", cfg.userId, cfg.deviceId);
          dropConnections();
          machineDown();
          reportDown();
          cancelReconnect();
          reconnectAttempt = 0;
          reconnect();
        });
  }

  /** The URIs a new connection tries, in order: the bridge a Redirect named, then the app's. */
  private List<String> uris() {
    List<String> uris = new ArrayList<>(preferredUris);
    if (cfg.serverUris != null) {
      uris.addAll(List.of(cfg.serverUris));
    } else {
      uris.add(cfg.serverUri);
    }
    List<String> distinct = new ArrayList<>(uris.stream().distinct().toList());
    String avoid = avoidUri;
    if (avoid != null && distinct.size() > 1 && distinct.remove(avoid)) {
      distinct.add(avoid); // it took TCP but never answered: the others first
    }
    return distinct;
  }

  /** The app's factory, else the platform's default for the URIs' scheme. */
  private SocketFactory socketFactory() {
    if (cfg.socketFactory != null) {
      return cfg.socketFactory;
    }
    List<String> uris =
        cfg.serverUris != null ? List.of(cfg.serverUris) : List.of(String.valueOf(cfg.serverUri));
    return uris.stream().anyMatch(u -> u.startsWith("ssl://"))
        ? javax.net.ssl.SSLSocketFactory.getDefault()
        : SocketFactory.getDefault();
  }

  public boolean isConnected() {
    return connected;
  }

  /**
   * The position handed to the app (the deltas and snapshots given to the listener, and the range a
   * batch said holds nothing more): every delta up to {@code lastPos} in {@code epoch}. Epoch and
   * lastPos read together; readable from any thread, and after close, to resume later. While a new
   * snapshot is awaited it stays at the position before.
   */
  public Position position() {
    return sync.applied();
  }

  /** {@link #position()}'s lastPos: every delta up to it is held; -1: none. */
  public long lastPos() {
    return sync.applied().lastPos();
  }

  /** {@link #position()}'s epoch: the log {@link #lastPos()} belongs to; null: none yet. */
  public String epoch() {
    return sync.applied().epoch();
  }

  /** Deltas received again and dropped. */
  public long duplicatesDropped() {
    return call(sync::duplicatesDropped);
  }

  /**
   * Deltas of a kind this SDK does not know (a newer server's): their positions were applied, they
   * were not handed to the listener.
   */
  public long unknownKindsSkipped() {
    return call(sync::unknownKindsSkipped);
  }

  /** Gaps detected and asked for. */
  public long gapsRepaired() {
    return call(sync::gapsRepaired);
  }

  /** Sends a message; completes with the user's own delta confirming it. */
  public CompletableFuture<Delta> send(long threadId, String text) {
    return command(threadId, CommandBody.sendMessage(new SendMessage(text)));
  }

  /**
   * Sends a message with attachments; completes with the user's own {@code NewMessage}. Iris
   * carries only their metadata, never the files: upload each file to the app's media service
   * first, then send the message naming it. The text may be empty when there are attachments. Null
   * or no attachments: a plain {@link #send(long, String)}. The server checks the limits (at most
   * 10, sha256 of 32 bytes, a small preview, docs/PROTOCOL.md "Attachments"): a violation fails the
   * future with a {@link RejectedException} of rule {@code INVALID_ATTACHMENT}. An attachment
   * without one of its required fields is refused here, with an IllegalArgumentException.
   */
  public CompletableFuture<Delta> send(long threadId, String text, List<Attachment> attachments) {
    SendMessage m = new SendMessage(text);
    if (attachments != null && !attachments.isEmpty()) {
      // Copies: the command is encoded again for every resend, and must not change meanwhile
      // (Thrift's structs and their byte arrays are mutable).
      List<Attachment> copies = new ArrayList<>(attachments.size());
      for (Attachment a : attachments) {
        copies.add(new Attachment(Objects.requireNonNull(a, "attachment")));
      }
      m.setAttachments(copies);
    }
    return command(threadId, CommandBody.sendMessage(m));
  }

  /**
   * Replaces the text of one of the user's own messages; completes with the user's own {@code
   * MessageEdited}. Only within the server's edit window (15 minutes by default) and not once the
   * message is deleted; otherwise it fails with a {@link RejectedException} whose {@link
   * RejectedException#rule() rule} says why ({@code NOT_THE_SENDER}, {@code EDIT_WINDOW_PASSED},
   * {@code MESSAGE_DELETED}, {@code UNKNOWN_MESSAGE}, ...). The attachments stay.
   */
  public CompletableFuture<Delta> editMessage(long threadId, long messageId, String text) {
    return command(threadId, CommandBody.editMessage(new EditMessage(messageId, text)));
  }

  /**
   * Deletes one of the user's own messages for everyone; completes with the user's own {@code
   * MessageDeleted}. Only within the server's delete window (1 hour by default), else a {@link
   * RejectedException} of rule {@code DELETE_WINDOW_PASSED} (or {@code NOT_THE_SENDER}, {@code
   * UNKNOWN_MESSAGE}); a message deleted already (by another device of the user) with {@code
   * MESSAGE_DELETED}.
   */
  public CompletableFuture<Delta> deleteMessage(long threadId, long messageId) {
    return command(threadId, CommandBody.deleteMessage(new DeleteMessage(messageId)));
  }

  /**
   * Sets the user's reaction to a message, replacing their earlier one; null or empty removes it.
   * Completes with the user's own {@code ReactionChanged}. Any message of the thread that is not
   * deleted, at any age; an emoji above 64 bytes of UTF-8 is refused ({@code INVALID_REACTION}), a
   * deleted message too ({@code MESSAGE_DELETED}).
   */
  public CompletableFuture<Delta> react(long threadId, long messageId, String emoji) {
    React r = new React(messageId);
    if (emoji != null && !emoji.isEmpty()) {
      r.setEmoji(emoji); // absent, not empty, is the canonical removal
    }
    return command(threadId, CommandBody.react(r));
  }

  /** Creates a thread (id derived by the server); completes with the ThreadCreated delta. */
  public CompletableFuture<Delta> createThread(List<Long> participants, String name) {
    CreateThread c = new CreateThread(participants);
    if (name != null) {
      c.setName(name);
    }
    return command(0, CommandBody.createThread(c));
  }

  public CompletableFuture<Delta> addParticipants(long threadId, List<Long> userIds) {
    return command(threadId, CommandBody.addParticipants(new AddParticipants(userIds)));
  }

  public CompletableFuture<Delta> removeParticipants(long threadId, List<Long> userIds) {
    return command(threadId, CommandBody.removeParticipants(new RemoveParticipants(userIds)));
  }

  public CompletableFuture<Delta> markRead(long threadId, long upToMessageId) {
    return command(threadId, CommandBody.markRead(new MarkRead(upToMessageId)));
  }

  /** Best effort, never confirmed, never stored. */
  public void typing(long threadId, boolean typing) {
    DeviceCommand c =
        new DeviceCommand(
            UUID.randomUUID().toString(), threadId, CommandBody.typing(new Typing(typing)));
    DeviceRequest r = new DeviceRequest(UUID.randomUUID().toString(), DeviceRequestBody.command(c));
    onLoop(() -> publish(r, 0));
  }

  /**
   * Asks for an inbox snapshot and completes with it. It is applied (deltas resume after its pos,
   * in its epoch) unless it is older than the position in the same epoch, or the snapshot of a
   * request made after this one was applied first.
   */
  public CompletableFuture<Snapshot> snapshot(int maxThreads, int messagesPerThread) {
    CompletableFuture<Snapshot> f = new CompletableFuture<>();
    loop.execute(() -> sync.requestSnapshot(maxThreads, messagesPerThread, f));
    return f;
  }

  /**
   * Sends a command with a fresh client id. Also usable to repeat a command with a known client id
   * (the server applies it once).
   */
  public CompletableFuture<Delta> command(long threadId, CommandBody body) {
    return command(new DeviceCommand(UUID.randomUUID().toString(), threadId, body));
  }

  public CompletableFuture<Delta> command(DeviceCommand command) {
    CompletableFuture<Delta> result = new CompletableFuture<>();
    int bytes = frameBytes(command);
    if (bytes > MAX_FRAME_BYTES) {
      // Never sent: the edge would refuse it, and resending it would never help.
      result.completeExceptionally(
          new RejectedException(
              ErrorCode.FRAME_TOO_LARGE,
              "the command encodes to "
                  + bytes
                  + " bytes, above the frame limit of "
                  + MAX_FRAME_BYTES
                  + "; not sent"));
      return result;
    }
    long submittedAt = System.nanoTime();
    loop.execute(() -> sync.send(command, result, submittedAt, System.nanoTime()));
    return result;
  }

  private void onFrame(byte[] payload) {
    if (closed) {
      return; // after close nothing more is applied: position() is final
    }
    ServerFrame f;
    try {
      f = codec.decode(payload, ServerFrame::new);
    } catch (FrameException e) {
      log.warn(
          "Device {}/{} got a frame it cannot read: {}", cfg.userId, cfg.deviceId, e.getMessage());
      return;
    }
    if (f.getBody().isSetTyping()) {
      cfg.listener.onTyping(f.getBody().getTyping());
    } else if (f.getBody().isSetRedirect()) {
      redirected(f.getBody().getRedirect());
    } else {
      sync.onFrame(f, System.nanoTime()); // a frame type newer than this SDK is skipped there
    }
  }

  /**
   * This bridge does not serve the user (docs/PROTOCOL.md, "Which bridge"): disconnect, then
   * connect to the owner it names (first, before the configured URIs) and resume from the position
   * held, as after any reconnect. No owner named: reconnect with the usual backoff.
   */
  private void redirected(Redirect r) {
    if (closed) {
      return;
    }
    List<String> usable =
        r.getServerUris().stream().filter(u -> u.startsWith(scheme() + "://")).toList();
    // Named once already and here again: it could not be reached (or is moving): back off.
    boolean backOff = usable.isEmpty() || usable.equals(preferredUris);
    preferredUris = usable;
    if (!connected) {
      // A frame of a connection being set up: the next connection tries the bridge named.
      return;
    }
    redirects++;
    log.info(
        "Device {}/{}: {} (partition {}); reconnecting to {}",
        cfg.userId,
        cfg.deviceId,
        r.getReason(),
        r.getPartition(),
        backOff ? "the bridges known after a pause" : usable);
    leave(backOff);
  }

  /** tcp or ssl: the scheme of the configured server URIs. */
  private String scheme() {
    String first = cfg.serverUris != null ? cfg.serverUris[0] : String.valueOf(cfg.serverUri);
    return first.substring(0, Math.max(0, first.indexOf("://")));
  }

  /** Times a bridge sent this device to another. */
  public long redirects() {
    return call(() -> redirects);
  }

  /** Every 250 ms: resend unconfirmed commands, retry a lost sync answer, fail expired sends. */
  private void tick() {
    if (closed) {
      return;
    }
    long now = System.nanoTime();
    sync.tick(now);
    keepAlive(now);
  }

  // ------------------------------------------------------------------------------------------
  // Loop thread: connections
  // ------------------------------------------------------------------------------------------

  /** Starts a connection attempt, unless one is under way or none is wanted. */
  private void reconnect() {
    reconnectTask = null;
    if (closed || refused || !wanted || link != null) {
      return;
    }
    link = new Link(uris());
    link.start();
  }

  private void scheduleReconnect() {
    cancelReconnect();
    long base = Math.min(cfg.maxReconnectDelay.toMillis(), 250L << Math.min(reconnectAttempt, 10));
    long delay = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    reconnectAttempt++;
    try {
      reconnectTask = loop.schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void cancelReconnect() {
    if (reconnectTask != null) {
      reconnectTask.cancel(false);
      reconnectTask = null;
    }
  }

  /** Whether events of {@code l} still count: it is the connection or the racer, not closed. */
  private boolean ours(Link l) {
    return !closed && !l.closed && (l == link || l == racer);
  }

  /**
   * A connection's socket is open (TCP, and TLS for ssl://): its one flight goes out. CONNECT,
   * SUBSCRIBE to the down topic, then what the state machine sends on connecting: the commands no
   * bridge has accepted yet, in the order first sent, then the sync request (or snapshot request).
   * All of it is written and flushed at once, without waiting for CONNACK or SUBACK: the bridge
   * handles one connection's packets in order, so the subscription is in place before the answers
   * to the requests behind it. The CONNACK is awaited for {@link #CONNECT_TIMEOUT_MILLIS}.
   */
  private void opened(Link l) {
    if (!ours(l)) {
      l.close();
      return;
    }
    lastUri = l.mqtt.uri();
    List<byte[]> flight = new ArrayList<>();
    // Clean session: the position (epoch, lastPos) is kept by the app and the server, not MQTT.
    flight.add(
        MqttWire.encode(
            new MqttWire.Connect(
                mqttClientId,
                Long.toString(cfg.userId),
                cfg.token.getBytes(StandardCharsets.UTF_8),
                keepAliveSeconds,
                true)));
    flight.add(
        MqttWire.encode(new MqttWire.Subscribe(l.mqtt.nextPacketId(), List.of(down), List.of(1))));
    machineUp(l, flight);
    l.write(flight);
    l.flightSent = true;
    if (l == racer) {
      log.info(
          "Device {}/{}: a second connection, to {}, sent its flight",
          cfg.userId,
          cfg.deviceId,
          l.mqtt.uri());
    }
    onLoopAfter(
        TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MILLIS),
        () -> {
          if (ours(l) && !l.up) {
            failed(
                l, new SocketTimeoutException("no CONNACK in " + CONNECT_TIMEOUT_MILLIS + " ms"));
          }
        });
  }

  /** A packet from the server. Any packet at all shows its connection alive. */
  private void received(Link l, MqttWire.Packet p) {
    if (!ours(l)) {
      return;
    }
    l.lastReceivedNanos = System.nanoTime();
    l.pingSentNanos = NONE;
    l.unansweredSinceNanos = NONE;
    if (l == link && racer != null) {
      keepFirst();
    }
    if (p instanceof MqttWire.ConnAck a) {
      connAck(l, a.returnCode());
    } else if (!l.up) {
      failed(l, new ProtocolException("a packet before CONNACK: " + p));
    } else if (p instanceof MqttWire.Publish m) {
      if (m.qos() != 1 && m.qos() != 0) {
        failed(l, new ProtocolException("a PUBLISH of QoS " + m.qos() + ", subscribed at 1"));
        return;
      }
      if (m.qos() == 1) {
        l.write(List.of(MqttWire.encode(new MqttWire.PubAck(m.packetId()))));
      }
      onFrame(m.payload());
    } else if (p instanceof MqttWire.SubAck s) {
      if (s.returnCodes().contains(MqttWire.SUBSCRIPTION_FAILED)) {
        failed(l, new IOException("the subscription to " + down + " was refused"));
      }
    } else if (p instanceof MqttWire.PubAck a) {
      String ackId = l.marksAwaited.remove(a.packetId());
      if (ackId != null) {
        sync.requestArrived(ackId); // its delivered marks are the bridge's now
      }
    } else if (!(p instanceof MqttWire.PingResp)) {
      failed(l, new ProtocolException("a packet no server sends: " + p));
    }
  }

  /**
   * The server's answer to the CONNECT. Accepted: the connection is up (a racer's wins over the
   * silent one). Return codes 4 and 5 refuse the device itself: nothing is tried any more. Any
   * other refusal is retried like a lost connection.
   */
  private void connAck(Link l, int code) {
    if (l.up) {
      failed(l, new ProtocolException("a second CONNACK"));
      return;
    }
    if (code == MqttWire.BAD_USER_NAME_OR_PASSWORD || code == MqttWire.NOT_AUTHORIZED) {
      refusedBy(code);
      return;
    }
    if (code != 0) {
      failed(l, new IOException("connection not accepted: CONNACK return code " + code));
      return;
    }
    l.up = true;
    avoidUri = null;
    reconnectAttempt = 0;
    if (l == racer) {
      log.info(
          "Device {}/{}: the second connection, to {}, answered first; closing the silent one",
          cfg.userId,
          cfg.deviceId,
          l.mqtt.uri());
      drop(link);
      link = l;
      racer = null;
    }
    if (!connected) {
      connected = true;
      cfg.listener.onConnection(true);
    }
    waiters.forEach(w -> w.complete(null));
    waiters.clear();
  }

  /** The server refused the device (bad token, revoked): no connection is tried any more. */
  private void refusedBy(int code) {
    refused = true;
    log.warn(
        "Device {}/{} is no longer accepted by the server (CONNACK {}); not reconnecting",
        cfg.userId,
        cfg.deviceId,
        code);
    dropConnections();
    cancelReconnect();
    machineDown();
    reportDown();
    ConnectionRefusedException e =
        new ConnectionRefusedException(
            code,
            code == MqttWire.NOT_AUTHORIZED
                ? "not authorized (CONNACK 5): a revoked or unknown device"
                : "bad user name or password (CONNACK 4): a wrong token");
    waiters.forEach(w -> w.completeExceptionally(e));
    waiters.clear();
  }

  /**
   * A connection failed: closed by the server, lost, silent too long, or not accepted for now. Its
   * flight, if it sent one, is lost: the state machine is told, and sends again on the next
   * connection what still needs sending. Reconnects after the usual backoff, unless a racer is
   * under way, which then carries on as the new connection.
   */
  private void failed(Link l, IOException cause) {
    if (!ours(l)) {
      return;
    }
    drop(l);
    if (l == racer) {
      racer = null;
      log.info(
          "Device {}/{}: the second connection failed ({}); staying on the first",
          cfg.userId,
          cfg.deviceId,
          cause.getMessage());
      link.unansweredSinceNanos = NONE;
      if (speaking == l) {
        sendAgainOn(link);
      } else {
        awaitAnswer(link); // still silent: another race after deadConnectionAfter
      }
      return;
    }
    if (!l.up && l.flightSent) {
      avoidUri = l.mqtt.uri(); // took the connection but did not answer it: the others first
    }
    if (racer != null) {
      // The silent connection is gone; the second one goes on as any new connection.
      log.info(
          "Device {}/{}: the silent connection ended ({}); going on with the second",
          cfg.userId,
          cfg.deviceId,
          cause.getMessage());
      link = racer;
      racer = null;
      if (speaking != link) {
        machineDown();
        reportDown();
      }
      return;
    }
    link = null;
    machineDown();
    reportDown();
    log.info(
        "Device {}/{}: {} ({}); reconnecting",
        cfg.userId,
        cfg.deviceId,
        l.up ? "lost its connection" : "could not connect",
        cause.getMessage());
    scheduleReconnect();
  }

  /**
   * Dead-connection detection on send: every QoS 1 PUBLISH on a connection that is up is answered
   * at least by a PUBACK, so when nothing at all has arrived {@link Builder#deadConnectionAfter}
   * after one went out, the connection is suspect. Not known dead (a loaded bridge may be late), so
   * it is not closed; a second connection is raced against it instead:
   *
   * <ul>
   *   <li>until the second one's socket is open, the first keeps everything; any packet on the
   *       first abandons the attempt;
   *   <li>once open, the second sends its own one flight (CONNECT, SUBSCRIBE, the commands not
   *       accepted yet, the sync request) and the state machine speaks through it from then on;
   *   <li>its CONNACK wins: the first is closed (the bridge would close it anyway: one client id,
   *       one connection);
   *   <li>a packet on the first before that CONNACK wins for the first: the second is closed and
   *       the machine's requests are sent again on the first;
   *   <li>the second failing leaves the first as it was (still suspect: another race follows); the
   *       first failing leaves the second to go on as any new connection.
   * </ul>
   *
   * A command sent on both is applied once: the server knows it by its client id. At most one race
   * runs at a time.
   */
  private void checkAnswered(Link l) {
    if (closed || l.closed || l != link || !l.up || racer != null) {
      return;
    }
    if (l.unansweredSinceNanos == NONE) {
      return; // answered
    }
    long waited = System.nanoTime() - l.unansweredSinceNanos;
    if (waited < deadAfterNanos) {
      onLoopAfter(deadAfterNanos - waited, () -> checkAnswered(l));
      return;
    }
    log.info(
        "Device {}/{}: nothing from {} for {} ms after a send; racing a second connection",
        cfg.userId,
        cfg.deviceId,
        l.mqtt.uri(),
        TimeUnit.NANOSECONDS.toMillis(waited));
    racer = new Link(uris());
    racer.start();
  }

  /** Something that the server answers went out on {@code l}: expect a packet within the time. */
  private void awaitAnswer(Link l) {
    if (l.unansweredSinceNanos == NONE) {
      l.unansweredSinceNanos = System.nanoTime();
      onLoopAfter(deadAfterNanos, () -> checkAnswered(l));
    }
  }

  /** The silent connection answered before the second one was accepted: it stays. */
  private void keepFirst() {
    Link r = racer;
    racer = null;
    drop(r);
    log.info(
        "Device {}/{}: the silent connection answered after all; the second one is given up",
        cfg.userId,
        cfg.deviceId);
    if (speaking == r) {
      sendAgainOn(link); // the machine's requests went out on the second connection
    }
  }

  /**
   * Moves the state machine to {@code l}, which is open: what it sends on connecting goes there.
   */
  private void sendAgainOn(Link l) {
    List<byte[]> flight = new ArrayList<>();
    machineUp(l, flight);
    if (!flight.isEmpty()) {
      l.write(flight);
      if (l.up) {
        awaitAnswer(l);
      }
    }
  }

  /**
   * The state machine connects through {@code l}: the commands to resend and the sync request it
   * publishes meanwhile are gathered into {@code flight}, not written one by one.
   */
  private void machineUp(Link l, List<byte[]> flight) {
    machineDown();
    speaking = l;
    gathering = flight;
    try {
      sync.connected(System.nanoTime());
    } finally {
      gathering = null;
    }
  }

  /** The connection the machine spoke through is gone: the answers it awaits will not come. */
  private void machineDown() {
    if (speaking != null) {
      speaking = null;
      sync.connectionLost();
    }
  }

  private void reportDown() {
    if (connected) {
      connected = false;
      cfg.listener.onConnection(false);
    }
  }

  private static void drop(Link l) {
    if (l != null) {
      l.close();
    }
  }

  /** Gives up the second connection of a race, if one runs. */
  private void dropRacer() {
    drop(racer);
    racer = null;
  }

  /** Gives up both connections: the current one and a racer. */
  private void dropConnections() {
    dropRacer();
    drop(link);
    link = null;
  }

  /**
   * The MQTT keep-alive: a PINGREQ when nothing was sent, or nothing arrived, for the keep-alive
   * interval; the connection is dead when nothing at all arrives within 1.5 intervals of it (the
   * server's rule for the device, applied the other way).
   */
  private void keepAlive(long now) {
    Link l = link;
    if (l == null || !l.up || l.closed) {
      return;
    }
    if (l.pingSentNanos != NONE) {
      if (now - l.pingSentNanos >= keepAliveNanos * 3 / 2) {
        failed(
            l,
            new SocketTimeoutException(
                "no answer to a PINGREQ in " + keepAliveNanos * 3 / 2_000_000 + " ms"));
      }
      return;
    }
    if (now - l.lastSentNanos >= keepAliveNanos || now - l.lastReceivedNanos >= keepAliveNanos) {
      l.write(List.of(PINGREQ));
      l.pingSentNanos = now;
    }
  }

  private static final byte[] PINGREQ = MqttWire.encode(new MqttWire.PingReq());

  /** Disconnects from this bridge and connects again: at once, or after the usual backoff. */
  private void leave(boolean backOff) {
    Link l = link;
    link = null;
    dropRacer();
    machineDown();
    reportDown();
    if (l != null) {
      // DISCONNECT behind the acknowledgements of what it received, so that the bridge does not
      // keep them in flight for a connection that is gone; closed for good 2 s later.
      l.disconnect();
      onLoopAfter(TimeUnit.SECONDS.toNanos(2), l::close);
    }
    cancelReconnect();
    if (backOff) {
      scheduleReconnect();
    } else {
      reconnect();
    }
  }

  private void publish(DeviceRequest request, int qos) {
    Link l = speaking;
    if (l == null || (qos == 0 && !connected)) {
      return; // the state machine sends it again on the next connection
    }
    int packetId = qos == 0 ? 0 : l.mqtt.nextPacketId();
    if (qos == 1 && request.getBody().isSetAck() && request.getBody().getAck().isSetDelivered()) {
      l.marksAwaited.put(packetId, request.getRequestId());
    }
    byte[] packet =
        MqttWire.encode(
            new MqttWire.Publish(up, qos, packetId, false, false, codec.encode(request)));
    if (gathering != null) {
      gathering.add(packet);
      return;
    }
    l.write(List.of(packet));
    if (qos == 1 && l.up) {
      awaitAnswer(l);
    }
  }

  private <T> T call(java.util.concurrent.Callable<T> c) {
    try {
      return loop.submit(c).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Sends the last ack, then disconnects. Once it returns nothing more is applied, so {@link
   * #position()} is the position to resume from. Closing again does nothing.
   */
  @Override
  public void close() {
    if (loop.isShutdown()) {
      return;
    }
    try {
      loop.submit(sync::flushAck).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
    CompletableFuture<Link> last = new CompletableFuture<>();
    onLoop(
        () -> {
          closed = true;
          cancelReconnect();
          dropRacer();
          Link l = link;
          link = null;
          speaking = null;
          connected = false;
          IOException e = new IOException("closed");
          waiters.forEach(w -> w.completeExceptionally(e));
          waiters.clear();
          if (l != null) {
            l.disconnect(); // behind the last ack
          }
          last.complete(l);
        });
    try {
      Link l = last.get(5, TimeUnit.SECONDS);
      if (l != null) {
        l.awaitEnd(2000); // the bridge closes its side once it has read the DISCONNECT
      }
    } catch (Exception e) {
      // closing anyway
    }
    loop.shutdown();
    try {
      loop.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** For logs: never the token. */
  @Override
  public String toString() {
    return "IrisDevice[" + cfg.userId + "/" + cfg.deviceId + " " + cfg.serverUri + "]";
  }

  /** Where this device is connected now, and whether, for diagnostics: e.g. "tcp://b3:1883 up". */
  public String connection() {
    return lastUri + (connected ? " up" : " down") + ", preferred " + preferredUris;
  }

  /**
   * One connection: an attempt, then the connection it makes. Its reader thread opens the socket
   * (each URI in turn, {@link #CONNECT_TIMEOUT_MILLIS} each), then reads packets until the end; its
   * writer thread writes the flights, so that a write stuck on a dead network holds up neither the
   * device's loop nor the reading (and the keep-alive and the race can still act). Every event goes
   * to the loop, which alone reads and sets the fields without {@code volatile}.
   */
  private final class Link {
    private final List<String> uris;
    private final Thread reader;
    private final ExecutorService writer;
    volatile MqttLink mqtt;
    volatile boolean closed;
    boolean flightSent;
    boolean up;
    long lastSentNanos;
    long lastReceivedNanos;
    long pingSentNanos = NONE;

    /** When the first request not answered yet went out; NONE: nothing awaited. */
    long unansweredSinceNanos = NONE;

    /**
     * Acks with delivered marks sent here, by packet id: their PUBACK tells the state machine the
     * marks arrived (else a lost connection sends them again).
     */
    final Map<Integer, String> marksAwaited = new HashMap<>();

    Link(List<String> uris) {
      this.uris = uris;
      this.reader = new Thread(this::run, "iris-link-" + mqttClientId);
      reader.setDaemon(true);
      this.writer =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "iris-link-" + mqttClientId + "-write");
                t.setDaemon(true);
                return t;
              });
    }

    void start() {
      reader.start();
    }

    /** The reader thread: opens the connection, then hands every packet to the loop. */
    private void run() {
      IOException failure = new IOException("no server URI");
      MqttLink opened = null;
      for (String uri : uris) {
        if (closed) {
          return;
        }
        try {
          MqttLink m = new MqttLink(socketFactory(), uri, MAX_PACKET_BYTES);
          mqtt = m;
          if (closed) {
            m.close(); // closed while it was made: close() did not see it
            return;
          }
          try {
            m.connect(CONNECT_TIMEOUT_MILLIS);
          } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
          }
          opened = m;
          break;
        } catch (IOException | RuntimeException e) {
          failure = e instanceof IOException io ? io : new IOException(e);
          log.debug(
              "Device {}/{}: {} not reached: {}", cfg.userId, cfg.deviceId, uri, e.toString());
        }
      }
      if (opened == null) {
        IOException f = failure;
        onLoop(() -> failed(this, f));
        return;
      }
      onLoop(() -> opened(this));
      IOException end;
      try {
        for (MqttWire.Packet p = opened.read(); p != null; p = opened.read()) {
          MqttWire.Packet packet = p;
          onLoop(() -> received(this, packet));
        }
        end = new EOFException("closed by the server");
      } catch (IOException e) {
        end = e;
      } catch (RuntimeException e) {
        end = new IOException(e);
      }
      opened.close();
      IOException f = end;
      onLoop(() -> failed(this, f));
    }

    /** Writes one flight, flushed once, on the writer thread; a failure closes the connection. */
    void write(List<byte[]> packets) {
      lastSentNanos = System.nanoTime();
      MqttLink m = mqtt;
      try {
        writer.execute(
            () -> {
              try {
                m.send(packets);
              } catch (IOException e) {
                m.close(); // the reader then reports the end
              }
            });
      } catch (RejectedExecutionException e) {
        // closed
      }
    }

    /** Sends DISCONNECT behind what was written before, then lets the server close. */
    void disconnect() {
      closed = true;
      MqttLink m = mqtt;
      if (m == null || !flightSent) {
        close();
        return;
      }
      try {
        writer.execute(m::disconnect);
      } catch (RejectedExecutionException e) {
        m.close();
      }
      writer.shutdown();
    }

    /** Waits up to {@code millis} for the server to end the connection, then closes it. */
    void awaitEnd(long millis) {
      try {
        reader.join(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      close();
    }

    void close() {
      closed = true;
      MqttLink m = mqtt;
      if (m != null) {
        m.close();
      }
      writer.shutdownNow();
    }
  }
}
