package io.iris.streams.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadState;
import io.iris.protocol.thrift.Typing;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/** The rules of a thread on their own: no Kafka, time and state passed in. */
class ThreadRulesTest {
  static final Duration WINDOW = Duration.ofMinutes(10);
  static final long T0 = 1_800_000_000_000L;

  final ThreadRules rules = new ThreadRules(100, 5, WINDOW);

  /** The threads and applied commands of one task, kept the way the processor keeps them. */
  final Map<Long, ThreadState> threads = new HashMap<>();

  final Map<String, List<Long>> appliedAt = new HashMap<>();
  int clientIds;

  // ----- helpers -------------------------------------------------------------------------------

  ClientCommand command(long sender, long thread, CommandBody body) {
    return new ClientCommand(sender, "dev-" + sender, "c" + (++clientIds), thread, T0, body);
  }

  static CommandBody create(Long... others) {
    return CommandBody.createThread(new CreateThread(Arrays.asList(others)).setName("name"));
  }

  static CommandBody say(String text) {
    return CommandBody.sendMessage(new SendMessage(text));
  }

  static CommandBody add(Long... ids) {
    return CommandBody.addParticipants(new AddParticipants(Arrays.asList(ids)));
  }

  static CommandBody remove(Long... ids) {
    return CommandBody.removeParticipants(new RemoveParticipants(Arrays.asList(ids)));
  }

  static CommandBody markRead(long upTo) {
    return CommandBody.markRead(new MarkRead(upTo));
  }

  boolean applied(String key, long from, long to) {
    return appliedAt.getOrDefault(key, List.of()).stream().anyMatch(t -> t >= from && t <= to);
  }

  /** Decides at {@code now} and, like the processor, keeps what an applied command changed. */
  ThreadRules.Decision submit(ClientCommand c, long now) {
    ThreadRules.Decision d = rules.decide(c, c.getThreadId(), now, threads::get, this::applied);
    if (d instanceof ThreadRules.Apply a) {
      threads.put(c.getThreadId(), a.state());
      appliedAt.computeIfAbsent(a.dedupKey(), k -> new ArrayList<>()).add(now);
    }
    return d;
  }

  ThreadRules.Apply applied(ClientCommand c) {
    return assertInstanceOf(ThreadRules.Apply.class, submit(c, T0));
  }

