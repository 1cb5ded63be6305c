package io.iris.streams.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.ThreadState;
import io.iris.protocol.thrift.Typing;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/** The rules of a thread on their own: no Kafka, time and state passed in. */
class ThreadRulesTest {
  static final Duration WINDOW = Duration.ofMinutes(10);
  static final Duration EDIT = Duration.ofMinutes(15);
  static final Duration DELETE = Duration.ofHours(1);
  static final int PREVIEW = 16;
  static final long T0 = 1_800_000_000_000L;

  final ThreadRules rules = new ThreadRules(100, 5, WINDOW, EDIT, DELETE, PREVIEW);

  /** The threads, applied commands and recent messages of one task, kept like the processor. */
  final Map<Long, ThreadState> threads = new HashMap<>();

  final Map<String, List<Long>> appliedAt = new HashMap<>();
  final Map<List<Long>, ThreadRules.RememberMessage> remembered = new HashMap<>();
  final Map<Long, ThreadDeliveries> deliveries = new HashMap<>();
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

  static CommandBody edit(long messageId, String text) {
    return CommandBody.editMessage(new EditMessage(messageId, text));
  }

  static CommandBody delete(long messageId) {
    return CommandBody.deleteMessage(new DeleteMessage(messageId));
  }

  /** A reaction; {@code null} emoji: removal by leaving it out. */
  static CommandBody react(long messageId, String emoji) {
    React r = new React().setMessageId(messageId);
    if (emoji != null) {
      r.setEmoji(emoji);
    }
    return CommandBody.react(r);
  }

  static Attachment attachment() {
    return new Attachment("image/jpeg", 12_345, ByteBuffer.wrap(new byte[32]), "blob://a")
        .setWidth(640)
        .setHeight(480)
        .setPreview(new byte[PREVIEW])
        .setName("cat.jpg");
  }

  static CommandBody sayWith(String text, Attachment... attachments) {
    return CommandBody.sendMessage(
        new SendMessage(text).setAttachments(Arrays.asList(attachments)));
  }

  boolean applied(String key, long from, long to) {
    return appliedAt.getOrDefault(key, List.of()).stream().anyMatch(t -> t >= from && t <= to);
  }

  /** The facts of a message if remembered at a time in [from, to], like the window store. */
  MessageFacts facts(long thread, long message, long from, long to) {
    ThreadRules.RememberMessage m = remembered.get(List.of(thread, message));
    return m == null || m.windowTimestamp() < from || m.windowTimestamp() > to ? null : m.facts();
  }

  /** Decides at {@code now} and, like the processor, keeps what an applied command changed. */
  ThreadRules.Decision submit(ClientCommand c, long now) {
    ThreadRules.Decision d =
        rules.decide(
            c, c.getThreadId(), now, threads::get, this::applied, this::facts, deliveries::get);
    if (d instanceof ThreadRules.RecordDelivery r) {
      assertEquals(c.getThreadId(), r.threadId());
      deliveries.put(r.threadId(), r.deliveries());
    }
    if (d instanceof ThreadRules.Apply a) {
      if (a.threadChanged()) {
        threads.put(c.getThreadId(), a.state());
      } else {
        assertSame(threads.get(c.getThreadId()), a.state(), "unchanged: the same instance");
      }
      appliedAt.computeIfAbsent(a.dedupKey(), k -> new ArrayList<>()).add(now);
      for (ThreadRules.RememberMessage m : a.messages()) {
        ThreadRules.RememberMessage before = remembered.get(List.of(m.threadId(), m.messageId()));
        if (before != null) {
          assertEquals(before.windowTimestamp(), m.windowTimestamp(), "a put replaces");
        }
        remembered.put(List.of(m.threadId(), m.messageId()), m);
      }
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
  static final ThreadRules.RecentMessages NO_MESSAGES =
      (t, m, from, to) -> fail("recent messages must not be looked up");
  static final ThreadRules.DeliveryMarks NO_DELIVERIES =
      t -> fail("delivery marks must not be looked up");

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
    ThreadRules.Decision d =
        rules.decide(c, 101, T0, NO_LOOKUP, NO_DEDUP, NO_MESSAGES, NO_DELIVERIES);
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, d);
    assertEquals(Rejection.INVALID_COMMAND, r.rejection());
    assertEquals("threadId 100 differs from the record key 101", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldCheckTheEnvelopeBeforeTheThreadAndTheResends() {
    ClientCommand c = command(1, 999, say("x")).setClientId("");
    ThreadRules.Decision d =
        rules.decide(c, 999, T0, NO_LOOKUP, NO_DEDUP, NO_MESSAGES, NO_DELIVERIES);
    assertEquals(Rejection.INVALID_COMMAND, ((ThreadRules.Reject) d).rejection());
  }

  // ----- command type --------------------------------------------------------------------------

  @Test
  void shouldRejectACommandWithoutABodyAsUnsupportedAndTellTheSender() {
    ClientCommand c = command(1, 100, new CommandBody());
    ThreadRules.Decision d =
        rules.decide(c, 100, T0, NO_LOOKUP, NO_DEDUP, NO_MESSAGES, NO_DELIVERIES);
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, d);
    assertEquals(Rejection.UNSUPPORTED_COMMAND, r.rejection());
    assertEquals("command type unknown to this version", r.message());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldIgnoreTypingWithoutLookingAnythingUp() {
    ClientCommand c = command(1, 100, CommandBody.typing(new Typing(true)));
    assertSame(
        ThreadRules.Ignore.TYPING,
        rules.decide(c, 100, T0, NO_LOOKUP, NO_DEDUP, NO_MESSAGES, NO_DELIVERIES));
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
        },
        NO_MESSAGES,
        NO_DELIVERIES);
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
    assertSame(
        ThreadRules.Ignore.DUPLICATE,
        rules.decide(c, 100, edge, NO_LOOKUP, this::applied, NO_MESSAGES, NO_DELIVERIES));
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
    rules.apply(command(1, 100, edit(1, "y")), before, this::facts);
    rules.apply(command(1, 100, delete(1)), before, this::facts);
    rules.apply(command(2, 100, react(1, "👍")), before, this::facts);
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

  // ----- attachments --------------------------------------------------------------------------

  @Test
  void shouldSendAttachmentsWithEmptyTextToEveryMemberAndRememberTheMessage() {
    thread100(0);
    Attachment second = attachment().setUrl("blob://b").setDurationMs(3000);
    ClientCommand c = command(2, 100, sayWith("", attachment(), second));
    ThreadRules.Apply a = applied(c);
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      NewMessage m = d.getBody().getNewMessage();
      assertEquals("", m.getText());
      assertEquals(List.of(attachment(), second), m.getAttachments(), "as sent, in order");
      assertEquals(d.getUserId() == 2 ? c.getClientId() : null, m.getClientId());
    }
    assertEquals(
        List.of(
            new ThreadRules.RememberMessage(
                100, 1, new MessageFacts(2, T0).setHasAttachments(true))),
        a.messages());
    assertEquals(T0, a.messages().get(0).windowTimestamp());
    applied(command(2, 100, sayWith(" \n", attachment())));
  }

