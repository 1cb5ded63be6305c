package io.iris.sdk.internals;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.DeliveredMark;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice.Position;
import io.iris.sdk.IrisDevice.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>The device's position is {@code (epoch, lastPos)}: it holds every delta of its user with a
 * position up to {@code lastPos} in the log named by {@code epoch}. {@code lastPos} is a watermark,
 * not necessarily the position of a delta; -1 holds nothing. Positions are offsets in iris.log:
 * they only grow and are not contiguous, so a gap is recognised by a delta's {@code prevPos}, never
 * by counting.
 *
 * <p>Not thread-safe: the device calls it from one thread. Only {@link #applied()} may be read from
 * any thread. Times are {@link System#nanoTime()}-style: only their differences count.
 *
 * <p>Internal to the SDK; not part of its API.
 */
public final class SyncStateMachine {
  private static final Logger log = LoggerFactory.getLogger(SyncStateMachine.class);

  /** A sync answer not seen after this long is taken as lost, and asked for again. */
  static final long SYNC_ANSWER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * An answer that moved nothing while the device is still behind (the tier is catching up): ask
   * again after this pause.
   */
  static final long EMPTY_ANSWER_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  /** A sync answered with an error (e.g. storage unavailable): ask again after this pause. */
  static final long SYNC_ERROR_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The snapshot asked for when the device has no position: threads, and messages per thread. */
  static final int SNAPSHOT_THREADS = 20;

  static final int SNAPSHOT_MESSAGES_PER_THREAD = 20;

  /** Epochs left behind that are remembered, to ignore their late frames. */
  private static final int LEFT_EPOCHS_KEPT = 16;

  /** Sync and ack request ids remembered with their epoch, to read a RESNAPSHOT_REQUIRED answer. */
  private static final int REQUEST_EPOCHS_KEPT = 64;

  /** Delivered marks per Ack at most (Ack.delivered); the bridge ignores the rest. */
  static final int MAX_DELIVERED_MARKS = 64;

  /**
   * Acks whose marks wait for the server to confirm their arrival at most; beyond, the oldest are
   * taken as arrived (a host that never reports arrivals would keep them all until a reconnect).
   */
  private static final int MARKS_OUT_KEPT = 16;

  private static final long NOT_DUE = Long.MIN_VALUE;

  private static final long NOTHING_TO_ASK = Long.MIN_VALUE;

  /** A snapshot request: its place in the order asked, and who waits for the answer. */
  private record AskedSnapshot(long order, CompletableFuture<Snapshot> result) {}

  /**
   * @param resendAfter how long a send waits for an answer before it goes out again the first time
   *     (then twice as long each time)
   * @param maxResendInterval the longest wait between two resends of one command, and the wait of a
   *     command a bridge accepted
   * @param sendDeadline how long a send is tried before it fails with a TimeoutException
   * @param ackEvery acknowledge after this many applied deltas ...
   * @param ackDelay ... or this long after the first unacknowledged one, whichever comes first
   * @param syncPage deltas asked for per catch-up request
   * @param deliveryReceipts whether acks carry delivered marks (Ack.delivered)
   */
  public record Settings(
      Duration resendAfter,
      Duration maxResendInterval,
      Duration sendDeadline,
      int ackEvery,
      Duration ackDelay,
      int syncPage,
      boolean deliveryReceipts) {}

  /** What the machine needs from the device that runs it. Called on the caller's thread. */
  public interface Host {
    /** Sends this request to the server (QoS 1); dropping it while disconnected is fine. */
    void publish(DeviceRequest request);

    /** Calls {@link #timerFired} once, no earlier than {@code delayNanos} from now. */
    void wakeAfter(long delayNanos);

    /**
     * These deltas were applied: in position order, each once, none of the user's deltas missing
     * between the position before them and the last of them.
     */
    void deltasApplied(List<Delta> deltas);

    /**
     * This snapshot was applied: the user's inbox in {@code snapshot.epoch} as of {@code
     * snapshot.pos}; deltas resume after it.
     */
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

  /** Snapshot requests not answered yet, by request id. */
  private final Map<String, AskedSnapshot> snapshots = new HashMap<>();

  /** The order of the snapshot requests; see {@link #onSnapshot}. */
  private long snapshotsAsked;

  /**
   * Snapshot requests of a lower order are settled: they were asked before the last snapshot was
   * applied, for the same need or an older one. Their answers complete their futures but are not
   * applied.
   */
  private long snapshotsSettled;

  /** The position handed to the app; stays put while a snapshot is awaited. */
  private volatile Position applied;

  /** Epochs this device left for another one's snapshot: their batches are late, and ignored. */
  private final Set<String> leftEpochs = new LinkedHashSet<>();

  /** The epoch each recent sync and ack request was made in. */
  private final Map<String, String> requestEpochs =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > REQUEST_EPOCHS_KEPT;
        }
      };

  /**
   * Whether an answer of this connection to a request without {@code toPos} said, with {@code more
   * == false}, that the device is caught up to the head. Until then the device keeps asking: a
   * first sync refused (UNAVAILABLE, RATE_LIMITED) or lost is asked again.
   */
  private boolean current;

  private boolean connected;

  /**
   * After a snapshot (or a resnapshot offer declined), catch up with {@code force} until current: a
   * snapshot is built from MySQL, which may be behind the log, and the range between them must come
   * as deltas, not as another offer to resnapshot.
   */
  private boolean forceUntilCurrent;

  // The sync request out (its id and body), or a pause before asking again; either blocks a new
  // request.
  private String syncRequestId;
  private SyncRequest syncRequest;
  private boolean syncPaused;
  private long syncResumeAtNanos;
  private long syncSentAtNanos;

  private String ackedEpoch;
  private long ackedPos;
  private int unacked;
  private long ackDueAtNanos = NOT_DUE;

  /**
   * Per thread, the highest id of other users' messages applied and not sent in an Ack yet, in the
   * order the threads first had one: the marks of the next Ack (the first {@link
   * #MAX_DELIVERED_MARKS}).
   */
  private final Map<Long, Long> marksToSend = new LinkedHashMap<>();

  /**
   * The marks of Acks sent on this connection whose arrival the server has not confirmed ({@link
   * #requestArrived}), by request id: on a lost connection they go back to {@link #marksToSend}, to
   * be sent again with a later Ack (the server keeps the highest mark: a repeat changes nothing).
   */
  private final Map<String, List<DeliveredMark>> marksOut =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, List<DeliveredMark>> eldest) {
          return size() > MARKS_OUT_KEPT;
        }
      };

  private long gapsRepaired;
  private long unknownKindsSkipped;
  private long unknownFramesSkipped;

  /**
   * @param device names the device in logs
   * @param epoch the epoch of {@code lastPos}; null: no position, a snapshot comes first
   * @param lastPos the device held every delta up to this position before (-1: none of {@code
   *     epoch}); must be -1 without an epoch
   * @param requestIds a fresh id per request (sync, snapshot, ack)
   */
  public SyncStateMachine(
      String device,
      Settings settings,
      String epoch,
      long lastPos,
      Host host,
      Supplier<String> requestIds) {
    if (lastPos < -1 || (epoch == null && lastPos != -1)) {
      throw new IllegalArgumentException(
          "a position needs its epoch, and is -1 or more: " + epoch + "/" + lastPos);
    }
    this.device = device;
    this.settings = settings;
    this.host = host;
    this.requestIds = requestIds;
    this.sequencer = new DeltaSequencer(epoch, lastPos);
    this.sends =
        new PendingSends(
            settings.resendAfter(), settings.maxResendInterval(), settings.sendDeadline());
    this.applied = new Position(epoch, lastPos);
    this.ackedEpoch = epoch;
    this.ackedPos = lastPos;
  }

  // ------------------------------------------------------------------------------------------
  // What the device tells the machine
  // ------------------------------------------------------------------------------------------

  /**
   * The connection is up (first time or again), or about to be: send again every command no bridge
   * has accepted yet, in the order first sent, then ask for what was missed after the position (or
   * for a snapshot when there is none).
   *
   * <p>The commands go first: the device sends all of this in one flight with its CONNECT, before
   * the CONNACK, and a command in that flight reaches Kafka without waiting behind a catch-up that
   * may take a while to answer; its confirming delta then comes with the catch-up or by push.
   */
  public void connected(long nowNanos) {
    connected = true;
    current = false;
    for (PendingSends.PendingSend p : sends.toResendOnConnect()) {
      transmit(p, nowNanos);
    }
    if (sequencer.awaitingSnapshot()) {
      requestSnapshot(
          SNAPSHOT_THREADS, SNAPSHOT_MESSAGES_PER_THREAD, new CompletableFuture<Snapshot>());
    } else {
      requestSync(-1, nowNanos);
    }
  }

  /**
   * The connection is down: the sync answer awaited will not come, and the Acks not known to have
   * arrived may be lost: their marks go with a later Ack.
   */
  public void connectionLost() {
    connected = false;
    syncRequestId = null;
    syncPaused = false;
    if (!marksOut.isEmpty()) {
      Map<Long, Long> again = new LinkedHashMap<>();
      for (List<DeliveredMark> marks : marksOut.values()) {
        for (DeliveredMark m : marks) {
          again.merge(m.getThreadId(), m.getUpToMessageId(), Math::max);
        }
      }
      marksOut.clear();
      marksToSend.forEach((thread, upTo) -> again.merge(thread, upTo, Math::max));
      marksToSend.clear();
      marksToSend.putAll(again); // the marks sent before go first, as they did
    }
  }

  /**
   * The server received this request (its PUBACK came): the marks of an Ack with this id are
   * delivered to the bridge and not sent again.
   */
  public void requestArrived(String requestId) {
    marksOut.remove(requestId);
  }

  /**
   * A frame from the server. Typing events are not the machine's (the device hands them to the app
   * itself); a body this SDK does not know is skipped.
   */
  public void onFrame(ServerFrame f, long nowNanos) {
    if (f.getBody().getSetField() == null) {
      unknownFramesSkipped++;
      return; // a frame type newer than this SDK: skipped, as the protocol asks
    }
    String rid = f.isSetRequestId() ? f.getRequestId() : null;
    switch (f.getBody().getSetField()) {
      case DELTAS -> onBatch(rid, f.getBody().getDeltas(), nowNanos);
      case SEND_RESULT -> sends.onSendResult(f.getBody().getSendResult(), nowNanos);
      case SNAPSHOT -> onSnapshot(rid, f.getBody().getSnapshot(), nowNanos);
      case ERROR -> onError(rid, f.getBody().getError(), nowNanos);
      case RESNAPSHOT_REQUIRED -> onResnapshot(rid, f.getBody().getResnapshotRequired(), nowNanos);
      case TYPING, REDIRECT -> {
        // the transport's: relayed to the app, or a reconnect elsewhere; no state here
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
    snapshots.put(id, new AskedSnapshot(snapshotsAsked++, result));
    host.publish(
        new DeviceRequest(
            id,
            DeviceRequestBody.snapshot(
                new SnapshotRequest()
                    .setMaxThreads(maxThreads)
                    .setMessagesPerThread(messagesPerThread))));
  }

  /**
   * Housekeeping, about every 250 ms: fail expired sends, repeat the ones due while connected, and
   * ask again for a sync answer that was lost.
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

  /**
   * Acknowledges the position, {@code Ack(lastPos, epoch)}, if it is not yet and the connection is
   * up. Nothing while a snapshot is awaited, nor for a position of -1 (nothing held).
   */
  public void flushAck() {
    ackDueAtNanos = NOT_DUE;
    String epoch = sequencer.epoch();
    long lastPos = sequencer.lastPos();
    if (epoch != null
        && lastPos >= 0
        && connected
        && (!epoch.equals(ackedEpoch) || lastPos > ackedPos)) {
      String id = requestIds.get();
      requestEpochs.put(id, epoch);
      Ack ack = new Ack(lastPos, epoch);
      List<DeliveredMark> marks = takeMarks();
      if (!marks.isEmpty()) {
        ack.setDelivered(marks);
        marksOut.put(id, marks);
      }
      host.publish(new DeviceRequest(id, DeviceRequestBody.ack(ack)));
      ackedEpoch = epoch;
      ackedPos = lastPos;
      unacked = 0;
    }
  }

  /** The first {@link #MAX_DELIVERED_MARKS} marks to send, taken out; the rest wait. */
  private List<DeliveredMark> takeMarks() {
    List<DeliveredMark> out = new ArrayList<>(Math.min(marksToSend.size(), MAX_DELIVERED_MARKS));
    var it = marksToSend.entrySet().iterator();
    while (it.hasNext() && out.size() < MAX_DELIVERED_MARKS) {
      Map.Entry<Long, Long> e = it.next();
      out.add(new DeliveredMark(e.getKey(), e.getValue()));
      it.remove();
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // What the device may ask
  // ------------------------------------------------------------------------------------------

  /**
   * The position handed to the app (deltas, snapshot, or a batch's {@code throughPos}): the
   * position to resume from. Unlike {@link #lastPos()} and {@link #epoch()} it stays put while a
   * snapshot is awaited. Readable from any thread.
   */
  public Position applied() {
    return applied;
  }

  /** The watermark: every delta up to it is held; -1 while a snapshot is awaited (or none held). */
  public long lastPos() {
    return sequencer.lastPos();
  }

  /** The epoch of {@link #lastPos()}; null while a snapshot is awaited. */
  public String epoch() {
    return sequencer.epoch();
  }

  /** Whether an answer of this connection said the device is caught up to the head. */
  public boolean current() {
    return current;
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

  /** Threads whose delivered mark waits for an Ack (not sent, or sent and maybe lost). */
  public int deliveredMarksWaiting() {
    return marksToSend.size();
  }

  // ------------------------------------------------------------------------------------------
  // Frames
  // ------------------------------------------------------------------------------------------

  private void onBatch(String rid, DeltaBatch b, long nowNanos) {
    boolean answer = rid != null && rid.equals(syncRequestId);
    SyncRequest asked = answer ? syncRequest : null;
    if (answer) {
      syncRequestId = null;
    }
    String epoch = b.getEpoch();
    if (epoch == null || leftEpochs.contains(epoch)) {
      log.debug("Device {}: dropped a batch of epoch {}, left before", device, epoch);
      if (answer) {
        maybeSync(nowNanos);
      }
      return;
    }
    List<Delta> deltas = new ArrayList<>(b.getDeltasSize());
    for (Delta d : b.getDeltas()) {
      if (d.isSetPos() && d.isSetPrevPos()) {
        deltas.add(d);
      } else {
        log.warn("Device {}: dropped a delta without pos or prevPos: {}", device, d);
      }
    }
    if (sequencer.awaitingSnapshot()) {
      sequencer.offer(epoch, deltas); // the deltas wait for the snapshot
      return;
    }
    if (!epoch.equals(sequencer.epoch())) {
      log.info(
          "Device {}: a batch of epoch {}, not {}: taking a new snapshot",
          device,
          epoch,
          sequencer.epoch());
      mustResnapshot();
      return;
    }
    long before = sequencer.lastPos();
    sequencer.offer(epoch, deltas);
    List<Delta> done = applyReady();
    boolean allApplied = true;
    for (Delta d : deltas) {
      allApplied &= !sequencer.isHeld(d.getPos());
    }
    // throughPos counts only where the batch joins what the device holds: an answer to a request
    // after a position it held, or a batch whose deltas all applied (an empty push joins nothing).
    boolean joined =
        allApplied
            && (answer
                ? asked.getEpoch().equals(epoch) && asked.getAfterPos() <= before
                : !deltas.isEmpty());
    if (joined && sequencer.advanceTo(b.getThroughPos())) {
      moved();
      done.addAll(applyReady());
    }
    handOver(done, sequencer.lastPos() > before, nowNanos);
    if (answer) {
      long askedTo = asked.isSetToPos() && asked.getToPos() >= 0 ? asked.getToPos() : -1;
      if (askedTo < 0 && joined && !b.isMore()) {
        current = true; // a complete answer up to the head
      }
      if (current && !sequencer.holding()) {
        forceUntilCurrent = false;
      }
      if (sequencer.lastPos() == asked.getAfterPos() && nextAsk() == askedTo) {
        // The next request would repeat this one, which moved nothing (the tier that answered
        // holds nothing newer yet): ask again after a pause.
        pauseSync(EMPTY_ANSWER_PAUSE_NANOS, nowNanos);
        return;
      }
    }
    if (answer || sequencer.holding()) {
      // Catching up: ask for the next page. Live: only a gap is asked for at once.
      maybeSync(nowNanos);
    }
  }

  /**
   * A snapshot is applied when it answers a request of this device made after the last snapshot was
   * applied, and is not older than the position in the same epoch. A device cannot tell which of
   * two epochs is the newer, so the order of its own requests decides: a late answer to an earlier
   * request could otherwise take it back to a replaced log, whose successor's batches it would then
   * ignore as late. Requests asked again for the same need (after a reconnect) are all settled by
   * the first answer applied: one need, one snapshot. A snapshot answering nothing asked (a
   * duplicate) is not applied. An asked snapshot completes its future either way.
   */
  private void onSnapshot(String rid, Snapshot s, long nowNanos) {
    AskedSnapshot asked = rid == null ? null : snapshots.remove(rid);
    String epoch = s.getEpoch();
    if (asked != null
        && asked.order >= snapshotsSettled
        && epoch != null
        && sequencer.applySnapshot(epoch, s.getPos())) {
      snapshotsSettled = snapshotsAsked;
      String before = applied.epoch();
      if (before != null && !before.equals(epoch)) {
        leave(before);
      }
      leftEpochs.remove(epoch);
      if (syncRequestId != null && !epoch.equals(syncRequest.getEpoch())) {
        syncRequestId = null; // asked in another epoch: its answer no longer counts
      }
      current = false;
      forceUntilCurrent = true;
      applied = new Position(epoch, s.getPos());
      moved();
      host.snapshotApplied(s);
      handOver(applyReady(), true, nowNanos);
      maybeSync(nowNanos);
    }
    if (asked != null) {
      asked.result.complete(s);
    }
  }

  private void onError(String rid, ServerError e, long nowNanos) {
    boolean sync = rid != null && rid.equals(syncRequestId);
    String askedIn = rid == null ? null : requestEpochs.get(rid);
    if (e.getCode() == ErrorCode.RESNAPSHOT_REQUIRED && askedIn != null) {
      // A position of another epoch than the server's: only a snapshot helps.
      if (sync) {
        syncRequestId = null;
      }
      if (askedIn.equals(sequencer.epoch())) {
        log.info("Device {}: epoch {} is not the server's: taking a new snapshot", device, askedIn);
        mustResnapshot();
      } else if (sync) {
        maybeSync(nowNanos);
      }
      return;
    }
    if (sync) {
      // The sync failed: ask again after the pause the server names, else after our own.
      pauseSync(
          e.isSetRetryAfterMs()
              ? TimeUnit.MILLISECONDS.toNanos(Math.max(1, e.getRetryAfterMs()))
              : SYNC_ERROR_PAUSE_NANOS,
          nowNanos);
      return;
    }
    AskedSnapshot asked = rid == null ? null : snapshots.remove(rid);
    if (asked != null) {
      asked.result.completeExceptionally(new RejectedException(e.getCode(), e.getMessage()));
      return;
    }
    if (!sends.onError(e)) {
      log.debug("Device {}: error {} {}", device, e.getCode(), e.getMessage());
    }
  }

  /**
   * An offer to resnapshot answers one sync request; only the answer to the request out counts. A
   * late answer to an earlier one (asked again after {@link #SYNC_ANSWER_TIMEOUT_NANOS}, or before
   * a reconnect) speaks of a position the device may have left already, e.g. for the snapshot the
   * first answer asked for: acting on it took a second and a third snapshot.
   */
  private void onResnapshot(String rid, ResnapshotRequired r, long nowNanos) {
    if (rid == null || !rid.equals(syncRequestId)) {
      log.debug(
          "Device {}: ignored an offer to resnapshot after {} answering {}, not the request out",
          device,
          r.getAfterPos(),
          rid);
      return;
    }
    syncRequestId = null;
    if (sequencer.awaitingSnapshot()) {
      return; // a snapshot is on its way already
    }
    if (r.getCatchUpDeltas() < 0) {
      log.info(
          "Device {}: no tier holds the deltas after {} any more: taking a new snapshot",
          device,
          r.getAfterPos());
      mustResnapshot();
    } else if (host.takeSnapshot(r)) {
      log.info(
          "Device {}: {} deltas behind after {}: taking a new snapshot",
          device,
          r.getCatchUpDeltas(),
          r.getAfterPos());
      mustResnapshot();
    } else {
      // Deltas it is, with force until current (or every page would be offered again).
      forceUntilCurrent = true;
      syncRequestId = null;
      syncPaused = false;
      maybeSync(nowNanos);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Decisions
  // ------------------------------------------------------------------------------------------

  /**
   * Applies what can be applied after the position, one delta at a time: the position the app sees
   * moves to a delta before the send it confirms completes. A delta of a kind this SDK does not
   * know (a newer server's; its body reads as an empty union) moves the position like any other and
   * is not handed to the app (docs/PROTOCOL.md, "Frames").
   */
  private List<Delta> applyReady() {
    List<Delta> out = new ArrayList<>();
    for (Delta d = sequencer.next(); d != null; d = sequencer.next()) {
      moved();
      if (d.getBody() == null || d.getBody().getSetField() == null) {
        unknownKindsSkipped++;
        continue;
      }
      out.add(d);
      sends.confirm(d);
      noteDelivered(d);
    }
    return out;
  }

  /**
   * An applied message of another user raises its thread's delivered mark. Only deltas count, live
   * or caught up; a snapshot delivers nothing (docs/PROTOCOL.md, "Delivery receipts"). The device's
   * own user's messages are not receipts: their sender is this user.
   */
  private void noteDelivered(Delta d) {
    if (settings.deliveryReceipts() && d.getBody().isSetNewMessage()) {
      NewMessage m = d.getBody().getNewMessage();
      if (m.getSenderUserId() != d.getUserId()) {
        marksToSend.merge(d.getThreadId(), m.getMessageId(), Math::max);
      }
    }
  }

  /** Frames of a kind this SDK does not know, skipped. */
  public long unknownFramesSkipped() {
    return unknownFramesSkipped;
  }

  /** Deltas of a kind this SDK does not know, skipped (their positions applied). */
  public long unknownKindsSkipped() {
    return unknownKindsSkipped;
  }

  /** Hands applied deltas to the app and schedules the ack of a position that moved. */
  private void handOver(List<Delta> deltas, boolean positionMoved, long nowNanos) {
    if (!deltas.isEmpty()) {
      host.deltasApplied(deltas);
    }
    if (!positionMoved) {
      return;
    }
    unacked += deltas.size();
    if (unacked >= settings.ackEvery()) {
      flushAck();
    } else if (ackDueAtNanos == NOT_DUE) {
      long delay = settings.ackDelay().toNanos();
      ackDueAtNanos = nowNanos + delay;
      host.wakeAfter(delay);
    }
  }

  /** The position moved: publish it for {@link #applied()}. */
  private void moved() {
    applied = new Position(sequencer.epoch(), sequencer.lastPos());
  }

  /** Forgets the position and asks for a snapshot; deltas arriving meanwhile wait for it. */
  private void mustResnapshot() {
    sequencer.awaitSnapshot();
    syncRequestId = null;
    syncPaused = false;
    requestSnapshot(
        SNAPSHOT_THREADS, SNAPSHOT_MESSAGES_PER_THREAD, new CompletableFuture<Snapshot>());
  }

  private void leave(String epoch) {
    leftEpochs.add(epoch);
    if (leftEpochs.size() > LEFT_EPOCHS_KEPT) {
      leftEpochs.remove(leftEpochs.iterator().next());
    }
  }

  private boolean syncOut() {
    return syncRequestId != null || syncPaused;
  }

  /**
   * Asks for what is missing if no request is out: first the gap before a held delta, {@code
   * (lastPos, prevPos]}; else, until current, everything after the position.
   */
  private void maybeSync(long nowNanos) {
    if (syncOut() || sequencer.awaitingSnapshot()) {
      return;
    }
    long to = nextAsk();
    if (to == NOTHING_TO_ASK) {
      return;
    }
    if (to >= 0) {
      gapsRepaired++;
    }
    requestSync(to, nowNanos);
  }

  /**
   * The {@code toPos} of the request the device needs next from its position: the end of the gap
   * before the first held delta; -1 (the head) while not current; else {@link #NOTHING_TO_ASK}.
   */
  private long nextAsk() {
    if (sequencer.awaitingSnapshot()) {
      return NOTHING_TO_ASK;
    }
    if (sequencer.holding()) {
      return sequencer.gapEnd();
    }
    return current ? NOTHING_TO_ASK : -1;
  }

  /** Deltas after the position up to {@code toPos} (-1: the head; then toPos is not sent). */
  private void requestSync(long toPos, long nowNanos) {
    SyncRequest r =
        new SyncRequest(sequencer.epoch(), sequencer.lastPos())
            .setMaxDeltas(settings.syncPage())
            .setForce(forceUntilCurrent);
    if (toPos >= 0) {
      r.setToPos(toPos);
    }
    syncRequestId = requestIds.get();
    syncRequest = r;
    syncPaused = false;
    syncSentAtNanos = nowNanos;
    requestEpochs.put(syncRequestId, r.getEpoch());
    host.publish(new DeviceRequest(syncRequestId, DeviceRequestBody.sync(r.deepCopy())));
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
