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
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.Typing;
import io.iris.protocol.thrift.TypingEvent;
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
 * protocol (docs/PROTOCOL.md). It hands the app every delta of its user exactly once, in seq order
 * and without gaps, whatever the network does:
 *
 * <ul>
 *   <li>on connect it asks for what it missed after the last seq it applied (or for a snapshot when
 *       it has none), and keeps asking while the answer is below the head;
 *   <li>a delta whose {@code prevSeq} is not the last applied seq is held back and the missing
 *       range is asked for; duplicates (a seq already applied) are dropped;
 *   <li>applied seqs are acknowledged in batches (the device pointer);
 *   <li>a send carries a client id and is repeated with the same id until the user's own delta
 *       carrying it arrives (the confirmation) or the server refuses it for good; the server
 *       applies it once;
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
    /** Deltas applied, in seq order, each once, no gap before the first. */
    default void onDeltas(List<Delta> deltas) {}

    /** A snapshot was applied: the inbox as of {@code snapshot.seq}; deltas resume after it. */
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
    private long lastSeq = -1;
    private Listener listener = new Listener() {};
    private Duration resendAfter = Duration.ofSeconds(5);
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
     * next and catches up there by seq (any bridge serves any user).
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

    /** The last seq this device applied before (kept by the app); -1: none, take a snapshot. */
    public Builder lastSeq(long seq) {
      this.lastSeq = seq;
      return this;
    }

    public Builder listener(Listener listener) {
      this.listener = listener;
      return this;
    }

    /** How long a send waits for its confirmation before it is sent again (same client id). */
    public Builder resendAfter(Duration d) {
      this.resendAfter = d;
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
      return new IrisDevice(this);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  private final Builder cfg;
  private final FrameCodec codec = FrameCodec.defaults();
  private final ScheduledExecutorService loop;
  private final MqttAsyncClient client;
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
    this.up = id.up();
    this.down = id.down();
    this.sync =
        new SyncStateMachine(
            clientId,
            new SyncStateMachine.Settings(
                b.resendAfter, b.sendDeadline, b.ackEvery, b.ackDelay, b.syncPage),
            b.lastSeq,
            new DeviceHost(),
            () -> UUID.randomUUID().toString());
    this.loop =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "iris-device-" + clientId);
              t.setDaemon(true);
              return t;
            });
    try {
      this.client = new MqttAsyncClient(b.serverUri, clientId, new MemoryPersistence());
    } catch (MqttException e) {
      throw new IllegalArgumentException("bad server URI " + b.serverUri, e);
    }
    client.setCallback(
        new MqttCallback() {
          @Override
          public void connectionLost(Throwable cause) {
            connected = false;
            onLoop(() -> lost(cause));
          }

          @Override
          public void messageArrived(String topic, MqttMessage message) {
            byte[] payload = message.getPayload();
            onLoop(() -> onFrame(payload));
          }

          @Override
          public void deliveryComplete(IMqttDeliveryToken token) {}
        });
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
        boolean refused =
            e.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION
                || e.getReasonCode() == MqttException.REASON_CODE_NOT_AUTHORIZED;
        if (refused || System.nanoTime() > deadline) {
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
    o.setCleanSession(true); // the position is the seq, kept by the app and the server
    o.setAutomaticReconnect(false); // reconnects here, to resume the protocol after
    o.setMaxInflight(1000);
    o.setKeepAliveInterval(30);
    o.setConnectionTimeout(10);
    if (cfg.socketFactory != null) {
      o.setSocketFactory(cfg.socketFactory);
    }
    if (cfg.serverUris != null) {
      o.setServerURIs(cfg.serverUris);
    }
    return o;
  }

  public boolean isConnected() {
    return connected;
  }

  /** The last seq applied (handed to the listener); readable after close, to resume later. */
  public long lastSeq() {
    return sync.lastApplied();
  }

  /** Deltas received again and dropped. */
  public long duplicatesDropped() {
    return call(sync::duplicatesDropped);
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

  /** Asks for an inbox snapshot; deltas resume after its seq. */
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
    long submittedAt = System.nanoTime();
    loop.execute(() -> sync.send(command, result, submittedAt, System.nanoTime()));
    return result;
  }

  // ------------------------------------------------------------------------------------------
  // Loop thread
  // ------------------------------------------------------------------------------------------

  private void resume() {
    reconnectAttempt = 0;
    cfg.listener.onConnection(true);
    sync.connected(System.nanoTime());
  }

  private void onFrame(byte[] payload) {
    if (closed) {
      return; // after close nothing more is applied: lastSeq() is final
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
    } else {
      sync.onFrame(f, System.nanoTime()); // a frame type newer than this SDK is skipped there
    }
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
    try {
      client.connect(options()).waitForCompletion(15_000);
      // Not waiting for SUBACK: the broker handles one connection's packets in order, so the
      // subscription is in place before the resent commands and the sync request that follow.
      // On a slow link that is a round trip less before pending sends go out again.
      client.subscribe(down, 1);
      connected = true;
      resume();
    } catch (MqttException e) {
      connected = false;
      try {
        if (client.isConnected()) {
          client.disconnect().waitForCompletion(2000);
        }
      } catch (MqttException ignored) {
        // retried below
      }
      if (e.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION
          || e.getReasonCode() == MqttException.REASON_CODE_NOT_AUTHORIZED) {
        log.warn(
            "Device {}/{} is no longer accepted by the server (revoked?); not reconnecting",
            cfg.userId,
            cfg.deviceId);
        return;
      }
      scheduleReconnect();
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
   * #lastSeq()} is the seq to resume from. Closing again does nothing.
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
}