  @Test
  void shouldRememberEveryMessageAtItsServerTimeWithoutOptionalFacts() {
    thread100(0);
    ThreadRules.Apply a = applied(command(3, 100, say("hi")).setReceivedAtMs(T0 + 9));
    assertEquals(
        List.of(new ThreadRules.RememberMessage(100, 1, new MessageFacts(3, T0 + 9))),
        a.messages());
    assertFalse(a.messages().get(0).facts().isSetHasAttachments(), "small: only what is true");
    assertFalse(a.messages().get(0).facts().isSetDeleted());
    assertFalse(a.drafts().get(0).getBody().getNewMessage().isSetAttachments());
    // A bridge clock behind: the thread's server time, as in the delta.
    ThreadRules.Apply behind = applied(command(3, 100, say("ho")).setReceivedAtMs(T0));
    assertEquals(T0 + 9, behind.messages().get(0).windowTimestamp());
    assertEquals(T0 + 9, behind.drafts().get(0).getServerTimestampMs());
  }

  @Test
  void shouldTreatAnEmptyAttachmentListAsNone() {
    thread100(0);
    ClientCommand blank =
        command(1, 100, CommandBody.sendMessage(new SendMessage(" ").setAttachments(List.of())));
    rejected(blank, Rejection.EMPTY_TEXT);
    ClientCommand text =
        command(1, 100, CommandBody.sendMessage(new SendMessage("x").setAttachments(List.of())));
    ThreadRules.Apply a = applied(text);
    assertFalse(a.drafts().get(0).getBody().getNewMessage().isSetAttachments());
    assertFalse(a.messages().get(0).facts().isHasAttachments());
  }

  @Test
  void shouldAcceptTenAttachmentsAndRejectEleven() {
    thread100(0);
    Attachment[] ten = Collections.nCopies(10, attachment()).toArray(Attachment[]::new);
    applied(command(1, 100, sayWith("x", ten)));
    Attachment[] eleven = Collections.nCopies(11, attachment()).toArray(Attachment[]::new);
    ThreadRules.Reject r =
        rejected(command(1, 100, sayWith("x", eleven)), Rejection.INVALID_ATTACHMENT);
    assertEquals("11 attachments, the limit is 10", r.message());
    assertEquals(ErrorCode.INVALID_ARGUMENT, r.rejection().errorCode());
  }

  /** Sends attachment() then one changed by {@code change}; null expected: accepted. */
  void assertSecondAttachment(Consumer<Attachment> change, String expected) {
    Attachment second = attachment();
    change.accept(second);
    ClientCommand c = command(1, 100, sayWith("x", attachment(), second));
    if (expected == null) {
      applied(c);
    } else {
      assertEquals(expected, rejected(c, Rejection.INVALID_ATTACHMENT).message());
    }
  }

