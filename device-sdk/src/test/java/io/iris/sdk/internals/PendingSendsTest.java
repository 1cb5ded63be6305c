package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.SendResult;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.sdk.DocVectors;
import io.iris.sdk.IrisDevice.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class PendingSendsTest {
  private static final long SECOND = 1_000_000_000L;

  private final PendingSends sends =
      new PendingSends(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofHours(1));

  private PendingSends.PendingSend send(String clientId, long now) {
    PendingSends.PendingSend p =
        sends.add(
            new DeviceCommand(clientId, 1, CommandBody.sendMessage(new SendMessage("hi"))),
            new CompletableFuture<>(),
            now);
    PendingSends.sent(p, now);
    return p;
  }

  @Test
  void shouldDoubleTheIntervalPerAttemptAndHoldItAtTheLongest() {
    PendingSends.PendingSend p = send("c1", 0);
    List<Long> intervals = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      intervals.add(sends.interval(p) / SECOND);
      PendingSends.sent(p, 0);
    }
    assertEquals(List.of(5L, 10L, 20L, 40L, 60L, 60L, 60L, 60L), intervals);
  }

  @Test
  void shouldNotOverflowAfterManyAttempts() {
    PendingSends.PendingSend p = send("c1", 0);
    p.attempts = Integer.MAX_VALUE;
    assertEquals(60 * SECOND, sends.interval(p));
  }

  @Test
  void shouldWaitTheLongestIntervalFromTheAcceptanceOnceAccepted() {
    PendingSends.PendingSend p = send("c1", 0);
    sends.onSendResult(new SendResult("c1", true), 3 * SECOND);

    assertEquals(List.of(), sends.dueForResend(63 * SECOND));
    assertEquals(List.of(p), sends.dueForResend(63 * SECOND + 1));
    assertEquals(List.of(), sends.toResendOnConnect());
  }

  @Test
  void shouldRefuseALongestIntervalShorterThanTheFirst() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new PendingSends(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofHours(1)));
  }

  private static Delta delta(DeltaBody body) {
    return new Delta(7, 1, 0, body);
  }

  /** The failure of a future that must have failed. */
  private static Throwable failure(CompletableFuture<Delta> f) {
    assertTrue(f.isCompletedExceptionally(), "failed: " + f);
    return assertThrows(ExecutionException.class, f::get).getCause();
  }

  @Test
  void shouldFindTheClientIdInEditsDeletesAndReactionsAndNoneInOthersOnes() {
    assertEquals(
        "c1",
        PendingSends.clientIdOf(
            delta(DeltaBody.messageEdited(new MessageEdited(5, 7, "x").setClientId("c1")))));
    assertEquals(
        "c2",
        PendingSends.clientIdOf(
            delta(DeltaBody.messageDeleted(new MessageDeleted(5, 7).setClientId("c2")))));
    assertEquals(
        "c3",
        PendingSends.clientIdOf(
            delta(DeltaBody.reactionChanged(new ReactionChanged(5, 7).setClientId("c3")))));
    // Another member's deltas carry none: they confirm nothing.
    assertNull(
        PendingSends.clientIdOf(delta(DeltaBody.messageEdited(new MessageEdited(5, 8, "x")))));
    assertNull(PendingSends.clientIdOf(delta(DeltaBody.messageDeleted(new MessageDeleted(5, 8)))));
    assertNull(
        PendingSends.clientIdOf(
            delta(DeltaBody.reactionChanged(new ReactionChanged(5, 8).setEmoji("x")))));
  }

  @Test
  void shouldConfirmEditsDeletesAndReactionsByTheirOwnDeltas() throws Exception {
    CompletableFuture<Delta> edit = send("c1", 0).result;
    CompletableFuture<Delta> delete = send("c2", 0).result;
    CompletableFuture<Delta> react = send("c3", 0).result;
    Delta edited = delta(DeltaBody.messageEdited(new MessageEdited(5, 7, "x").setClientId("c1")));
    Delta deleted = delta(DeltaBody.messageDeleted(new MessageDeleted(5, 7).setClientId("c2")));
    Delta reacted = delta(DeltaBody.reactionChanged(new ReactionChanged(5, 7).setClientId("c3")));

    sends.confirm(delta(DeltaBody.messageEdited(new MessageEdited(5, 8, "y")))); // another's
    assertEquals(3, sends.size());
    sends.confirm(edited);
    sends.confirm(deleted);
    sends.confirm(reacted);

    assertSame(edited, edit.get());
    assertSame(deleted, delete.get());
    assertSame(reacted, react.get());
    assertEquals(0, sends.size());
  }

  @Test
  void shouldFailWithTheRuleOfTheCommandRejectedAndWithoutOneFromAnOlderServer() {
    CompletableFuture<Delta> edit = send("c1", 0).result;
    CompletableFuture<Delta> old = send("c2", 0).result;

    sends.confirm(
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c1", ErrorCode.UNAUTHORISED, "not yours")
                    .setRule("NOT_THE_SENDER"))));
    sends.confirm(
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c2", ErrorCode.NOT_A_MEMBER, "not a member"))));

    RejectedException e = assertInstanceOf(RejectedException.class, failure(edit));
    assertEquals(ErrorCode.UNAUTHORISED, e.code());
    assertEquals("NOT_THE_SENDER", e.rule());
    e = assertInstanceOf(RejectedException.class, failure(old));
    assertEquals(ErrorCode.NOT_A_MEMBER, e.code());
    assertNull(e.rule());
  }

  @Test
  void shouldHaveNoRuleForARefusalByTheBridge() {
    CompletableFuture<Delta> f = send("c1", 0).result;

    sends.onSendResult(
        new SendResult("c1", false)
            .setError(new ServerError(ErrorCode.INVALID_ARGUMENT, "command type unknown")),
        0);

    RejectedException e = assertInstanceOf(RejectedException.class, failure(f));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertNull(e.rule(), "a ServerError names no rule");
  }

  @Test
  void shouldReadTheRuleOfTheDocumentsRejectionVector() {
    List<DocVectors.Vector> vectors = DocVectors.containing("rule:NOT_THE_SENDER");
    assertEquals(1, vectors.size(), "docs/PROTOCOL.md shows a rejection with its rule");
    Delta d =
        FrameCodec.defaults()
            .decode(vectors.get(0).frame(), ServerFrame::new)
            .getBody()
            .getDeltas()
            .getDeltas()
            .get(0);
    String clientId = d.getBody().getCommandRejected().getClientId();
    CompletableFuture<Delta> f = send(clientId, 0).result;

    sends.confirm(d);

    RejectedException e = assertInstanceOf(RejectedException.class, failure(f));
    assertEquals(ErrorCode.UNAUTHORISED, e.code());
    assertEquals("NOT_THE_SENDER", e.rule());
  }
}