  ThreadRules.Reject rejected(ClientCommand c, Rejection expected) {
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, submit(c, T0));
    assertEquals(expected, r.rejection(), r.message());
    return r;
  }

  /** Thread 100 of user 1 with users 2 and 3, after {@code messages} messages of user 1. */
  ThreadState thread100(int messages) {
    applied(command(1, 100, create(2L, 3L)));
    for (int i = 0; i < messages; i++) {
      applied(command(1, 100, say("m" + i)));
    }
    return threads.get(100L);
  }

  static List<Long> recipients(ThreadRules.Apply a) {
    return a.drafts().stream().map(Delta::getUserId).toList();
  }

  static final LongFunction<ThreadState> NO_LOOKUP = id -> fail("the thread must not be looked up");
  static final ThreadRules.AppliedCommands NO_DEDUP =
      (k, from, to) -> fail("applied commands must not be looked up");

  // ----- envelope ------------------------------------------------------------------------------

  @Test
  void shouldRejectANonPositiveSenderWithoutTellingThem() {
    ThreadRules.Reject r = rejected(command(0, 100, say("x")), Rejection.INVALID_COMMAND);
    assertEquals("senderUserId must be positive", r.message());
    assertFalse(r.tellSender(), "there is nobody to tell");
    assertFalse(rejected(command(-4, 100, say("x")), Rejection.INVALID_COMMAND).tellSender());
  }

  @Test
  void shouldRejectAMissingBlankOrTooLongDeviceIdWithoutTellingTheSender() {
    for (String device : Arrays.asList(null, "", "  ", "d".repeat(65), "é".repeat(33))) {
      ClientCommand c = command(1, 100, say("x")).setSenderDeviceId(device);
      ThreadRules.Reject r = rejected(c, Rejection.INVALID_COMMAND);
      assertEquals("senderDeviceId must be 1 to 64 bytes", r.message(), String.valueOf(device));
      assertFalse(r.tellSender());
    }
  }

  @Test
  void shouldRejectAMissingBlankOrTooLongClientIdWithoutTellingTheSender() {
    for (String clientId : Arrays.asList(null, "", "\t", "c".repeat(65))) {
      ClientCommand c = command(1, 100, say("x")).setClientId(clientId);
      ThreadRules.Reject r = rejected(c, Rejection.INVALID_COMMAND);
      assertEquals("clientId must be 1 to 64 bytes", r.message());
      assertFalse(r.tellSender());
    }
  }

  @Test
  void shouldAcceptIdsOfExactly64Bytes() {
    ClientCommand c =
        command(1, 100, create(2L)).setSenderDeviceId("d".repeat(64)).setClientId("é".repeat(32));
    applied(c);
  }

  @Test
  void shouldRejectANonPositiveThreadIdAndTellTheSender() {
    ThreadRules.Reject r = rejected(command(1, 0, create(2L)), Rejection.INVALID_COMMAND);
    assertEquals("threadId must be positive", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldRejectAThreadIdThatDiffersFromTheRecordKeyAndTellTheSender() {
    ClientCommand c = command(1, 100, create(2L));
    ThreadRules.Decision d = rules.decide(c, 101, T0, NO_LOOKUP, NO_DEDUP);
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, d);
    assertEquals(Rejection.INVALID_COMMAND, r.rejection());
    assertEquals("threadId 100 differs from the record key 101", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldCheckTheEnvelopeBeforeTheThreadAndTheResends() {
    ClientCommand c = command(1, 999, say("x")).setClientId("");
    ThreadRules.Decision d = rules.decide(c, 999, T0, NO_LOOKUP, NO_DEDUP);
    assertEquals(Rejection.INVALID_COMMAND, ((ThreadRules.Reject) d).rejection());
  }

  // ----- command type --------------------------------------------------------------------------

  @Test
  void shouldRejectACommandWithoutABodyAsUnsupportedAndTellTheSender() {
    ClientCommand c = command(1, 100, new CommandBody());
    ThreadRules.Decision d = rules.decide(c, 100, T0, NO_LOOKUP, NO_DEDUP);
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, d);
    assertEquals(Rejection.UNSUPPORTED_COMMAND, r.rejection());
    assertEquals("command type unknown to this version", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldIgnoreTypingWithoutLookingAnythingUp() {
    ClientCommand c = command(1, 100, CommandBody.typing(new Typing(true)));
    assertSame(ThreadRules.Ignore.TYPING, rules.decide(c, 100, T0, NO_LOOKUP, NO_DEDUP));
  }

  // ----- resends -------------------------------------------------------------------------------

  @Test
  void shouldKeyResendsBySenderDeviceAndClientId() {
    assertEquals(
        "7/phone/abc",
        ThreadRules.dedupKey(new ClientCommand(7, "phone", "abc", 100, T0, say("x"))));
  }

  @Test
  void shouldAskForTheWindowEitherSideOfTheCommandsTime() {
    List<Long> asked = new ArrayList<>();
    rules.decide(
        command(1, 100, say("x")),
        100,
        T0,
        id -> null,
        (key, from, to) -> {
          assertEquals("1/dev-1/c1", key);
          asked.addAll(List.of(from, to));
          return false;
        });
    assertEquals(List.of(T0 - WINDOW.toMillis(), T0 + WINDOW.toMillis()), asked);
  }

  @Test
  void shouldIgnoreAResendWithinTheWindowWithoutLookingUpTheThread() {
    thread100(0);
    ClientCommand c = command(1, 100, say("once"));
    submit(c, T0);
    long edge = T0 + WINDOW.toMillis();
    assertSame(ThreadRules.Ignore.DUPLICATE, submit(c, T0 + 1));
    assertSame(ThreadRules.Ignore.DUPLICATE, submit(c, edge), "the window includes its end");
    assertSame(ThreadRules.Ignore.DUPLICATE, rules.decide(c, 100, edge, NO_LOOKUP, this::applied));
    assertEquals(1, threads.get(100L).getLastMessageId(), "applied once");
  }

  @Test
  void shouldRecogniseAResendWhoseTimeIsBeforeTheFirstOnes() {
    thread100(0);
    ClientCommand c = command(1, 100, say("once"));
    submit(c, T0);
    assertSame(ThreadRules.Ignore.DUPLICATE, submit(c, T0 - WINDOW.toMillis()));
  }

  @Test
  void shouldApplyAResendOutsideTheWindowAgain() {
    thread100(0);
    ClientCommand c = command(1, 100, say("twice"));
    submit(c, T0);
    assertInstanceOf(ThreadRules.Apply.class, submit(c, T0 + WINDOW.toMillis() + 1));
    assertEquals(2, threads.get(100L).getLastMessageId());
  }

  @Test
  void shouldTellCommandsOfAnotherSenderDeviceOrClientIdFromAResend() {
    thread100(0);
    ClientCommand c = command(1, 100, say("x"));
    submit(c, T0);
    assertInstanceOf(ThreadRules.Apply.class, submit(c.deepCopy().setClientId("other"), T0));
    assertInstanceOf(ThreadRules.Apply.class, submit(c.deepCopy().setSenderDeviceId("pc"), T0));
    assertInstanceOf(ThreadRules.Apply.class, submit(c.deepCopy().setSenderUserId(2), T0));
    assertEquals(4, threads.get(100L).getLastMessageId());
  }

  @Test
  void shouldNotRememberARejectedCommandSoItsResendCanSucceed() {
    ClientCommand early = command(1, 100, say("before the thread"));
    rejected(early, Rejection.UNKNOWN_THREAD);
    thread100(0);
    assertInstanceOf(ThreadRules.Apply.class, submit(early, T0 + 1));
  }

  // ----- create --------------------------------------------------------------------------------

  @Test
  void shouldCreateAThreadWithTheCreatorFirstAndEachMemberOnce() {
    ClientCommand c = command(1, 100, create(3L, 2L, 3L, 1L));
    ThreadRules.Apply a = applied(c);
    ThreadState s = a.state();
    assertEquals(List.of(1L, 3L, 2L), s.getParticipantUserIds());
    assertEquals(100, s.getThreadId());
    assertEquals(1, s.getCreatorUserId());
    assertEquals("name", s.getName());
    assertEquals(0, s.getLastMessageId());
    assertEquals(T0, s.getCreatedAtMs());
    assertEquals(T0, s.getLastActivityMs());
    assertEquals(c.getClientId(), s.getCreatedByClientId());
    assertTrue(s.getReadUpTo().isEmpty());
    assertEquals("1/dev-1/c1", a.dedupKey());
  }

  @Test
  void shouldTellEveryMemberOfANewThreadAndOnlyTheCreatorItsClientId() {
    ClientCommand c = command(1, 100, create(2L, 3L));
    ThreadRules.Apply a = applied(c);
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      assertFalse(d.isSetPos(), "the position is the offset iris.log gives it");
      assertEquals(100, d.getThreadId());
      assertEquals(T0, d.getServerTimestampMs());
      var created = d.getBody().getThreadCreated();
      assertEquals(1, created.getCreatorUserId());
      assertEquals(List.of(1L, 2L, 3L), created.getParticipantUserIds());
      assertEquals("name", created.getName());
      assertEquals(d.getUserId() == 1 ? c.getClientId() : null, created.getClientId());
    }
  }

  @Test
  void shouldCreateAThreadWithoutName() {
    ClientCommand c = command(1, 100, CommandBody.createThread(new CreateThread(List.of(2L))));
    ThreadRules.Apply a = applied(c);
    assertFalse(a.state().isSetName());
    assertFalse(a.drafts().get(0).getBody().getThreadCreated().isSetName());
  }

  @Test
  void shouldRejectACreateWithANonPositiveParticipant() {
    ThreadRules.Reject r =
        rejected(command(1, 100, create(2L, 0L)), Rejection.INVALID_PARTICIPANTS);
    assertEquals("participant id 0 is not positive", r.message());
    assertTrue(r.tellSender());
    assertTrue(threads.isEmpty());
  }

  @Test
  void shouldRejectACreateAboveTheParticipantLimitCountingTheCreator() {
    ThreadRules.Reject r =
        rejected(command(1, 100, create(2L, 3L, 4L, 5L, 6L)), Rejection.TOO_MANY_PARTICIPANTS);
    assertEquals("6 participants, the limit is 5", r.message());
    assertEquals(5, applied(command(1, 101, create(2L, 3L, 4L, 5L))).drafts().size());
  }

  @Test
  void shouldRejectAThreadNameAboveTheTextLimit() {
    CommandBody body =
        CommandBody.createThread(new CreateThread(List.of(2L)).setName("n".repeat(101)));
    ThreadRules.Reject r = rejected(command(1, 100, body), Rejection.MESSAGE_TOO_LARGE);
    assertEquals("thread name above 100 bytes", r.message());
  }

  @Test
  void shouldTreatTheSameCreateByItsCreatorAsDone() {
    ClientCommand c = command(1, 100, create(2L));
    ThreadState created = applied(c).state();
    ThreadRules.Apply again =
        assertInstanceOf(ThreadRules.Apply.class, submit(c, T0 + 3 * WINDOW.toMillis()));
    assertTrue(again.drafts().isEmpty(), "it already took effect: nobody is told again");
    assertEquals(created, again.state());
  }

  @Test
  void shouldRejectACreateOfATakenThreadId() {
    applied(command(1, 100, create(2L)));
    ThreadRules.Reject other = rejected(command(3, 100, create(4L)), Rejection.THREAD_EXISTS);
    assertEquals("thread 100 already exists", other.message());
    assertTrue(other.tellSender());
    rejected(command(1, 100, create(2L)), Rejection.THREAD_EXISTS); // the creator, a new client id
  }

  // ----- send ----------------------------------------------------------------------------------

  @Test
  void shouldRejectSendToUnknownThread() {
    ThreadRules.Reject r = rejected(command(1, 999, say("x")), Rejection.UNKNOWN_THREAD);
    assertEquals("thread 999 does not exist", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldRejectSendFromNonMember() {
    thread100(0);
    ThreadRules.Reject r = rejected(command(7, 100, say("let me in")), Rejection.NOT_A_MEMBER);
    assertEquals("user 7 is not a member of thread 100", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldRejectEmptyOrBlankText() {
    thread100(0);
    for (String text : Arrays.asList(null, "", " \n\t ")) {
      ClientCommand c = command(1, 100, CommandBody.sendMessage(new SendMessage().setText(text)));
      assertEquals("message text is empty", rejected(c, Rejection.EMPTY_TEXT).message());
    }
  }

  @Test
  void shouldRejectTextAboveTheLimitInUtf8BytesAndAcceptItAtTheLimit() {
    thread100(0);
    ThreadRules.Reject r =
        rejected(command(1, 100, say("é".repeat(51))), Rejection.MESSAGE_TOO_LARGE);
    assertEquals("message text is 102 bytes, the limit is 100", r.message());
    applied(command(1, 100, say("x".repeat(100))));
  }

  @Test
  void shouldNumberMessagesAndTellEveryMemberWithTheClientIdOnlyInTheSendersDelta() {
    thread100(2);
    ClientCommand c = command(2, 100, say("hello"));
    ThreadRules.Apply a = applied(c);
    assertEquals(3, a.state().getLastMessageId());
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      var m = d.getBody().getNewMessage();
      assertEquals(3, m.getMessageId());
      assertEquals(2, m.getSenderUserId());
      assertEquals("hello", m.getText());
      assertEquals(d.getUserId() == 2 ? c.getClientId() : null, m.getClientId());
      assertEquals(d.getUserId() == 2 ? "dev-2" : null, m.getSenderDeviceId());
    }
  }

  @Test
  void shouldKeepTheServerTimeOfAThreadMonotoneWhenABridgeClockIsBehind() {
    thread100(0);
    ClientCommand later = command(1, 100, say("later")).setReceivedAtMs(T0 + 5_000);
    assertEquals(T0 + 5_000, applied(later).drafts().get(0).getServerTimestampMs());
    ClientCommand behind = command(2, 100, say("behind")).setReceivedAtMs(T0 + 1_000);
    ThreadRules.Apply a = applied(behind);
    assertEquals(T0 + 5_000, a.drafts().get(0).getServerTimestampMs());
    assertEquals(T0 + 5_000, a.state().getLastActivityMs());
  }

  @Test
  void shouldLeaveTheThreadItWasGivenUnchanged() {
    ThreadState before = thread100(1);
    ThreadState copy = before.deepCopy();
    rules.apply(command(1, 100, say("x")), before);
    rules.apply(command(1, 100, add(4L)), before);
    rules.apply(command(1, 100, remove(2L)), before);
    rules.apply(command(2, 100, markRead(1)), before);
    assertEquals(copy, before);
  }

  // ----- membership ----------------------------------------------------------------------------

  @Test
  void shouldAddMembersAndTellEveryMemberTheNewOnesIncluded() {
    thread100(0);
    ClientCommand c = command(2, 100, add(4L, 5L));
    ThreadRules.Apply a = applied(c);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), a.state().getParticipantUserIds());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), recipients(a));
    for (Delta d : a.drafts()) {
      ParticipantsChanged pc = d.getBody().getParticipantsChanged();
      assertEquals(2, pc.getActorUserId());
      assertEquals(List.of(4L, 5L), pc.getAddedUserIds());
      assertEquals(List.of(), pc.getRemovedUserIds());
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L), pc.getParticipantUserIds());
      assertEquals("name", pc.getThreadName(), "a new member learns the thread's name");
      assertEquals(d.getUserId() == 2 ? c.getClientId() : null, pc.getClientId());
    }
    applied(command(5, 100, say("hi, I am new")));
  }

  @Test
  void shouldListOnlyUsersWhoWereNotMembersAsAdded() {
    thread100(0);
    ThreadRules.Apply a = applied(command(1, 100, add(2L, 4L, 4L)));
    assertEquals(
        List.of(4L), a.drafts().get(0).getBody().getParticipantsChanged().getAddedUserIds());
    assertEquals(List.of(1L, 2L, 3L, 4L), a.state().getParticipantUserIds());
  }

  @Test
  void shouldRejectAddingANonPositiveId() {
    thread100(0);
    ThreadRules.Reject r = rejected(command(1, 100, add(4L, -1L)), Rejection.INVALID_PARTICIPANTS);
    assertEquals("participant id -1 is not positive", r.message());
    assertEquals(List.of(1L, 2L, 3L), threads.get(100L).getParticipantUserIds());
  }

  @Test
  void shouldRejectAddingBeyondTheParticipantLimit() {
    thread100(0);
    ThreadRules.Reject r =
        rejected(command(1, 100, add(4L, 5L, 6L)), Rejection.TOO_MANY_PARTICIPANTS);
    assertEquals("6 participants, the limit is 5", r.message());
  }

  @Test
  void shouldRejectMembershipChangesFromNonMembers() {
    thread100(0);
    rejected(command(9, 100, add(9L)), Rejection.NOT_A_MEMBER);
    rejected(command(9, 100, remove(2L)), Rejection.NOT_A_MEMBER);
    rejected(command(9, 100, markRead(1)), Rejection.NOT_A_MEMBER);
  }

  @Test
  void shouldRemoveMembersTellThemTooAndForgetTheirReadMarks() {
    thread100(2);
    applied(command(3, 100, markRead(2)));
    applied(command(2, 100, markRead(1)));
    ClientCommand c = command(1, 100, remove(3L));
    ThreadRules.Apply a = applied(c);
    assertEquals(List.of(1L, 2L), a.state().getParticipantUserIds());
    assertEquals(Map.of(2L, 1L), a.state().getReadUpTo());
    assertEquals(List.of(1L, 2L, 3L), recipients(a), "the removed user learns that they are out");
    ParticipantsChanged pc = a.drafts().get(2).getBody().getParticipantsChanged();
    assertEquals(List.of(3L), pc.getRemovedUserIds());
    assertEquals(List.of(), pc.getAddedUserIds());
    assertEquals(List.of(1L, 2L), pc.getParticipantUserIds());

    rejected(command(3, 100, say("wait")), Rejection.NOT_A_MEMBER);
    assertEquals(List.of(1L, 2L), recipients(applied(command(1, 100, say("bye 3")))));
  }

  @Test
  void shouldAcceptTheSameUserTwiceInOneRemove() {
    thread100(0);
    ThreadRules.Apply a = applied(command(1, 100, remove(2L, 2L)));
    assertEquals(
        List.of(2L), a.drafts().get(0).getBody().getParticipantsChanged().getRemovedUserIds());
  }

  @Test
  void shouldRejectRemovingANonMember() {
    thread100(0);
    ThreadRules.Reject r =
        rejected(command(1, 100, remove(2L, 8L)), Rejection.INVALID_PARTICIPANTS);
    assertEquals("user 8 is not a member", r.message());
    assertEquals(List.of(1L, 2L, 3L), threads.get(100L).getParticipantUserIds());
  }

  @Test
  void shouldLetAMemberLeaveAndConfirmItToThem() {
    thread100(0);
    ClientCommand c = command(2, 100, remove(2L));
    ThreadRules.Apply a = applied(c);
    assertEquals(List.of(1L, 3L, 2L), recipients(a));
    assertEquals(
        c.getClientId(), a.drafts().get(2).getBody().getParticipantsChanged().getClientId());
    rejected(command(2, 100, say("still here?")), Rejection.NOT_A_MEMBER);
  }

  // ----- mark read -----------------------------------------------------------------------------

  @Test
  void shouldMoveTheReadMarkAndTellEveryMember() {
    thread100(3);
    ClientCommand c = command(2, 100, markRead(2));
    ThreadRules.Apply a = applied(c);
    assertEquals(Map.of(2L, 2L), a.state().getReadUpTo());
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      var rr = d.getBody().getReadReceipt();
      assertEquals(2, rr.getReaderUserId());
      assertEquals(2, rr.getUpToMessageId());
      assertEquals(d.getUserId() == 2 ? c.getClientId() : null, rr.getClientId());
    }
  }

  @Test
  void shouldChangeNothingAndTellNobodyForAMarkAtOrBelowTheCurrentOne() {
    thread100(3);
    applied(command(2, 100, markRead(2)));
    ThreadState before = threads.get(100L);
    for (long upTo : List.of(2L, 1L)) {
      ThreadRules.Apply a = applied(command(2, 100, markRead(upTo)));
      assertTrue(a.drafts().isEmpty());
      assertEquals(before, a.state());
    }
  }

  @Test
  void shouldRejectAReadMarkOfZeroOrBeyondTheLastMessage() {
    thread100(2);
    ThreadRules.Reject r = rejected(command(2, 100, markRead(3)), Rejection.INVALID_READ_MARK);
    assertEquals("message 3 is not in thread 100 (last is 2)", r.message());
    assertTrue(r.tellSender());
    rejected(command(2, 100, markRead(0)), Rejection.INVALID_READ_MARK);
    rejected(command(2, 100, markRead(-1)), Rejection.INVALID_READ_MARK);
  }

  // ----- telling the sender --------------------------------------------------------------------

  @Test
  void shouldTellTheSenderOfARejectionInTheirOwnQueue() {
    ClientCommand c = command(4, 100, say("x")).setReceivedAtMs(T0 + 7);
    Delta d = ThreadRules.rejectionDraft(c, Rejection.NOT_A_MEMBER, "why");
    assertEquals(4, d.getUserId());
    assertEquals(100, d.getThreadId());
    assertEquals(T0 + 7, d.getServerTimestampMs());
    assertFalse(d.isSetPos());
    var cr = d.getBody().getCommandRejected();
    assertEquals(c.getClientId(), cr.getClientId());
    assertEquals(ErrorCode.NOT_A_MEMBER, cr.getCode());
    assertEquals("why", cr.getReason());
  }

  @Test
  void shouldRejectACommandTypeTheRulesDoNotKnowWhenAppliedDirectly() {
    ThreadRules.Outcome o = rules.apply(command(1, 100, new CommandBody()), thread100(0));
    assertEquals(Rejection.UNSUPPORTED_COMMAND, o.rejection());
    assertNull(o.state());
  }
}
