package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.SendResult;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class SyncStateMachineTest {
  private static final long USER = 7;
  private static final long OTHER_USER = 8;
  private static final long THREAD = 100;
  private static final long MS = 1_000_000L;
  private static final long SECOND = 1_000 * MS;
  private static final SyncStateMachine.Settings SETTINGS =
      new SyncStateMachine.Settings(
          Duration.ofSeconds(5), Duration.ofMinutes(2), 50, Duration.ofMillis(200), 500);

  private final RecordingHost host = new RecordingHost();
  private int requests;
  private long now = 42 * SECOND; // any origin: only differences count

  private SyncStateMachine machine(long lastSeq) {
    return new SyncStateMachine("7/phone", SETTINGS, lastSeq, host, () -> "r" + ++requests);
  }

  /** Connected at {@code lastSeq}, its first sync answered with nothing newer: live. */
  private SyncStateMachine live(long lastSeq) {
    SyncStateMachine m = machine(lastSeq);
    m.connected(now);
    m.onFrame(answer(host.lastSyncId(), lastSeq), now);
    host.clear();
    return m;
  }

  // --- frames ------------------------------------------------------------------------------

  private static Delta message(long seq) {
    return delta(seq, DeltaBody.newMessage(new NewMessage(seq, OTHER_USER, "m" + seq)));
  }

  private static Delta own(long seq, String clientId) {
    return delta(
        seq, DeltaBody.newMessage(new NewMessage(seq, USER, "mine").setClientId(clientId)));
  }

  private static Delta delta(long seq, DeltaBody body) {
    return new Delta(USER, seq, seq - 1, THREAD, 0, body);
  }

  private static Delta[] messages(long from, long to) {
    return LongStream.rangeClosed(from, to)
        .mapToObj(SyncStateMachineTest::message)
        .toArray(Delta[]::new);
  }

  /** Deltas pushed live: no request id. */
  private static ServerFrame push(long headSeq, Delta... deltas) {
    return new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(deltas), headSeq)));
  }

  /** The answer to a sync request. */
  private static ServerFrame answer(String requestId, long headSeq, Delta... deltas) {
    return push(headSeq, deltas).setRequestId(requestId);
  }

  private static ServerFrame snapshot(String requestId, long seq) {
    return new ServerFrame(ServerFrameBody.snapshot(new Snapshot(USER, seq, List.of(), 0)))
        .setRequestId(requestId);
  }

  private static ServerFrame resnapshot(String requestId, long after, long head, long deltas) {
    return new ServerFrame(
            ServerFrameBody.resnapshotRequired(
                new ResnapshotRequired(after, head, deltas, deltas * 100, 20_000)))
        .setRequestId(requestId);
  }

  private static ServerFrame error(String requestId, ErrorCode code) {
    return new ServerFrame(ServerFrameBody.error(new ServerError(code, "because")))
        .setRequestId(requestId);
  }

  private static ServerFrame commandError(String clientId, ErrorCode code) {
    return new ServerFrame(
            ServerFrameBody.error(new ServerError(code, "because").setClientId(clientId)))
        .setRequestId(clientId);
  }

  private static ServerFrame sendResult(String clientId, boolean accepted, ErrorCode code) {
    SendResult r = new SendResult(clientId, accepted);
    if (code != null) {
      r.setError(new ServerError(code, "because"));
    }
    return new ServerFrame(ServerFrameBody.sendResult(r)).setRequestId(clientId);
  }

  private static DeviceCommand command(String clientId) {
    return new DeviceCommand(clientId, THREAD, CommandBody.sendMessage(new SendMessage("hi")));
  }

  private CompletableFuture<Delta> send(SyncStateMachine m, String clientId) {
    CompletableFuture<Delta> f = new CompletableFuture<>();
    m.send(command(clientId), f, now, now);
    return f;
  }

  private static Throwable failure(CompletableFuture<?> f) {
    assertTrue(f.isCompletedExceptionally(), "failed");
    try {
      f.get();
      throw new AssertionError("not failed");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static SyncRequest sync(long afterSeq, long toSeq, boolean force) {
    return new SyncRequest(afterSeq).setToSeq(toSeq).setMaxDeltas(500).setForce(force);
  }

  // --- tests -------------------------------------------------------------------------------

  @Nested
  class Deltas {
    @Test
    void shouldApplyInOrderBatchesOnceEachAndMoveLastSeq() {
      SyncStateMachine m = live(10);
      m.onFrame(push(13, messages(11, 13)), now);
      m.onFrame(push(15, messages(14, 15)), now);

      assertEquals(List.of(11L, 12L, 13L, 14L, 15L), host.appliedSeqs());
      assertEquals(2, host.applied.size(), "one call per batch");
      assertEquals(15, m.lastSeq());
      assertEquals(15, m.lastApplied());
      assertEquals(List.of(), host.syncs(), "nothing missing, nothing asked");
    }

    @Test
    void shouldDropDeltasAtOrBelowLastSeqAsDuplicates() {
      SyncStateMachine m = live(10);
      m.onFrame(push(11, message(9), message(10), message(11)), now);
      m.onFrame(push(11, message(11)), now);

      assertEquals(List.of(11L), host.appliedSeqs());
      assertEquals(3, m.duplicatesDropped());
      assertEquals(11, m.lastSeq());
    }

    @Test
    void shouldDropADuplicateOfAHeldDelta() {
      SyncStateMachine m = live(10);
      m.onFrame(push(13, message(13)), now);
      m.onFrame(push(13, message(13)), now);
      m.onFrame(answer(host.lastSyncId(), 13, message(11), message(12)), now);

      assertEquals(List.of(11L, 12L, 13L), host.appliedSeqs());
      assertEquals(1, m.duplicatesDropped());
    }

    @Test
    void shouldHoldADeltaAfterAGapAndAskForExactlyTheMissingRange() {
      SyncStateMachine m = live(10);
      m.onFrame(push(14, message(14)), now);

      assertEquals(List.of(), host.appliedSeqs(), "14 waits for 11..13");
      assertEquals(10, m.lastSeq());
      assertEquals(List.of(sync(10, 13, false)), host.syncs());
      assertEquals(1, m.gapsRepaired());
    }

    @Test
    void shouldApplyTheHeldDeltasWhenACatchUpPageFillsTheGap() {
      SyncStateMachine m = live(10);
      m.onFrame(push(14, message(14)), now);
      m.onFrame(answer(host.lastSyncId(), 14, messages(11, 13)), now);

      assertEquals(List.of(List.of(11L, 12L, 13L, 14L)), seqsPerCall());
      assertEquals(14, m.lastSeq());
      assertEquals(1, host.syncs().size(), "the gap is filled: nothing more to ask");
    }

    @Test
    void shouldAskForANewGapOnlyOnceTheRequestOutIsAnswered() {
      SyncStateMachine m = live(10);
      m.onFrame(push(14, message(14)), now);
      m.onFrame(push(16, message(16)), now);
      assertEquals(1, host.syncs().size(), "a sync request is out: no second one");

      m.onFrame(answer(host.lastSyncId(), 16, messages(11, 13)), now);

      assertEquals(List.of(11L, 12L, 13L, 14L), host.appliedSeqs());
      assertEquals(List.of(sync(10, 13, false), sync(14, 15, false)), host.syncs());
      m.onFrame(answer(host.lastSyncId(), 16, message(15)), now);
      assertEquals(16, m.lastSeq());
    }

    @Test
    void shouldHandTheAppDeltasAfterAGapOnlyOnceEvenWhenTheyArriveTwice() {
      SyncStateMachine m = live(10);
      m.onFrame(push(13, message(13)), now);
      // The repair answer overlaps what was held and what is pushed again meanwhile.
      m.onFrame(answer(host.lastSyncId(), 13, messages(11, 13)), now);
      m.onFrame(push(13, messages(12, 13)), now);

      assertEquals(List.of(11L, 12L, 13L), host.appliedSeqs());
      assertEquals(3, m.duplicatesDropped());
    }

    private List<List<Long>> seqsPerCall() {
      List<List<Long>> out = new ArrayList<>();
      host.applied.forEach(b -> out.add(b.stream().map(Delta::getSeq).toList()));
      return out;
    }
  }

  @Nested
  class CatchUp {
    @Test
    void shouldAskForWhatWasMissedAfterLastSeqOnConnect() {
      SyncStateMachine m = machine(10);
      m.connected(now);

      assertEquals(List.of(sync(10, 0, false)), host.syncs());
      assertEquals(List.of(), host.snapshotRequests());
    }

    @Test
    void shouldAskForTheNextPageWhileTheAnswerIsBelowTheHead() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(answer(host.lastSyncId(), 20, messages(11, 15)), now);

      assertEquals(sync(15, 0, false), host.syncs().get(1));
      m.onFrame(answer(host.lastSyncId(), 20, messages(16, 20)), now);

      assertEquals(20, m.lastSeq());
      assertEquals(2, host.syncs().size(), "at the head: done");
    }

    @Test
    void shouldAskAgainAfterAPauseWhenTheAnswerIsEmptyWhileBehind() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(answer(host.lastSyncId(), 20), now);

      assertEquals(1, host.syncs().size(), "not at once: the tier is catching up");
      assertEquals(List.of(500 * MS), host.wakeups);
      m.timerFired(now + 499 * MS);
      assertEquals(1, host.syncs().size());
      m.timerFired(now + 500 * MS);
      assertEquals(List.of(sync(10, 0, false), sync(10, 0, false)), host.syncs());
    }

    @Test
    void shouldAskAgainAfterAPauseWhenTheSyncIsAnsweredWithAnError() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(error(host.lastSyncId(), ErrorCode.UNAVAILABLE), now);

      assertEquals(List.of(SECOND), host.wakeups);
      m.onFrame(push(12, message(12)), now);
      assertEquals(1, host.syncs().size(), "the pause counts as a request out");
      m.timerFired(now + SECOND);
      assertEquals(sync(10, 11, false), host.syncs().get(1));
    }

    @Test
    void shouldAskAgainWhenTheFirstSyncOfAConnectionIsRefusedBeforeAnyHeadIsKnown() {
      // Found by the state machine's own tests: headSeq starts at 0, so a device at 10 whose first
      // sync was answered UNAVAILABLE (catch-up pool full, MySQL away) never asked again and took
      // itself for current until a live push happened to come.
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(error(host.lastSyncId(), ErrorCode.UNAVAILABLE), now);

      m.timerFired(now + SECOND);

      assertEquals(List.of(sync(10, 0, false), sync(10, 0, false)), host.syncs());
      m.onFrame(answer(host.lastSyncId(), 10), now + SECOND);
      m.timerFired(now + 3 * SECOND);
      m.tick(now + 3 * SECOND);
      assertEquals(2, host.syncs().size(), "current once an answer said so");
    }

    @Test
    void shouldAskAgainWhenASyncAnswerIsNotSeenForTenSeconds() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      String first = host.lastSyncId();
      m.onFrame(push(15, message(11)), now); // live meanwhile: the head is 15

      m.tick(now + 10 * SECOND);
      assertEquals(1, host.syncs().size());
      m.tick(now + 10 * SECOND + MS);
      assertEquals(List.of(sync(10, 0, false), sync(11, 0, false)), host.syncs());
      assertFalse(first.equals(host.lastSyncId()), "a new request id");
    }

    @Test
    void shouldCatchUpWhenBehindALiveBatchForASecondWithoutProgress() {
      SyncStateMachine m = live(10);
      m.onFrame(push(15, message(11)), now);
      assertEquals(List.of(), host.syncs(), "the rest of a live batch normally follows");

      m.tick(now); // notes the progress
      m.tick(now + SECOND);
      assertEquals(List.of(), host.syncs());
      m.tick(now + SECOND + MS);
      assertEquals(List.of(sync(11, 0, false)), host.syncs());
    }

    @Test
    void shouldForgetTheRequestOutWhenTheConnectionIsLostAndAskAgainOnReconnect() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.connectionLost();
      m.tick(now + 20 * SECOND);
      assertEquals(1, host.syncs().size(), "no asking while disconnected");

      m.connected(now + 20 * SECOND);
      assertEquals(List.of(sync(10, 0, false), sync(10, 0, false)), host.syncs());
    }
  }

  @Nested
  class Snapshots {
    @Test
    void shouldAskForASnapshotOnFirstConnectAndNoDeltas() {
      SyncStateMachine m = machine(-1);
      m.connected(now);

      assertEquals(1, host.snapshotRequests().size());
      assertEquals(20, host.snapshotBodies().get(0).getMaxThreads());
      assertEquals(20, host.snapshotBodies().get(0).getMessagesPerThread());
      assertEquals(List.of(), host.syncs());
    }

    @Test
    void shouldApplyTheSnapshotThenOnlyTheDeltasAfterIt() {
      SyncStateMachine m = machine(-1);
      m.connected(now);
      String rid = host.snapshotRequests().get(0).getRequestId();
      // Pushed while the snapshot is on its way: some are already in it.
      m.onFrame(push(42, messages(39, 42)), now);
      assertEquals(List.of(), host.appliedSeqs());

      m.onFrame(snapshot(rid, 40), now);

      assertEquals(1, host.snapshots.size());
      assertEquals(List.of(41L, 42L), host.appliedSeqs());
      assertEquals(42, m.lastSeq());
      m.onFrame(push(43, message(43)), now);
      assertEquals(List.of(41L, 42L, 43L), host.appliedSeqs());
    }

    @Test
    void shouldCatchUpWithForceFromASnapshotToTheHeadItKnew() {
      SyncStateMachine m = machine(-1);
      m.connected(now);
      String rid = host.snapshotRequests().get(0).getRequestId();
      m.onFrame(push(50), now); // the head is 50; the snapshot (from storage) is behind it

      m.onFrame(snapshot(rid, 40), now);
      assertEquals(List.of(sync(40, 0, true)), host.syncs());
      m.onFrame(answer(host.lastSyncId(), 50, messages(41, 45)), now);
      assertEquals(sync(45, 0, true), host.syncs().get(1));
      m.onFrame(answer(host.lastSyncId(), 50, messages(46, 50)), now);
      assertEquals(50, m.lastSeq());

      // Past that head, being behind again earns no force.
      m.onFrame(push(60, message(52)), now);
      assertEquals(sync(50, 51, false), host.syncs().get(2));
    }

    @Test
    void shouldTakeASnapshotWhenTheAppAcceptsTheResnapshotOffer() {
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(resnapshot(host.lastSyncId(), 10, 5000, 4990), now);

      assertEquals(1, host.offers.size());
      assertEquals(4990, host.offers.get(0).getCatchUpDeltas());
      assertEquals(1, host.snapshotRequests().size());
      assertEquals(-1, m.lastSeq(), "the position is the snapshot's, once it comes");
      assertEquals(10, m.lastApplied(), "still the seq to resume from");

      m.onFrame(push(5001, message(5001)), now);
      m.onFrame(snapshot(host.snapshotRequests().get(0).getRequestId(), 5000), now);
      assertEquals(List.of(5001L), host.appliedSeqs());
      assertEquals(5001, m.lastApplied());
    }

    @Test
    void shouldCatchUpByDeltasWithForceWhenTheAppDeclinesTheResnapshotOffer() {
      host.takeSnapshot = false;
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(resnapshot(host.lastSyncId(), 10, 5000, 4990), now);

      assertEquals(1, host.offers.size());
      assertEquals(List.of(), host.snapshotRequests());
      SyncRequest forced = host.syncs().get(1);
      assertEquals(new SyncRequest(10).setMaxDeltas(500).setForce(true), forced);
      m.onFrame(answer(host.lastSyncId(), 5000, messages(11, 510)), now);
      assertEquals(510, m.lastSeq());
    }

    @Test
    void shouldTakeASnapshotWithoutAskingTheAppWhenNoTierHoldsTheRange() {
      host.takeSnapshot = false;
      SyncStateMachine m = machine(10);
      m.connected(now);
      m.onFrame(resnapshot(host.lastSyncId(), 10, 5000, -1), now);

      assertEquals(List.of(), host.offers);
      assertEquals(1, host.snapshotRequests().size());
    }

    @Test
    void shouldCompleteAnAskedSnapshotButNotApplyOneOlderThanThePosition() {
      SyncStateMachine m = live(10);
      CompletableFuture<Snapshot> f = new CompletableFuture<>();
      m.requestSnapshot(5, 3, f);
      assertEquals(5, host.snapshotBodies().get(0).getMaxThreads());

      m.onFrame(snapshot(host.snapshotRequests().get(0).getRequestId(), 9), now);

      assertTrue(f.isDone());
      assertEquals(List.of(), host.snapshots);
      assertEquals(10, m.lastSeq());
    }

    @Test
    void shouldFailAnAskedSnapshotThatIsAnsweredWithAnError() {
      SyncStateMachine m = live(10);
      CompletableFuture<Snapshot> f = new CompletableFuture<>();
      m.requestSnapshot(20, 20, f);

      m.onFrame(error(host.snapshotRequests().get(0).getRequestId(), ErrorCode.UNAVAILABLE), now);

      RejectedException e = assertInstanceOf(RejectedException.class, failure(f));
      assertEquals(ErrorCode.UNAVAILABLE, e.code());
    }
  }

  @Nested
  class Sends {
    @Test
    void shouldSendACommandWithItsClientIdAsTheRequestId() {
      SyncStateMachine m = live(10);
      send(m, "c1");

      assertEquals(List.of(command("c1")), host.commands());
      assertEquals("c1", host.published.get(0).getRequestId());
      assertEquals(1, m.pendingSends());
    }

    @Test
    void shouldCompleteASendWithItsOwnDeltaMatchedByClientId() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> mine = send(m, "c1");
      CompletableFuture<Delta> other = send(m, "c2");

      m.onFrame(push(12, message(11), own(12, "c1")), now);

      assertTrue(mine.isDone());
      assertEquals(own(12, "c1"), mine.join());
      assertFalse(other.isDone());
      assertEquals(1, m.pendingSends());
    }

    @Test
    void shouldHaveAppliedTheConfirmingDeltaWhenTheSendCompletes() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");
      List<Long> seenOnCompletion = new ArrayList<>();
      f.thenRun(() -> seenOnCompletion.add(m.lastApplied()));

      m.onFrame(push(13, own(11, "c1"), message(12), message(13)), now);

      assertEquals(List.of(11L), seenOnCompletion, "lastSeq() is the confirming delta's seq");
      assertEquals(13, m.lastApplied());
    }

    @Test
    void shouldNotTakeAnAcceptedSendResultForTheConfirmation() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");

      m.onFrame(sendResult("c1", true, null), now);

      assertFalse(f.isDone());
      m.tick(now + 5 * SECOND + MS);
      assertEquals(List.of("c1", "c1"), host.commandClientIds(), "still resent until its delta");
    }

    @Test
    void shouldFailASendRefusedByItsOwnCommandRejectedDelta() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");

      m.onFrame(
          push(
              11,
              delta(
                  11,
                  DeltaBody.commandRejected(
                      new CommandRejected("c1", ErrorCode.NOT_A_MEMBER, "not a member")))),
          now);

      RejectedException e = assertInstanceOf(RejectedException.class, failure(f));
      assertEquals(ErrorCode.NOT_A_MEMBER, e.code());
      assertEquals(List.of(11L), host.appliedSeqs(), "the rejection is a delta like any other");
      assertEquals(0, m.pendingSends());
    }

    @Test
    void shouldResendAfterTheTimeoutExactlyOncePerInterval() {
      SyncStateMachine m = live(10);
      long sentAt = now;
      send(m, "c1");
      List<Long> resentAt = new ArrayList<>();
      for (long t = sentAt; t <= sentAt + 12 * SECOND; t += 250 * MS) {
        int before = host.commands().size();
        m.tick(t);
        if (host.commands().size() > before) {
          resentAt.add((t - sentAt) / MS);
        }
      }

      // 5 s after it went out, at the first tick past it; then 5 s after that resend.
      assertEquals(List.of(5_250L, 10_500L), resentAt);
      assertEquals(List.of("c1", "c1", "c1"), host.commandClientIds(), "the same client id");
    }

    @Test
    void shouldNotResendWhileDisconnectedButResendEveryPendingSendOnReconnect() {
      SyncStateMachine m = live(10);
      send(m, "c1");
      send(m, "c2");
      m.connectionLost();
      m.tick(now + 30 * SECOND);
      assertEquals(List.of("c1", "c2"), host.commandClientIds());

      host.clear();
      m.connected(now + 30 * SECOND);

      assertEquals(List.of(sync(10, 0, false)), host.syncs(), "the catch-up first");
      assertEquals(List.of("c1", "c2"), host.commandClientIds(), "then every send, in order");
    }

    @Test
    void shouldResendOnReconnectEvenBeforeTheResendTimeout() {
      SyncStateMachine m = live(10);
      send(m, "c1");
      m.connectionLost();
      m.connected(now + 100 * MS);
      m.tick(now + 5 * SECOND);

      assertEquals(List.of("c1", "c1"), host.commandClientIds());
      m.tick(now + 100 * MS + 5 * SECOND + MS);
      assertEquals(3, host.commands().size(), "the reconnect resend restarts the interval");
    }

    @Test
    void shouldRetryARateLimitedSendAfterResendAfterNotAtOnce() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");

      m.onFrame(sendResult("c1", false, ErrorCode.RATE_LIMITED), now + 10 * MS);
      assertFalse(f.isDone(), "rate limited is not a refusal");
      m.tick(now + 5 * SECOND);
      assertEquals(1, host.commands().size(), "not before resendAfter since it went out");
      m.tick(now + 5 * SECOND + MS);
      assertEquals(List.of("c1", "c1"), host.commandClientIds());
    }

    @Test
    void shouldRetryASendAnsweredWithAnUnavailableError() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");

      m.onFrame(commandError("c1", ErrorCode.UNAVAILABLE), now);
      m.tick(now + 5 * SECOND + MS);

      assertFalse(f.isDone());
      assertEquals(List.of("c1", "c1"), host.commandClientIds());
    }

    @Test
    void shouldFailASendRefusedForGoodAndNotResendIt() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> byResult = send(m, "c1");
      CompletableFuture<Delta> byError = send(m, "c2");

      m.onFrame(sendResult("c1", false, ErrorCode.INVALID_ARGUMENT), now);
      m.onFrame(commandError("c2", ErrorCode.MESSAGE_TOO_LARGE), now);
      m.tick(now + 6 * SECOND);

      assertEquals(
          ErrorCode.INVALID_ARGUMENT,
          assertInstanceOf(RejectedException.class, failure(byResult)).code());
      assertEquals(
          ErrorCode.MESSAGE_TOO_LARGE,
          assertInstanceOf(RejectedException.class, failure(byError)).code());
      assertEquals(List.of("c1", "c2"), host.commandClientIds(), "not sent again");
      assertEquals(0, m.pendingSends());
    }

    @Test
    void shouldFailASendNotConfirmedBeforeItsDeadline() {
      SyncStateMachine m = live(10);
      CompletableFuture<Delta> f = send(m, "c1");
      for (long t = now; t <= now + 2 * 60 * SECOND; t += 250 * MS) {
        m.tick(t);
      }
      assertFalse(f.isDone(), "the deadline itself is still in time");

      m.tick(now + 2 * 60 * SECOND + MS);

      Throwable e = assertInstanceOf(TimeoutException.class, failure(f));
      // Sent, then again every 5.25 s (the first 250 ms tick past 5 s): 22 times in 2 minutes.
      assertEquals("not confirmed after 23 attempts in PT2M", e.getMessage());
      assertEquals(0, m.pendingSends());
    }
  }

  @Nested
  class Acks {
    @Test
    void shouldAckTheLastSeqAckDelayAfterTheFirstUnackedDelta() {
      SyncStateMachine m = live(10);
      m.onFrame(push(12, messages(11, 12)), now);
      m.onFrame(push(13, message(13)), now + 50 * MS);

      assertEquals(List.of(200 * MS), host.wakeups, "one timer for the batch of acks");
      m.timerFired(now + 199 * MS);
      assertEquals(List.of(), host.acks());
      m.timerFired(now + 200 * MS);
      assertEquals(List.of(13L), host.acks());
      m.timerFired(now + 400 * MS);
      assertEquals(List.of(13L), host.acks(), "nothing new: no second ack");
    }

    @Test
    void shouldAckAtOnceAfterAckEveryDeltas() {
      SyncStateMachine m = live(10);
      m.onFrame(push(59, messages(11, 59)), now);
      assertEquals(List.of(), host.acks());

      m.onFrame(push(60, message(60)), now);

      assertEquals(List.of(60L), host.acks());
      m.timerFired(now + SECOND); // the timer armed for 11..59 finds nothing left
      assertEquals(List.of(60L), host.acks());
    }

    @Test
    void shouldAckOnFlushOnlyWhatIsNotAckedYet() {
      SyncStateMachine m = live(10);
      m.flushAck();
      assertEquals(List.of(), host.acks(), "10 was applied before: nothing to ack");

      m.onFrame(push(11, message(11)), now);
      m.flushAck();
      m.flushAck();

      assertEquals(List.of(11L), host.acks(), "once");
    }

    @Test
    void shouldNotAckWhileDisconnected() {
      SyncStateMachine m = live(10);
      m.onFrame(push(11, message(11)), now);
      m.connectionLost();
      m.timerFired(now + SECOND);
      assertEquals(List.of(), host.acks());

      m.connected(now + 2 * SECOND);
      m.onFrame(push(12, message(12)), now + 2 * SECOND);
      m.timerFired(now + 3 * SECOND);
      assertEquals(List.of(12L), host.acks());
    }

    @Test
    void shouldAckTheSnapshotSeqWithTheDeltasAfterIt() {
      SyncStateMachine m = machine(-1);
      m.connected(now);
      m.onFrame(push(41, message(41)), now);
      m.onFrame(snapshot(host.snapshotRequests().get(0).getRequestId(), 40), now);
      m.timerFired(now + 200 * MS);

      assertEquals(List.of(41L), host.acks());
    }
  }
}
