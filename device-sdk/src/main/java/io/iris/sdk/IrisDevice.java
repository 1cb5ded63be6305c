package io.iris.sdk;

import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.Typing;
import io.iris.protocol.thrift.TypingEvent;
import io.iris.sdk.internals.NoDelaySockets;
import io.iris.sdk.internals.SyncStateMachine;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.SocketFactory;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
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
 *   <li>a lost connection is re-established with exponential backoff and jitter, then the device
 *       catches up and repeats unconfirmed sends.
 * </ul>
 *
 * The protocol's decisions are made by a {@link SyncStateMachine}; this class is its transport (the
 * MQTT client, reconnects, timers). All protocol state lives on one thread per device; listener
 * calls are made from it, so a listener must not block.
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

  /** A command the server refused: the code says why; sending it again will not help. */
  public static final class RejectedException extends RuntimeException {
    private final ErrorCode code;

    public RejectedException(ErrorCode code, String message) {
      super(code + ": " + message);
      this.code = code;
    }

    public ErrorCode code() {
      return code;
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
    private SocketFactory socketFactory;

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

    /** For ssl:// URIs, e.g. an SSLContext's socket factory trusting the edge's certificate. */
    public Builder socketFactory(SocketFactory f) {
      this.socketFactory = f;
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

  private final Builder cfg;
  private final FrameCodec codec = FrameCodec.defaults();

  /** Where the last Redirect sent this device, tried before the configured URIs (loop thread). */
  private volatile List<String> preferredUris = List.of();

  /** The preferred URIs the current connection was made with (tried first). */
  private volatile List<String> preferredAtConnect = List.of();

  private long redirects;
  private final ScheduledExecutorService loop;
  private final String mqttClientId;

  /** Replaced when a connection attempt is left in an unknown state (see {@link #reconnect}). */
  private volatile MqttAsyncClient client;

  private final String up;
  private final String down;
  // --- touched only on the loop thread ---
  private final SyncStateMachine sync;
  private boolean closed;
  private int reconnectAttempt;
  private volatile boolean connected;

  private IrisDevice(Builder b) {
    this.cfg = b;
    DeviceTopics.DeviceId id = new DeviceTopics.DeviceId(b.userId, b.deviceId);
    String clientId = id.clientId();
    this.mqttClientId = clientId;
    this.up = id.up();
    this.down = id.down();
    this.sync =
        new SyncStateMachine(
            clientId,
            new SyncStateMachine.Settings(
                b.resendAfter,
                b.maxResendInterval,
                b.sendDeadline,
                b.ackEvery,
                b.ackDelay,
                b.syncPage),
            b.epoch,
            b.lastPos,
            new DeviceHost(),
            () -> UUID.randomUUID().toString());
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "iris-device-" + clientId);
              t.setDaemon(true);
              return t;
            });
    this.client = newClient();
    loop.scheduleWithFixedDelay(this::tick, 250, 250, TimeUnit.MILLISECONDS);
  }

  /** A Paho client of this device, its callbacks set. */
  private MqttAsyncClient newClient() {
    MqttAsyncClient c;
    try {
      c = new MqttAsyncClient(cfg.serverUri, mqttClientId, new MemoryPersistence());
    } catch (MqttException e) {
      throw new IllegalArgumentException("bad server URI " + cfg.serverUri, e);
    }
    c.setCallback(
        new MqttCallback() {
          @Override
          public void connectionLost(Throwable cause) {
            if (c != client) {
              return; // a client given up on
            }
            boolean was = connected;
            connected = false;
            if (was) {
              // A connection being set up is retried by whoever sets it up (connect, reconnect).
              onLoop(() -> lost(cause));
            }
          }

          @Override
          public void messageArrived(String topic, MqttMessage message) {
            if (c != client) {
              return;
            }
            byte[] payload = message.getPayload();
            onLoop(() -> onFrame(payload));
          }

          @Override
          public void deliveryComplete(IMqttDeliveryToken token) {}
        });
    return c;
  }

  /** Runs on the device's thread; dropped once the device is closed. */
  private void onLoop(Runnable r) {
    try {
      loop.execute(r);
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
      try {
        loop.schedule(
            () -> {
              if (!closed) {
                sync.timerFired(System.nanoTime());
              }
            },
            delayNanos,
            TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // closed
      }
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

  /** Connects, subscribes and starts catching up; fails if the first connection is refused. */
  public void connect(Duration timeout) throws MqttException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        client.connect(options()).waitForCompletion(timeout.toMillis());
        client.subscribe(down, 1).waitForCompletion(timeout.toMillis());
        break;
      } catch (MqttException e) {
        // Moquette 0.17 sends CONNACK before it marks the connection connected, and drops a
        // connection whose SUBSCRIBE arrives in between: a fast client loses that race now and
        // then. Anything but a refusal is tried again, briefly.
        if (refused(e.getReasonCode()) || System.nanoTime() > deadline) {
          throw e;
        }
        if (client.isConnected()) {
          client.disconnectForcibly(100, 1000);
        }
        try {
          Thread.sleep(Math.min(1000, 50L * attempt));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
    connected = true;
    loop.execute(this::resume);
  }

  private MqttConnectOptions options() {
    MqttConnectOptions o = new MqttConnectOptions();
    o.setUserName(Long.toString(cfg.userId));
    o.setPassword(cfg.token.toCharArray());
    o.setCleanSession(true); // the position (epoch, lastPos) is kept by the app and the server
    o.setAutomaticReconnect(false); // reconnects here, to resume the protocol after
    o.setMaxInflight(1000);
    o.setKeepAliveInterval(30);
    o.setConnectionTimeout(10);
    // Nagle off: a device's small frames wait for answers (see NoDelaySockets).
    o.setSocketFactory(NoDelaySockets.wrap(socketFactory()));
    preferredAtConnect = preferredUris;
    List<String> uris = new java.util.ArrayList<>(preferredUris);
    if (cfg.serverUris != null) {
      uris.addAll(List.of(cfg.serverUris));
    } else if (!uris.isEmpty()) {
      uris.add(cfg.serverUri);
    }
    if (!uris.isEmpty()) {
      o.setServerURIs(uris.stream().distinct().toArray(String[]::new));
    }
    return o;
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
    publish(new DeviceRequest(UUID.randomUUID().toString(), DeviceRequestBody.command(c)), 0);
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

  // ------------------------------------------------------------------------------------------
  // Loop thread
  // ------------------------------------------------------------------------------------------

  private void resume() {
    if (!client.isConnected()) {
      // Lost while it was being set up (e.g. closed by a bridge that redirected it).
      connected = false;
      scheduleReconnect();
      return;
    }
    if (!preferredUris.isEmpty()
        && !preferredUris.contains(client.getCurrentServerURI())
        && !preferredUris.equals(preferredAtConnect)) {
      // This bridge sent the device elsewhere while it subscribed: go now, not after a sync. (A
      // bridge named before this connection was tried first and not reached: stay and sync.)
      redirects++;
      log.info(
          "Device {}/{}: served by {}, not {}; reconnecting there",
          cfg.userId,
          cfg.deviceId,
          preferredUris,
          client.getCurrentServerURI());
      leave(false);
      return;
    }
    reconnectAttempt = 0;
    cfg.listener.onConnection(true);
    sync.connected(System.nanoTime());
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
      // A frame of a connection being set up (the answer to its subscription; its sync will be
      // answered the same) or of one already left: the next connection tries the bridge named.
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
    cfg.listener.onConnection(false);
    sync.connectionLost();
    leave(backOff);
  }

  /** Disconnects from this bridge and connects again: at once, or after the usual backoff. */
  private void leave(boolean backOff) {
    connected = false;
    try {
      // A moment for the acknowledgements of what it received to reach the bridge first, so that
      // the bridge does not keep them in flight for a connection that is gone.
      client.disconnect(200).waitForCompletion(2000);
    } catch (MqttException e) {
      // the bridge closes the connection itself a moment later
    }
    if (backOff) {
      scheduleReconnect();
    } else {
      loop.schedule(this::reconnect, 0, TimeUnit.MILLISECONDS);
    }
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
    sync.tick(System.nanoTime());
  }

  private void lost(Throwable cause) {
    if (closed) {
      return;
    }
    cfg.listener.onConnection(false);
    sync.connectionLost();
    log.info(
        "Device {}/{} lost its connection ({}); reconnecting",
        cfg.userId,
        cfg.deviceId,
        cause == null ? "closed" : cause.getMessage());
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    long base = Math.min(cfg.maxReconnectDelay.toMillis(), 250L << Math.min(reconnectAttempt, 10));
    long delay = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    reconnectAttempt++;
    loop.schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
  }

  private void reconnect() {
    if (closed) {
      return;
    }
    MqttConnectOptions o = options();
    int uris = o.getServerURIs() == null ? 1 : o.getServerURIs().length;
    try {
      // Paho tries each URI in turn, each for up to the connection timeout: wait for all of them,
      // or a connect still running behind a timed-out wait would come up unseen.
      client.connect(o).waitForCompletion(uris * o.getConnectionTimeout() * 1000L + 5_000);
      // Not waiting for SUBACK: the broker handles one connection's packets in order, so the
      // subscription is in place before the resent commands and the sync request that follow.
      // On a slow link that is a round trip less before pending sends go out again.
      client.subscribe(down, 1);
      connected = true;
      resume();
    } catch (MqttException | RuntimeException e) {
      connected = false;
      int code = e instanceof MqttException me ? me.getReasonCode() : -1;
      if (code == MqttException.REASON_CODE_CLIENT_TIMEOUT
          || code == MqttException.REASON_CODE_CONNECT_IN_PROGRESS
          || code == -1) {
        replaceClient(); // an attempt in an unknown state: start over with a new client
      } else {
        try {
          if (client.isConnected()) {
            client.disconnect().waitForCompletion(2000);
          }
        } catch (MqttException ignored) {
          // retried below
        }
      }
      log.info(
          "Device {}/{}: reconnect failed ({}, reason code {})",
          cfg.userId,
          cfg.deviceId,
          e.getMessage(),
          code);
      if (refused(code)) {
        log.warn(
            "Device {}/{} is no longer accepted by the server (revoked?); not reconnecting",
            cfg.userId,
            cfg.deviceId);
        return;
      }
      scheduleReconnect();
    }
  }

  /** Whether the server refused the device itself (bad token, revoked): not worth retrying. */
  private static boolean refused(int reasonCode) {
    return reasonCode == MqttException.REASON_CODE_FAILED_AUTHENTICATION
        || reasonCode == MqttException.REASON_CODE_NOT_AUTHORIZED;
  }

  /** Abandons the current Paho client (whatever it is doing) for a new one. */
  private void replaceClient() {
    MqttAsyncClient old = client;
    client = newClient();
    try {
      old.disconnectForcibly(0, 500, false);
    } catch (MqttException | RuntimeException e) {
      // it is being abandoned
    }
    try {
      old.close(true);
    } catch (MqttException | RuntimeException e) {
      // it is being abandoned
    }
  }

  private void publish(DeviceRequest request, int qos) {
    if (!connected) {
      return; // resent on reconnect
    }
    try {
      client.publish(up, codec.encode(request), qos, false);
    } catch (MqttException e) {
      log.debug("Device {}/{}: publish failed: {}", cfg.userId, cfg.deviceId, e.getMessage());
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
    loop.execute(() -> closed = true);
    try {
      if (client.isConnected()) {
        client.disconnect(2000).waitForCompletion(3000);
      }
    } catch (MqttException e) {
      // closing anyway
    }
    try {
      client.close();
    } catch (MqttException e) {
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
    MqttAsyncClient c = client;
    return c.getCurrentServerURI() + (connected ? " up" : " down") + ", preferred " + preferredUris;
  }
}
