package io.iris.sdk.internals;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device side of the sync protocol (docs/PROTOCOL.md), without a network, a thread or a clock:
 * what to apply, what to ask for and what to send, decided from the frames that arrive and the time
 * the caller passes in. Requests go out through {@link Host#publish}; applied deltas and snapshots
 * go to the {@link Host} as well.
 *
 * <p>Not thread-safe: the device calls it from one thread. Only {@link #lastApplied()} may be read
 * from any thread. Times are {@link System#nanoTime()}-style: only their differences count.
 *
 * <p>Internal to the SDK; not part of its API.
 */
public final class SyncStateMachine {
  private static final Logger log = LoggerFactory.getLogger(SyncStateMachine.class);

  /** A sync answer not seen after this long is taken as lost, and asked for again. */
  static final long SYNC_ANSWER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** Behind the head without progress this long: a push was lost, catch up. */
  static final long STALLED_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** An empty answer while behind (the tier is catching up): ask again after this pause. */
  static final long EMPTY_ANSWER_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  /** A sync answered with an error (e.g. storage unavailable): ask again after this pause. */
  static final long SYNC_ERROR_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The snapshot asked for when the device has no position: threads, and messages per thread. */
  static final int SNAPSHOT_THREADS = 20;

  static final int SNAPSHOT_MESSAGES_PER_THREAD = 20;

  private static final long NOT_DUE = Long.MIN_VALUE;

  /**
   * @param resendAfter how long a send waits for its confirmation before it goes out again
   * @param sendDeadline how long a send is tried before it fails with a TimeoutException
   * @param ackEvery acknowledge after this many applied deltas ...
   * @param ackDelay ... or this long after the first unacknowledged one, whichever comes first
   * @param syncPage deltas asked for per catch-up request
   */
  public record Settings(
      Duration resendAfter, Duration sendDeadline, int ackEvery, Duration ackDelay, int syncPage) {}

  /** What the machine needs from the device that runs it. Called on the caller's thread. */
  public interface Host {
    /** Sends this request to the server (QoS 1); dropping it while disconnected is fine. */
    void publish(DeviceRequest request);

    /** Calls {@link #timerFired} once, no earlier than {@code delayNanos} from now. */
    void wakeAfter(long delayNanos);

    /** These deltas were applied: in seq order, each once, no gap before the first. */
    void deltasApplied(List<Delta> deltas);

    /** This snapshot was applied; deltas resume after its seq. */
    void snapshotApplied(Snapshot snapshot);

    /** Too far behind: true to take a snapshot, false to catch up by deltas anyway. */
    boolean takeSnapshot(ResnapshotRequired costs);
  }

  private final String device;
  private final Settings settings;
  private final Host host;
  private final Supplier<String> requestIds;
  private final DeltaSequencer sequencer;
  private final PendingSends sends;
  private final Map<String, CompletableFuture<Snapshot>> snapshots = new HashMap<>();
  private volatile long lastApplied;
  private long headSeq;

  /**
   * Whether an answer or a push since this connection told the head: until then a device cannot
   * know it is current, and a first sync refused (UNAVAILABLE, RATE_LIMITED) or lost must be asked
   * again even when {@code lastSeq >= headSeq}.
   */
  private boolean headKnown;

  private boolean connected;

  /**
   * After a snapshot, catch up to this seq with {@code force}: a snapshot is built from MySQL,
   * which may be behind the log, and the range between them must come as deltas, not as another
   * offer to resnapshot.
   */
  private long forceSyncUntil = -1;

  // The sync request out (its id), or a pause before asking again; either blocks a new request.
  private String syncRequestId;
  private boolean syncPaused;
  private long syncResumeAtNanos;
  private long syncSentAtNanos;

  private long ackedSeq;
  private int unacked;
  private long ackDueAtNanos = NOT_DUE;

  private long gapsRepaired;
  private long progressSeq = -1;
  private long progressAtNanos;

  /**
   * @param device names the device in logs
   * @param lastSeq the last seq the device applied before; -1: none, a snapshot comes first
   * @param requestIds a fresh id per request (sync, snapshot, ack)
   */
  public SyncStateMachine(
      String device, Settings settings, long lastSeq, Host host, Supplier<String> requestIds) {
    this.device = device;
    this.settings = settings;
    this.host = host;
    this.requestIds = requestIds;
    this.sequencer = new DeltaSequencer(lastSeq);
    this.sends = new PendingSends(settings.resendAfter(), settings.sendDeadline());
    this.lastApplied = lastSeq;
    this.ackedSeq = Math.max(0, lastSeq);
  }

  // ------------------------------------------------------------------------------------------
  // What the device tells the machine
  // ------------------------------------------------------------------------------------------

  /**
   * The connection is up (first time or again): ask for a snapshot when there is no position, else
   * for what was missed after it; send every unconfirmed command again.
   */
  public void connected(long nowNanos) {
    connected = true;
    headKnown = false;
    if (!sequencer.awaitingSnapshot()) {
      requestSync(0, nowNanos);
    }
    for (PendingSends.PendingSend p : sends.all()) {
      transmit(p, nowNanos);
    }
    if (sequencer.awaitingSnapshot()) {
      requestSnapshot(
          SNAPSHOT_THREADS, SNAPSHOT_MESSAGES_PER_THREAD, new CompletableFuture<Snapshot>());
    }
  }

  /** The connection is down: the sync answer awaited will not come. */
  public void connectionLost() {
    connected = false;
    syncRequestId = null;
    syncPaused = false;
  }

  /**
   * A frame from the server. Typing events are not the machine's (the device hands them to the app
   * itself); a body this SDK does not know is skipped.
   */
  public void onFrame(ServerFrame f, long nowNanos) {
    if (f.getBody().getSetField() == null) {
      return; // a frame type newer than this SDK: skipped, as the protocol asks
    }
    String rid = f.isSetRequestId() ? f.getRequestId() : null;
    switch (f.getBody().getSetField()) {
      case DELTAS -> onBatch(rid, f.getBody().getDeltas(), nowNanos);
      case SEND_RESULT -> sends.onSendResult(f.getBody().getSendResult());
      case SNAPSHOT -> onSnapshot(rid, f.getBody().getSnapshot(), nowNanos);
      case ERROR -> onError(rid, f.getBody().getError(), nowNanos);
      case RESNAPSHOT_REQUIRED -> onResnapshot(rid, f.getBody().getResnapshotRequired(), nowNanos);
      case TYPING -> {
        // the device's: relayed to the app, no state here
      }
    }
  }

  /**
   * A command to send until it is confirmed by its own delta, refused for good, or {@code
   * sendDeadline} after {@code submittedAtNanos}; {@code result} is completed accordingly.
   */
  public void send(
      DeviceCommand command,
      CompletableFuture<Delta> result,
      long submittedAtNanos,
      long nowNanos) {
    transmit(sends.add(command, result, submittedAtNanos), nowNanos);
  }

  /** Asks for a snapshot; {@code result} completes with it, or fails with the server's error. */
  public void requestSnapshot(
      int maxThreads, int messagesPerThread, CompletableFuture<Snapshot> result) {
    String id = requestIds.get();
    snapshots.put(id, result);
    host.publish(
        new DeviceRequest(
            id,
            DeviceRequestBody.snapshot(
                new SnapshotRequest()
                    .setMaxThreads(maxThreads)
                    .setMessagesPerThread(messagesPerThread))));
  }

  /**
   * Housekeeping, about every 250 ms: fail expired sends, repeat the ones due while connected, ask
   * again for a sync answer that was lost, and catch up when behind the head without progress.
   */
  public void tick(long nowNanos) {
    sends.expire(nowNanos);
    if (connected) {
      for (PendingSends.PendingSend p : sends.dueForResend(nowNanos)) {
        transmit(p, nowNanos);
      }
    }
    if (connected && syncOut() && nowNanos - syncSentAtNanos > SYNC_ANSWER_TIMEOUT_NANOS) {
      syncRequestId = null; // the answer was lost: ask again
      syncPaused = false;
      maybeSync(nowNanos);
    }
    long lastSeq = sequencer.lastSeq();
    if (lastSeq != progressSeq) {
      progressSeq = lastSeq;
      progressAtNanos = nowNanos;
    } else if (connected
        && !syncOut()
        && lastSeq >= 0
        && lastSeq < headSeq
        && nowNanos - progressAtNanos > STALLED_NANOS) {
      maybeSync(nowNanos); // behind the head for a second without progress: a push was lost
      progressAtNanos = nowNanos;
    }
  }

  /** A wake-up asked for with {@link Host#wakeAfter}: sends the ack or the sync that is due. */
  public void timerFired(long nowNanos) {
    if (ackDueAtNanos != NOT_DUE && nowNanos - ackDueAtNanos >= 0) {
      flushAck();
    }
    if (syncPaused && nowNanos - syncResumeAtNanos >= 0) {
      syncPaused = false;
      maybeSync(nowNanos);
    }
  }

  /** Acknowledges the last seq applied now, if it is not yet and the connection is up. */
  public void flushAck() {
    ackDueAtNanos = NOT_DUE;
    long lastSeq = sequencer.lastSeq();
    if (lastSeq > ackedSeq && connected) {
      host.publish(new DeviceRequest(requestIds.get(), DeviceRequestBody.ack(new Ack(lastSeq))));
      ackedSeq = lastSeq;
      unacked = 0;
    }
  }

  // ------------------------------------------------------------------------------------------
  // What the device may ask
  // ------------------------------------------------------------------------------------------

  /**
   * The last seq applied (delta or snapshot): the seq to resume from. Unlike {@link #lastSeq()} it
   * stays put while a snapshot is awaited. Readable from any thread.
   */
  public long lastApplied() {
    return lastApplied;
  }

  /** The position: the last seq applied, or -1 while a snapshot is awaited. */
  public long lastSeq() {
    return sequencer.lastSeq();
  }

  /** The newest seq the server said it knows. */
  public long headSeq() {
    return headSeq;
  }

  /** Deltas received again and dropped. */
  public long duplicatesDropped() {
    return sequencer.duplicates();
  }

  /** Gaps detected and asked for. */
  public long gapsRepaired() {
    return gapsRepaired;
  }

  /** Commands sent and not settled yet. */
  public int pendingSends() {
    return sends.size();
  }

  // ------------------------------------------------------------------------------------------
  // Frames
  // ------------------------------------------------------------------------------------------

  private void onBatch(String rid, DeltaBatch b, long nowNanos) {
    boolean answer = rid != null && rid.equals(syncRequestId);
    if (answer) {
      syncRequestId = null;
    }
    headSeq = Math.max(headSeq, b.getHeadSeq());
    headKnown = true;
    sequencer.offer(b.getDeltas());
    if (sequencer.awaitingSnapshot()) {
      return; // the deltas wait for the snapshot
    }
    applyReady(nowNanos);
    if (answer && b.getDeltasSize() == 0 && sequencer.lastSeq() < headSeq && !sequencer.holding()) {
      // The tier that answered holds nothing newer yet (storage behind): ask again shortly.
      pauseSync(EMPTY_ANSWER_PAUSE_NANOS, nowNanos);
      return;
    }
    if (answer || sequencer.holding()) {
      // Catching up: ask for the next page. Live: only a gap is asked for at once; being behind
      // the head of a live batch is normal (the rest of the user's deltas follow in the next
      // batches) and is checked by the tick when it lasts.
      maybeSync(nowNanos);
    }
  }

  private void onSnapshot(String rid, Snapshot s, long nowNanos) {
    CompletableFuture<Snapshot> f = rid == null ? null : snapshots.remove(rid);
    if (sequencer.applySnapshot(s.getSeq())) {
      lastApplied = s.getSeq();
      headSeq = Math.max(headSeq, s.getSeq());
      headKnown = true;
      forceSyncUntil = headSeq;
      host.snapshotApplied(s);
      applyReady(nowNanos);
      maybeSync(nowNanos);
    }
    if (f != null) {
      f.complete(s);
    }
  }

  private void onError(String rid, ServerError e, long nowNanos) {
    if (rid != null && rid.equals(syncRequestId)) {
      pauseSync(SYNC_ERROR_PAUSE_NANOS, nowNanos); // the sync failed: after a pause
      return;
    }
    CompletableFuture<Snapshot> f = rid == null ? null : snapshots.remove(rid);
    if (f != null) {
      f.completeExceptionally(new RejectedException(e.getCode(), e.getMessage()));
      return;
    }
    if (!sends.onError(e)) {
      log.debug("Device {}: error {} {}", device, e.getCode(), e.getMessage());
    }
  }

  private void onResnapshot(String rid, ResnapshotRequired r, long nowNanos) {
    if (rid != null && rid.equals(syncRequestId)) {
      syncRequestId = null;
    }
    headSeq = Math.max(headSeq, r.getHeadSeq());
    headKnown = true;
    if (r.getCatchUpDeltas() < 0 || host.takeSnapshot(r)) {
      sequencer.awaitSnapshot(); // deltas arriving meanwhile wait for the snapshot
      requestSnapshot(
          SNAPSHOT_THREADS, SNAPSHOT_MESSAGES_PER_THREAD, new CompletableFuture<Snapshot>());
    } else {
      syncRequestId = requestIds.get();
      syncPaused = false;
      syncSentAtNanos = nowNanos;
      host.publish(
          new DeviceRequest(
              syncRequestId,
              DeviceRequestBody.sync(
                  new SyncRequest(sequencer.lastSeq())
                      .setMaxDeltas(settings.syncPage())
                      .setForce(true))));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Decisions
  // ------------------------------------------------------------------------------------------

  /** Applies what follows the position, settles the sends it confirms, and schedules the ack. */
  private void applyReady(long nowNanos) {
    List<Delta> applied = new ArrayList<>();
    for (Delta d = sequencer.next(); d != null; d = sequencer.next()) {
      applied.add(d);
      lastApplied = d.getSeq(); // before the send it confirms completes
      sends.confirm(d);
    }
    if (applied.isEmpty()) {
      return;
    }
    headSeq = Math.max(headSeq, sequencer.lastSeq());
    host.deltasApplied(applied);
    unacked += applied.size();
    if (unacked >= settings.ackEvery()) {
      flushAck();
    } else if (ackDueAtNanos == NOT_DUE) {
      long delay = settings.ackDelay().toNanos();
      ackDueAtNanos = nowNanos + delay;
      host.wakeAfter(delay);
    }
  }

  private boolean syncOut() {
    return syncRequestId != null || syncPaused;
  }

  /** Asks for the next range if something is missing and no request is out. */
  private void maybeSync(long nowNanos) {
    if (syncOut() || sequencer.awaitingSnapshot()) {
      return;
    }
    if (sequencer.holding()) {
      gapsRepaired++;
      requestSync(sequencer.gapEnd(), nowNanos);
    } else if (!headKnown || sequencer.lastSeq() < headSeq) {
      requestSync(0, nowNanos);
    }
  }

  /** Deltas after the position up to {@code toSeq} (0: the head). */
  private void requestSync(long toSeq, long nowNanos) {
    long lastSeq = sequencer.lastSeq();
    syncRequestId = requestIds.get();
    syncPaused = false;
    syncSentAtNanos = nowNanos;
    host.publish(
        new DeviceRequest(
            syncRequestId,
            DeviceRequestBody.sync(
                new SyncRequest(Math.max(0, lastSeq))
                    .setToSeq(toSeq)
                    .setMaxDeltas(settings.syncPage())
                    .setForce(lastSeq < forceSyncUntil))));
  }

  /** Holds off sync requests for {@code delayNanos}, then asks again if still needed. */
  private void pauseSync(long delayNanos, long nowNanos) {
    syncRequestId = null;
    syncPaused = true;
    syncSentAtNanos = nowNanos;
    syncResumeAtNanos = nowNanos + delayNanos;
    host.wakeAfter(delayNanos);
  }

  private void transmit(PendingSends.PendingSend p, long nowNanos) {
    PendingSends.sent(p, nowNanos);
    host.publish(new DeviceRequest(p.command.getClientId(), DeviceRequestBody.command(p.command)));
  }
}