  @Test
  void shouldRejectAnAttachmentBeyondALimitNamingItsIndexAndField() {
    thread100(0);
    String contentType = "attachment 1: contentType must be 1 to 255 bytes";
    assertSecondAttachment(a -> a.setContentType(""), contentType);
    assertSecondAttachment(a -> a.setContentType(null), contentType);
    assertSecondAttachment(a -> a.setContentType("é".repeat(128)), contentType);
    assertSecondAttachment(a -> a.setContentType("t".repeat(255)), null);
    String name = "attachment 1: name must be at most 255 bytes";
    assertSecondAttachment(a -> a.setName("n".repeat(256)), name);
    assertSecondAttachment(a -> a.setName("n".repeat(255)), null);
    assertSecondAttachment(a -> a.unsetName(), null);
    assertSecondAttachment(a -> a.setName(""), null);
    String url = "attachment 1: url must be 1 to 1024 bytes";
    assertSecondAttachment(a -> a.setUrl(""), url);
    assertSecondAttachment(a -> a.setUrl(null), url);
    assertSecondAttachment(a -> a.setUrl("u".repeat(1025)), url);
    assertSecondAttachment(a -> a.setUrl("u".repeat(1024)), null);
    assertSecondAttachment(a -> a.setSizeBytes(-1), "attachment 1: sizeBytes must not be negative");
    assertSecondAttachment(a -> a.setSizeBytes(0), null);
    String sha = "attachment 1: sha256 must be 32 bytes";
    assertSecondAttachment(a -> a.setSha256(new byte[31]), sha);
    assertSecondAttachment(a -> a.setSha256(new byte[33]), sha);
    assertSecondAttachment(a -> a.setSha256((byte[]) null), sha);
    assertSecondAttachment(a -> a.setWidth(-1), "attachment 1: width must not be negative");
    assertSecondAttachment(a -> a.setHeight(-1), "attachment 1: height must not be negative");
    assertSecondAttachment(
        a -> a.setDurationMs(-1), "attachment 1: durationMs must not be negative");
    assertSecondAttachment(a -> a.setWidth(0).setHeight(0).setDurationMs(0), null);
    assertSecondAttachment(
        a -> a.setPreview(new byte[PREVIEW + 1]),
        "attachment 1: preview is 17 bytes, the limit is 16");
    assertSecondAttachment(a -> a.setPreview(new byte[0]), null);
    assertSecondAttachment(a -> a.unsetPreview(), null);
  }

  @Test
  void shouldCheckAttachmentsBeforeTheText() {
    thread100(0);
    Attachment bad = attachment().setSizeBytes(-5);
    assertEquals(
        "attachment 0: sizeBytes must not be negative",
        rejected(command(1, 100, sayWith("", bad)), Rejection.INVALID_ATTACHMENT).message());
    rejected(command(1, 100, sayWith("é".repeat(51), attachment())), Rejection.MESSAGE_TOO_LARGE);
  }

  // ----- edit ----------------------------------------------------------------------------------

  @Test
  void shouldEditOwnMessageAndTellEveryMemberWithoutTouchingTheThread() {
    ThreadState before = thread100(2);
    ClientCommand c = command(1, 100, edit(2, "fixed")).setReceivedAtMs(T0 + 1_000);
    ThreadRules.Apply a = applied(c);
    assertFalse(a.threadChanged(), "edits do not reorder the inbox");
    assertSame(before, a.state());
    assertEquals(T0, a.state().getLastActivityMs());
    assertTrue(a.messages().isEmpty());
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      MessageEdited m = d.getBody().getMessageEdited();
      assertEquals(2, m.getMessageId());
      assertEquals(1, m.getSenderUserId());
      assertEquals("fixed", m.getText());
      assertEquals(d.getUserId() == 1 ? c.getClientId() : null, m.getClientId());
      assertEquals(T0 + 1_000, d.getServerTimestampMs());
    }
  }

  @Test
  void shouldRejectAnEditOfAnIdThatIsNotInTheThreadWithoutLookingItUp() {
    ThreadState thread = thread100(2);
    for (long id : List.of(0L, -1L, 3L)) {
      for (CommandBody body : List.of(edit(id, "x"), delete(id), react(id, "👍"))) {
        ThreadRules.Outcome o = rules.apply(command(1, 100, body), thread, NO_MESSAGES);
        assertEquals(Rejection.UNKNOWN_MESSAGE, o.rejection());
        assertEquals("message " + id + " is not in thread 100 (last is 2)", o.message());
      }
    }
    rejected(command(1, 100, edit(3, "x")), Rejection.UNKNOWN_MESSAGE);
  }

  @Test
  void shouldRejectAnEditOfAnotherUsersMessageAsUnauthorised() {
    thread100(1);
    ThreadRules.Reject r = rejected(command(2, 100, edit(1, "mine now")), Rejection.NOT_THE_SENDER);
    assertEquals("message 1 was sent by user 1, not by user 2", r.message());
    assertEquals(ErrorCode.UNAUTHORISED, r.rejection().errorCode());
    assertTrue(r.tellSender());
  }

  @Test
  void shouldAcceptAnEditAtTheEndOfTheEditWindowAndRejectItAfter() {
    thread100(1);
    long end = T0 + EDIT.toMillis();
    applied(command(1, 100, edit(1, "at the end")).setReceivedAtMs(end));
    ThreadRules.Reject r =
        rejected(
            command(1, 100, edit(1, "too late")).setReceivedAtMs(end + 1),
            Rejection.EDIT_WINDOW_PASSED);
    assertEquals("message 1 is past the edit window (900000 ms)", r.message());
  }

  @Test
  void shouldRejectAnEditOfAMessageTheStoreNoLongerHoldsBeforeAskingWhoSentIt() {
    thread100(1);
    long gone = T0 + DELETE.toMillis() + 1;
    assertNull(facts(100, 1, gone - DELETE.toMillis(), gone), "beyond what the store keeps");
    rejected(command(1, 100, edit(1, "x")).setReceivedAtMs(gone), Rejection.EDIT_WINDOW_PASSED);
    rejected(command(2, 100, edit(1, "x")).setReceivedAtMs(gone), Rejection.EDIT_WINDOW_PASSED);
  }

  @Test
  void shouldAskTheStoreForTheLongerWindowUpToTheThreadsServerTime() {
    ThreadState thread = thread100(1);
    List<Long> asked = new ArrayList<>();
    ThreadRules.RecentMessages spy =
        (t, m, from, to) -> {
          assertEquals(List.of(100L, 1L), List.of(t, m));
          asked.addAll(List.of(from, to));
          return null;
        };
    long now = T0 + 5;
    rules.apply(command(1, 100, edit(1, "x")).setReceivedAtMs(now), thread, spy);
    // A bridge behind: the thread's time, never before a message of it.
    rules.apply(command(1, 100, delete(1)).setReceivedAtMs(T0 - 7), thread, spy);
    assertEquals(List.of(now - DELETE.toMillis(), now, T0 - DELETE.toMillis(), T0), asked);
  }

  @Test
  void shouldRejectAnEditOfADeletedMessageButNamePermissionFirst() {
    thread100(1);
    applied(command(1, 100, delete(1)));
    ThreadRules.Reject r = rejected(command(1, 100, edit(1, "undo")), Rejection.MESSAGE_DELETED);
    assertEquals("message 1 is deleted", r.message());
    rejected(command(2, 100, edit(1, "x")), Rejection.NOT_THE_SENDER);
    // Deleted beats the window: still known to the store, past the edit window.
    rejected(
        command(1, 100, edit(1, "x")).setReceivedAtMs(T0 + EDIT.toMillis() + 1),
        Rejection.MESSAGE_DELETED);
  }

  @Test
  void shouldRejectAnEmptyEditUnlessTheMessageHasAttachments() {
    thread100(1);
    for (String text : Arrays.asList("", " \t", null)) {
      ClientCommand c =
          command(1, 100, CommandBody.editMessage(new EditMessage().setMessageId(1).setText(text)));
      assertEquals("message text is empty", rejected(c, Rejection.EMPTY_TEXT).message());
    }
    applied(command(1, 100, sayWith("look", attachment())));
    ThreadRules.Apply a = applied(command(1, 100, edit(2, "")));
    assertEquals("", a.drafts().get(0).getBody().getMessageEdited().getText());
  }

  @Test
  void shouldRejectAnEditAboveTheTextLimitAndAcceptItAtTheLimit() {
    thread100(1);
    ThreadRules.Reject r =
        rejected(command(1, 100, edit(1, "é".repeat(51))), Rejection.MESSAGE_TOO_LARGE);
    assertEquals("message text is 102 bytes, the limit is 100", r.message());
    applied(command(1, 100, edit(1, "x".repeat(100))));
  }

  @Test
  void shouldRejectEditsDeletesAndReactionsOfNonMembers() {
    thread100(1);
    rejected(command(9, 100, edit(1, "x")), Rejection.NOT_A_MEMBER);
    rejected(command(9, 100, delete(1)), Rejection.NOT_A_MEMBER);
    rejected(command(9, 100, react(1, "👍")), Rejection.NOT_A_MEMBER);
    rejected(command(1, 999, edit(1, "x")), Rejection.UNKNOWN_THREAD);
  }

  // ----- delete --------------------------------------------------------------------------------

  @Test
  void shouldDeleteOwnMessageTellEveryMemberAndRememberItDeletedAtItsTime() {
    ThreadState before = thread100(2);
    ClientCommand c = command(1, 100, delete(1)).setReceivedAtMs(T0 + 60_000);
    ThreadRules.Apply a = applied(c);
    assertFalse(a.threadChanged());
    assertSame(before, a.state());
    assertEquals(List.of(1L, 2L, 3L), recipients(a));
    for (Delta d : a.drafts()) {
      MessageDeleted m = d.getBody().getMessageDeleted();
      assertEquals(1, m.getMessageId());
      assertEquals(1, m.getDeletedByUserId());
      assertEquals(d.getUserId() == 1 ? c.getClientId() : null, m.getClientId());
      assertEquals(T0 + 60_000, d.getServerTimestampMs());
    }
    assertEquals(
        List.of(new ThreadRules.RememberMessage(100, 1, new MessageFacts(1, T0).setDeleted(true))),
        a.messages());
    assertEquals(T0, a.messages().get(0).windowTimestamp(), "the send's window: replaced");
  }

  @Test
  void shouldKeepWhetherADeletedMessageHadAttachments() {
    thread100(0);
    applied(command(1, 100, sayWith("", attachment())));
    MessageFacts deleted = applied(command(1, 100, delete(1))).messages().get(0).facts();
    assertTrue(deleted.isDeleted());
    assertTrue(deleted.isHasAttachments());
  }

  @Test
  void shouldRefuseADeleteOfADeletedMessageSoThatItsSenderHearsBack() {
    thread100(1);
    applied(command(1, 100, delete(1)));
    rejected(command(1, 100, delete(1)), Rejection.MESSAGE_DELETED);
    // Deleted beats the window too, as long as the store holds it.
    ClientCommand late = command(1, 100, delete(1)).setReceivedAtMs(T0 + DELETE.toMillis());
    rejected(late, Rejection.MESSAGE_DELETED);
    rejected(command(2, 100, delete(1)), Rejection.NOT_THE_SENDER);
  }

  @Test
  void shouldRejectADeleteOfAnotherUsersMessageOrAnUnknownOne() {
    thread100(1);
    ThreadRules.Reject r = rejected(command(3, 100, delete(1)), Rejection.NOT_THE_SENDER);
    assertEquals("message 1 was sent by user 1, not by user 3", r.message());
    rejected(command(1, 100, delete(2)), Rejection.UNKNOWN_MESSAGE);
  }

  @Test
  void shouldAcceptADeleteAtTheEndOfTheDeleteWindowAndRejectItAfter() {
    thread100(2);
    long end = T0 + DELETE.toMillis();
    applied(command(1, 100, delete(1)).setReceivedAtMs(end));
    ThreadRules.Reject r =
        rejected(
            command(1, 100, delete(2)).setReceivedAtMs(end + 1), Rejection.DELETE_WINDOW_PASSED);
    assertEquals("message 2 is past the delete window (3600000 ms)", r.message());
  }

  @Test
  void shouldRejectADeletePastItsWindowWhileTheStoreStillHoldsTheMessageForEdits() {
    // Edits allowed for longer than deletes: the store keeps messages for the edit window.
    ThreadRules longEdits = new ThreadRules(100, 5, WINDOW, DELETE, EDIT, PREVIEW);
    ThreadState thread = thread100(1);
    MessageFacts facts = new MessageFacts(1, T0);
    ThreadRules.RecentMessages store = (t, m, from, to) -> from <= T0 && T0 <= to ? facts : null;
    long late = T0 + EDIT.toMillis() + 1;
    ClientCommand delete = command(1, 100, delete(1)).setReceivedAtMs(late);
    ThreadRules.Outcome o = longEdits.apply(delete, thread, store);
    assertEquals(Rejection.DELETE_WINDOW_PASSED, o.rejection());
    assertEquals("message 1 is past the delete window (900000 ms)", o.message());
    assertNull(
        longEdits
            .apply(command(1, 100, edit(1, "x")).setReceivedAtMs(late), thread, store)
            .rejection());
  }

  @Test
  void shouldRejectEveryEditAndDeleteWithoutStoringOrAskingWhenBothWindowsAreZero() {
    ThreadRules off = new ThreadRules(100, 5, WINDOW, Duration.ZERO, Duration.ZERO, PREVIEW);
    assertEquals(Duration.ZERO, ThreadRules.messagesRetention(Duration.ZERO, Duration.ZERO));
    ThreadState thread = thread100(0);
    ThreadRules.Outcome sent = off.apply(command(1, 100, say("x")), thread, NO_MESSAGES);
    assertTrue(sent.messages().isEmpty(), "never written");
    ThreadState next = sent.state();
    ThreadRules.Outcome edit = off.apply(command(1, 100, edit(1, "y")), next, NO_MESSAGES);
    assertEquals(Rejection.EDIT_WINDOW_PASSED, edit.rejection());
    ThreadRules.Outcome delete = off.apply(command(1, 100, delete(1)), next, NO_MESSAGES);
    assertEquals(Rejection.DELETE_WINDOW_PASSED, delete.rejection());
    ThreadRules.Outcome react = off.apply(command(2, 100, react(1, "👍")), next, NO_MESSAGES);
    assertNull(react.rejection(), "reactions have no window");
  }

  @Test
  void shouldTreatAZeroWindowAsOffEvenForAMessageOfTheSameMillisecond() {
    ThreadRules noEdits = new ThreadRules(100, 5, WINDOW, Duration.ZERO, DELETE, PREVIEW);
    ThreadState thread = thread100(0);
    ThreadRules.Outcome sent = noEdits.apply(command(1, 100, say("x")), thread, NO_MESSAGES);
    MessageFacts facts = sent.messages().get(0).facts();
    ThreadRules.RecentMessages store = (t, m, from, to) -> facts;
    ClientCommand edit = command(1, 100, edit(1, "y"));
    assertEquals(
        Rejection.EDIT_WINDOW_PASSED, noEdits.apply(edit, sent.state(), store).rejection());
    assertNull(noEdits.apply(command(1, 100, delete(1)), sent.state(), store).rejection());
    assertEquals(
        DELETE.plus(ThreadRules.MESSAGES_GRACE),
        ThreadRules.messagesRetention(Duration.ZERO, DELETE),
        "the longer window and a grace");
  }

  // ----- react ---------------------------------------------------------------------------------

  @Test
  void shouldSetReplaceAndRemoveAReactionTellingEveryMemberEachTime() {
    ThreadState before = thread100(1);
    List<String> seen = new ArrayList<>();
    for (CommandBody body :
        List.of(react(1, "👍"), react(1, "❤️"), react(1, "❤️"), react(1, null), react(1, ""))) {
      ClientCommand c = command(2, 100, body);
      ThreadRules.Apply a = applied(c);
      assertSame(before, a.state(), "reactions do not reorder the inbox");
      assertFalse(a.threadChanged());
      assertTrue(a.messages().isEmpty());
      assertEquals(List.of(1L, 2L, 3L), recipients(a));
      for (Delta d : a.drafts()) {
        ReactionChanged r = d.getBody().getReactionChanged();
        assertEquals(1, r.getMessageId());
        assertEquals(2, r.getReactorUserId());
        assertEquals(d.getUserId() == 2 ? c.getClientId() : null, r.getClientId());
      }
      ReactionChanged own = a.drafts().get(1).getBody().getReactionChanged();
      seen.add(own.isSetEmoji() ? own.getEmoji() : "unset");
    }
    assertEquals(List.of("👍", "❤️", "❤️", "unset", "unset"), seen, "empty is removal too");
  }

  @Test
  void shouldAcceptAReactionToAnyMessageOfTheThreadWithoutTimeLimit() {
    thread100(2);
    applied(command(3, 100, react(1, "😂")));
    applied(command(1, 100, react(2, "😂")));
    long yearsLater = T0 + Duration.ofDays(1000).toMillis();
    applied(command(2, 100, react(1, "🎉")).setReceivedAtMs(yearsLater));
  }

  @Test
  void shouldRejectAReactionAbove64Bytes() {
    thread100(1);
    applied(command(2, 100, react(1, "x".repeat(64))));
    ThreadRules.Reject r =
        rejected(command(2, 100, react(1, "👍".repeat(17))), Rejection.INVALID_REACTION);
    assertEquals("reaction is 68 bytes, the limit is 64", r.message());
    assertEquals(ErrorCode.INVALID_ARGUMENT, r.rejection().errorCode());
  }

  @Test
  void shouldRejectAReactionToADeletedMessageTheStoreStillKnows() {
    thread100(1);
    applied(command(1, 100, delete(1)));
    ThreadRules.Reject r = rejected(command(2, 100, react(1, "👍")), Rejection.MESSAGE_DELETED);
    assertEquals("message 1 is deleted", r.message());
    rejected(command(2, 100, react(1, null)), Rejection.MESSAGE_DELETED);
    rejected(command(2, 100, react(1, "x".repeat(65))), Rejection.INVALID_REACTION);
    // Once the store has forgotten it, the deleted message's reactions are storage's to ignore.
    applied(command(2, 100, react(1, "👍")).setReceivedAtMs(T0 + DELETE.toMillis() + 1));
  }

  // ----- delivery marks ------------------------------------------------------------------------

  static CommandBody delivered(long upTo) {
    return CommandBody.markDelivered(new MarkDelivered(upTo));
  }

  /** A mark as the bridge writes it: the device's ids, client id "dlv:thread:upTo". */
  ClientCommand mark(long user, String device, long thread, long upTo) {
    return new ClientCommand(
        user, device, "dlv:" + thread + ":" + upTo, thread, T0, delivered(upTo));
  }

  ThreadRules.RecordDelivery recorded(ClientCommand c) {
    return assertInstanceOf(ThreadRules.RecordDelivery.class, submit(c, T0));
  }

  /** Asserts a rejection that only the dead letters hear of. */
  ThreadRules.Reject unheard(ClientCommand c, Rejection expected) {
    ThreadRules.Reject r = rejected(c, expected);
    assertFalse(r.tellSender(), "the device never sent this command: " + r);
    return r;
  }

  static DeviceDelivery dd(long user, String device, long upTo) {
    return new DeviceDelivery(user, device, upTo);
  }

  @Test
  void shouldRecordAFirstMarkAsPendingFromZeroWithoutDraftsOrAnythingToRemember() {
    thread100(3);
    ThreadRules.RecordDelivery r = recorded(mark(2, "phone", 100, 2));
    assertEquals(100, r.threadId());
    assertEquals(Map.of("2:phone", 2L), r.deliveries().getUpTo());
    assertEquals(List.of(dd(2, "phone", 2)), r.deliveries().getPending());
    assertEquals(0, r.deliveries().getPendingFrom());
    assertFalse(appliedAt.containsKey("2/phone/dlv:100:2"), "a mark is not remembered for resends");
  }

  @Test
  void shouldRejectAMarkOfAnUnknownThreadWithoutTellingTheSender() {
    ThreadRules.Reject r = unheard(mark(2, "phone", 100, 1), Rejection.UNKNOWN_THREAD);
    assertEquals("thread 100 does not exist", r.message());
    assertTrue(deliveries.isEmpty());
  }

  @Test
  void shouldRejectAMarkOfANonMemberWithoutTellingTheSender() {
    thread100(2);
    ThreadRules.Reject r = unheard(mark(9, "phone", 100, 1), Rejection.NOT_A_MEMBER);
    assertEquals("user 9 is not a member of thread 100", r.message());
    applied(command(1, 100, remove(3L)));
    unheard(mark(3, "phone", 100, 1), Rejection.NOT_A_MEMBER);
    assertTrue(deliveries.isEmpty());
  }

  @Test
  void shouldLookUpTheDeliveriesOnlyForAMarkThatPassesTheRules() {
    ThreadState thread = thread100(2);
    for (ClientCommand c :
        List.of(mark(9, "phone", 100, 1), mark(2, "phone", 100, 3), mark(2, "phone", 100, 0))) {
      assertInstanceOf(
          ThreadRules.Reject.class, rules.markDelivered(c, thread, NO_DELIVERIES), c.toString());
    }
    assertInstanceOf(
        ThreadRules.Reject.class,
        rules.markDelivered(mark(2, "phone", 100, 1), null, NO_DELIVERIES));
  }

  @Test
  void shouldRejectAMarkOfZeroOrAboveTheLastMessageWithoutTellingTheSender() {
    thread100(2);
    ThreadRules.Reject r = unheard(mark(2, "phone", 100, 3), Rejection.UNKNOWN_MESSAGE);
    assertEquals("message 3 is not in thread 100 (last is 2)", r.message());
    unheard(mark(2, "phone", 100, 0), Rejection.UNKNOWN_MESSAGE);
    unheard(mark(2, "phone", 100, -5), Rejection.UNKNOWN_MESSAGE);
    recorded(mark(2, "phone", 100, 2));
  }

  @Test
  void shouldNotTellTheSenderOfAMarkWithABadEnvelopeEither() {
    ClientCommand c = mark(2, "phone", 100, 1);
    ThreadRules.Decision d =
        rules.decide(c, 101, T0, NO_LOOKUP, NO_DEDUP, NO_MESSAGES, NO_DELIVERIES);
    ThreadRules.Reject r = assertInstanceOf(ThreadRules.Reject.class, d);
    assertEquals(Rejection.INVALID_COMMAND, r.rejection());
    assertFalse(r.tellSender());
  }

  @Test
  void shouldIgnoreAMarkAtOrBelowTheDevicesCurrentOne() {
    thread100(5);
    recorded(mark(2, "phone", 100, 4));
    ThreadDeliveries before = deliveries.get(100L).deepCopy();
    for (long upTo : List.of(4L, 3L, 1L)) {
      assertSame(ThreadRules.Ignore.DELIVERED_ALREADY, submit(mark(2, "phone", 100, upTo), T0));
    }
    assertEquals(before, deliveries.get(100L), "nothing changed");
    // Another device of the same user has a mark of its own.
    assertEquals(
        Map.of("2:phone", 4L, "2:tablet", 1L),
        recorded(mark(2, "tablet", 100, 1)).deliveries().getUpTo());
  }

  @Test
  void shouldNotLookUpDedupForAMarkAndJudgeItEvenIfItsClientIdWasSeen() {
    thread100(3);
    ClientCommand c = mark(2, "phone", 100, 1);
    ThreadRules.Decision d =
        rules.decide(c, 100, T0, threads::get, NO_DEDUP, NO_MESSAGES, deliveries::get);
    assertInstanceOf(ThreadRules.RecordDelivery.class, d);
  }

  @Test
  void shouldKeepOnePendingEntryPerDeviceTheNewestLastAndTheLowestMarkMovedFrom() {
    thread100(9);
    recorded(mark(2, "phone", 100, 3));
    recorded(mark(3, "phone", 100, 5));
    ThreadDeliveries flushed =
        ThreadRules.deliveryUpdates(100, threads.get(100L), deliveries.get(100L), T0).deliveries();
    deliveries.put(100L, flushed);
    recorded(mark(3, "phone", 100, 6)); // from 5
    recorded(mark(2, "phone", 100, 4)); // from 3
    ThreadDeliveries d = recorded(mark(3, "phone", 100, 8)).deliveries(); // from 6
    assertEquals(List.of(dd(2, "phone", 4), dd(3, "phone", 8)), d.getPending());
    assertEquals(3, d.getPendingFrom(), "the lowest mark a pending entry moved up from");
    assertEquals(Map.of("2:phone", 4L, "3:phone", 8L), d.getUpTo());
    ThreadDeliveries later = recorded(mark(1, "laptop", 100, 9)).deliveries();
    assertEquals(0, later.getPendingFrom(), "a new device moves up from 0");
  }

  @Test
  void shouldLeaveTheDeliveriesItWasGivenUnchanged() {
    ThreadState thread = thread100(3);
    recorded(mark(2, "phone", 100, 1));
    ThreadDeliveries before = deliveries.get(100L);
    ThreadDeliveries copy = before.deepCopy();
    rules.markDelivered(mark(2, "phone", 100, 3), thread, t -> before);
    rules.markDelivered(mark(3, "phone", 100, 3), thread, t -> before);
    ThreadRules.deliveryUpdates(100, thread, before, T0);
    assertEquals(copy, before);
  }

  @Test
  void shouldNotApplyAMarkWithoutItsDeliveries() {
    ThreadRules.Outcome o = rules.apply(mark(2, "phone", 100, 1), thread100(1));
    assertEquals(Rejection.UNSUPPORTED_COMMAND, o.rejection());
  }

  @Test
  void shouldKeepTheLastMessageOfEachSenderAndDropItForRemovedMembers() {
    thread100(0);
    assertFalse(threads.get(100L).isSetLastSentBy(), "nobody sent anything yet");
    applied(command(2, 100, say("a")));
    applied(command(3, 100, say("b")));
    applied(command(2, 100, say("c")));
    assertEquals(Map.of(2L, 3L, 3L, 2L), threads.get(100L).getLastSentBy());
    applied(command(2, 100, markRead(3)));
    applied(command(2, 100, react(1, "👍")));
    assertEquals(Map.of(2L, 3L, 3L, 2L), threads.get(100L).getLastSentBy(), "only sends count");
    applied(command(1, 100, remove(2L)));
    assertEquals(Map.of(3L, 2L), threads.get(100L).getLastSentBy());
    applied(command(1, 100, add(2L)));
    assertEquals(Map.of(3L, 2L), threads.get(100L).getLastSentBy(), "back, but sent nothing since");
  }

  @Test
  void shouldSendOneUpdateWithEveryPendingEntryToEachMemberWhoseLastMessageIsAboveTheMarksFrom() {
    thread100(0); // members 1, 2, 3
    applied(command(3, 100, say("m1")));
    applied(command(1, 100, say("m2")));
    recorded(mark(2, "phone", 100, 1));
    recorded(mark(2, "phone", 100, 2));
    recorded(mark(3, "tablet", 100, 2));
    recorded(mark(2, "laptop", 100, 1));
    ThreadState thread = threads.get(100L);
    ThreadRules.DeliveryFlush f =
        ThreadRules.deliveryUpdates(100, thread, deliveries.get(100L), T0 + 50);
    assertEquals(
        List.of(1L, 3L),
        f.drafts().stream().map(Delta::getUserId).toList(),
        "user 2 sent nothing; user 3 hears of its own tablet too");
    List<DeviceDelivery> expected =
        List.of(dd(2, "phone", 2), dd(3, "tablet", 2), dd(2, "laptop", 1));
    for (Delta d : f.drafts()) {
      assertEquals(100, d.getThreadId());
      assertEquals(T0 + 50, d.getServerTimestampMs());
      assertFalse(d.isSetPos());
      assertEquals(new DeliveryUpdate(expected), d.getBody().getDeliveryUpdate());
    }
    assertTrue(f.deliveries().getPending().isEmpty());
    assertFalse(f.deliveries().isSetPendingFrom());
    assertEquals(
        Map.of("2:phone", 2L, "3:tablet", 2L, "2:laptop", 1L),
        f.deliveries().getUpTo(),
        "the marks are kept");
  }

  @Test
  void shouldTellOnlySendersAboveTheLowestMarkMovedFrom() {
    thread100(0);
    applied(command(3, 100, say("m1")));
    applied(command(1, 100, say("m2")));
    applied(command(2, 100, say("m3")));
    recorded(mark(1, "phone", 100, 2));
    assertEquals(List.of(1L, 2L, 3L), flush(T0).drafts().stream().map(Delta::getUserId).toList());
    // From 2 to 3: only user 2 has a message above 2 (users 1 and 3 had theirs marked already).
    recorded(mark(1, "phone", 100, 3));
    ThreadRules.DeliveryFlush f = flush(T0);
    assertEquals(List.of(2L), f.drafts().stream().map(Delta::getUserId).toList());
  }

  ThreadRules.DeliveryFlush flush(long now) {
    ThreadRules.DeliveryFlush f =
        ThreadRules.deliveryUpdates(100, threads.get(100L), deliveries.get(100L), now);
    deliveries.put(100L, f.deliveries());
    return f;
  }

  @Test
  void shouldClearWithoutDraftsWhenNobodyIsConcernedOrTheThreadIsUnknown() {
    thread100(0);
    applied(command(1, 100, say("m1")));
    recorded(mark(2, "phone", 100, 1));
    applied(command(1, 100, remove(1L)));
    ThreadRules.DeliveryFlush f = flush(T0);
    assertTrue(f.drafts().isEmpty(), "the only sender left");
    assertTrue(f.deliveries().getPending().isEmpty());
    assertNull(ThreadRules.deliveryUpdates(100, threads.get(100L), f.deliveries(), T0));
    assertNull(ThreadRules.deliveryUpdates(100, threads.get(100L), null, T0));
    recorded(mark(2, "phone", 100, 1).setSenderDeviceId("tablet"));
    ThreadRules.DeliveryFlush unknown =
        ThreadRules.deliveryUpdates(100, null, deliveries.get(100L), T0);
    assertTrue(unknown.drafts().isEmpty());
    assertTrue(unknown.deliveries().getPending().isEmpty());
  }

  @Test
  void shouldNotDateAnUpdateBeforeTheThreadsLastActivity() {
    thread100(0);
    applied(command(1, 100, say("m1")).setReceivedAtMs(T0 + 9_000));
    recorded(mark(2, "phone", 100, 1));
    ThreadRules.DeliveryFlush f = flush(T0 + 1);
    assertEquals(T0 + 9_000, f.drafts().get(0).getServerTimestampMs());
    assertEquals(T0 + 9_000, threads.get(100L).getLastActivityMs(), "not reordered");
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
    assertEquals("NOT_A_MEMBER", cr.getRule(), "the rule an app may branch on");
    for (Rejection r : Rejection.values()) {
      assertEquals(
          r.name(), ThreadRules.rejectionDraft(c, r, "x").getBody().getCommandRejected().getRule());
    }
  }

  @Test
  void shouldRejectACommandTypeTheRulesDoNotKnowWhenAppliedDirectly() {
    ThreadRules.Outcome o = rules.apply(command(1, 100, new CommandBody()), thread100(0));
    assertEquals(Rejection.UNSUPPORTED_COMMAND, o.rejection());
    assertNull(o.state());
  }
}
