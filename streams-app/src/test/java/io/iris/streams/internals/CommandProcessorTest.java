package io.iris.streams.internals;

import static io.iris.streams.internals.MockContexts.attach;
import static io.iris.streams.internals.MockContexts.header;
import static io.iris.streams.internals.MockContexts.threadKey;
import static io.iris.streams.internals.MockContexts.total;
import static io.iris.streams.internals.MockContexts.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.ThreadState;
import io.iris.protocol.thrift.Typing;
import io.iris.topics.DeadLetters;
import io.iris.topics.serde.ThriftSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link CommandProcessor} alone, on a mock context with in-memory stores. */
class CommandProcessorTest {
  static final Duration WINDOW = Duration.ofMinutes(10);
  static final Duration EDIT = Duration.ofMinutes(15);
  static final Duration DELETE = Duration.ofHours(1);
  static final Duration BATCH = Duration.ofSeconds(1);
  static final CommandProcessor.Rules RULES =
      new CommandProcessor.Rules(100, 5, WINDOW, 1024, EDIT, DELETE, 2048, BATCH);
  static final long TS = 1_800_000_000_000L;
  static final long SYSTEM_NOW = 1_900_000_000_000L;
  static final String GROUP = "stream-iris-commands-metrics";

  MockProcessorContext<Long, Routed> context;
  KeyValueStore<Long, ThreadState> threads;
  WindowStore<String, Long> dedup;
  WindowStore<byte[], MessageFacts> messages;
  KeyValueStore<Long, ThreadDeliveries> deliveries;
  KeyValueStore<Long, Long> pending;
  CommandProcessor processor;
  int clientIds;

  @BeforeEach
  void setUp() {
    start(RULES);
  }

  /** A processor with {@code rules} on a new context, its stores built as the topology does. */
  void start(CommandProcessor.Rules rules) {
    context = new MockProcessorContext<>();
    threads =
        attach(
            context,
            Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore("threads"),
                Serdes.Long(),
                new ThriftSerde<>(ThreadState::new)));
    dedup =
        attach(
            context,
            Stores.windowStoreBuilder(
                Stores.inMemoryWindowStore("dedup", WINDOW.multipliedBy(2), WINDOW, false),
                Serdes.String(),
                Serdes.Long()));
    Duration retention = rules.messagesRetention();
    messages =
        attach(
            context,
            Stores.windowStoreBuilder(
                Stores.inMemoryWindowStore("messages", retention, retention, false),
                Serdes.ByteArray(),
                new ThriftSerde<>(MessageFacts::new)));
    deliveries =
        attach(
            context,
            Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore("deliveries"),
                Serdes.Long(),
                new ThriftSerde<>(ThreadDeliveries::new)));
    pending =
        attach(
            context,
            Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore("deliveries-pending"), Serdes.Long(), Serdes.Long()));
    context.setCurrentSystemTimeMs(SYSTEM_NOW);
    processor =
        new CommandProcessor(
            rules, "threads", "dedup", "messages", "deliveries", "deliveries-pending");
    processor.init(context);
    context.setRecordMetadata("iris.commands", 3, 42);
    context.setCurrentSystemTimeMs(SYSTEM_NOW);
  }

  // ----- helpers -------------------------------------------------------------------------------

  ClientCommand command(long sender, long thread, CommandBody body) {
    return new ClientCommand(sender, "dev-" + sender, "c" + (++clientIds), thread, TS, body);
  }

  static CommandBody say(String text) {
    return CommandBody.sendMessage(new SendMessage(text));
  }

  static Record<byte[], byte[]> record(ClientCommand c, long ts) {
    return new Record<>(threadKey(c.getThreadId()), FrameCodec.defaults().encode(c), ts);
  }

  List<Record<Long, Routed>> process(Record<byte[], byte[]> record) {
    context.resetForwards();
    processor.process(record);
    return MockContexts.forwarded(context);
  }

  /** Thread 100 of user 1 with users 2 and 3, as restored from the changelog. */
  ThreadState thread100() {
    ThreadState s =
        new ThreadState(
                100, 1, List.of(1L, 2L, 3L), 4L, TS - 1000, TS - 1000, "c0", new HashMap<>())
            .setName("t");
    threads.put(100L, s);
    return s;
  }

  List<Long> dedupTimes(String key) {
    List<Long> times = new ArrayList<>();
    try (WindowStoreIterator<Long> it = dedup.fetch(key, 0, Long.MAX_VALUE)) {
      it.forEachRemaining(kv -> times.add(kv.key));
    }
    return times;
  }

  /** Every window of message {@code messageId} of thread 100: (window timestamp, facts). */
  List<KeyValue<Long, MessageFacts>> stored(long messageId) {
    List<KeyValue<Long, MessageFacts>> out = new ArrayList<>();
    try (WindowStoreIterator<MessageFacts> it =
        messages.fetch(CommandProcessor.messageKey(100, messageId), 0, Long.MAX_VALUE)) {
      it.forEachRemaining(out::add);
    }
    return out;
  }

  static Delta userDelta(Record<Long, Routed> r) {
    Routed.UserDelta d = assertInstanceOf(Routed.UserDelta.class, r.value());
    assertEquals(d.delta().getUserId(), r.key(), "a delta is keyed by its user");
    return d.delta();
  }

  /** Asserts the dead letter of {@code in}: as received, with the reason in headers. */
  Headers assertDeadLetter(Record<Long, Routed> out, Record<byte[], byte[]> in, String reason) {
    assertNull(out.key());
    Routed.DeadLetter d = assertInstanceOf(Routed.DeadLetter.class, out.value());
    assertArrayEquals(in.key(), d.key(), "key kept byte for byte");
    assertArrayEquals(in.value(), d.value(), "value kept byte for byte");
    assertEquals(in.timestamp(), out.timestamp());
    Headers h = out.headers();
    assertEquals(reason, header(h, DeadLetters.REASON));
    assertEquals("streams-app", header(h, DeadLetters.REJECTED_BY));
    assertEquals(Long.toString(SYSTEM_NOW), header(h, DeadLetters.REJECTED_AT));
    return h;
  }

  void assertOnlyDeadLetter(Record<byte[], byte[]> in, String reason) {
    List<Record<Long, Routed>> out = process(in);
    assertEquals(1, out.size(), "nobody to tell: " + out);
    assertDeadLetter(out.get(0), in, reason);
  }

  void assertToldSender(Record<Long, Routed> out, ClientCommand c, ErrorCode code) {
    Delta d = userDelta(out);
    assertEquals(c.getSenderUserId(), d.getUserId());
    assertEquals(c.getThreadId(), d.getThreadId());
    assertEquals(c.getClientId(), d.getBody().getCommandRejected().getClientId());
    assertEquals(code, d.getBody().getCommandRejected().getCode());
    assertEquals(0, out.headers().toArray().length);
  }

  /** Asserts a rejection: its dead letter with the rule, then the sender told the same rule. */
  void assertRejected(ClientCommand c, long ts, String rule, ErrorCode code) {
    Record<byte[], byte[]> in = record(c, ts);
    List<Record<Long, Routed>> out = process(in);
    assertEquals(2, out.size(), out.toString());
    assertDeadLetter(out.get(0), in, rule);
    assertToldSender(out.get(1), c, code);
    assertEquals(rule, userDelta(out.get(1)).getBody().getCommandRejected().getRule());
  }

  // ----- applying ------------------------------------------------------------------------------

  @Test
  void shouldForwardOneDraftPerMemberKeyedByUserAtTheRecordsTime() {
    thread100();
    ClientCommand c = command(2, 100, say("hello"));
    List<Record<Long, Routed>> out = process(record(c, TS));
    assertEquals(List.of(1L, 2L, 3L), out.stream().map(Record::key).toList());
    for (Record<Long, Routed> r : out) {
      Delta d = userDelta(r);
      assertEquals(TS, r.timestamp());
      assertEquals(0, r.headers().toArray().length);
      assertEquals(5, d.getBody().getNewMessage().getMessageId());
      assertFalse(d.isSetPos(), "the position is the offset iris.log gives it");
    }
    assertTrue(context.forwarded().stream().allMatch(f -> f.childName().isEmpty()));
    assertEquals(1, total(context, GROUP, "applied"));
  }

  @Test
  void shouldStoreTheNewThreadStateAndRememberTheCommandAtTheRecordsTime() {
    ClientCommand c =
        command(1, 100, CommandBody.createThread(new CreateThread(List.of(2L)).setName("t")));
    process(record(c, TS));
    assertEquals(List.of(1L, 2L), threads.get(100L).getParticipantUserIds());
    assertEquals(List.of(TS), dedupTimes("1/dev-1/c1"));
    process(record(command(2, 100, say("x")), TS + 5));
    assertEquals(1, threads.get(100L).getLastMessageId());
    assertEquals(List.of(TS + 5), dedupTimes("2/dev-2/c2"));
  }

  @Test
  void shouldAcceptTextFramesOnTheKeyedPathToo() {
    thread100();
    ClientCommand c = command(1, 100, say("typed by hand"));
    byte[] text = utf8(FrameCodec.defaults().encodeText(c));
    assertEquals(3, process(new Record<>(threadKey(100), text, TS)).size());
  }

  // ----- resends -------------------------------------------------------------------------------

  @Test
  void shouldApplyAResendOnceWithinTheWindow() {
    thread100();
    Record<byte[], byte[]> r = record(command(1, 100, say("once")), TS);
    assertEquals(3, process(r).size());
    assertTrue(process(r).isEmpty());
    assertTrue(process(r.withTimestamp(TS + WINDOW.toMillis())).isEmpty());
    assertEquals(2, total(context, GROUP, "duplicates"));
    assertEquals(1, total(context, GROUP, "applied"));
    assertEquals(5, threads.get(100L).getLastMessageId());
  }

  @Test
  void shouldApplyAResendAgainOutsideTheWindow() {
    thread100();
    Record<byte[], byte[]> r = record(command(1, 100, say("twice")), TS);
    process(r);
    assertEquals(3, process(r.withTimestamp(TS + WINDOW.toMillis() + 1)).size());
    assertEquals(6, threads.get(100L).getLastMessageId());
    assertEquals(0, total(context, GROUP, "duplicates"));
  }

  @Test
  void shouldNotRememberARejectedCommand() {
    Record<byte[], byte[]> r = record(command(1, 100, say("too early")), TS);
    assertEquals(2, process(r).size());
    thread100();
    assertEquals(3, process(r.withTimestamp(TS + 1)).size(), "the resend is applied");
  }

  @Test
  void shouldDropTypingWithoutOutputOrState() {
    thread100();
    ClientCommand c = command(1, 100, CommandBody.typing(new Typing(true)));
    assertTrue(process(record(c, TS)).isEmpty());
    assertTrue(dedupTimes(ThreadRules.dedupKey(c)).isEmpty());
    assertEquals(1, total(context, GROUP, "typing-dropped"));
  }

  // ----- rejections ----------------------------------------------------------------------------

  @Test
  void shouldRejectSendFromNonMember() {
    ThreadState before = thread100();
    ClientCommand c = command(7, 100, say("let me in"));
    Record<byte[], byte[]> in = record(c, TS);
    List<Record<Long, Routed>> out = process(in);
    assertEquals(2, out.size());
    Headers h = assertDeadLetter(out.get(0), in, "NOT_A_MEMBER");
    assertEquals("user 7 is not a member of thread 100", header(h, DeadLetters.MESSAGE));
    assertToldSender(out.get(1), c, ErrorCode.NOT_A_MEMBER);
    assertEquals("NOT_A_MEMBER", userDelta(out.get(1)).getBody().getCommandRejected().getRule());
    assertEquals(TS, out.get(1).timestamp());
    assertEquals(before, threads.get(100L), "nothing changed");
    assertEquals(1, total(context, GROUP, "rejected-not-a-member"));
    assertEquals(0, total(context, GROUP, "applied"));
  }

  @Test
  void shouldRejectSendToUnknownThread() {
    ClientCommand c = command(1, 999, say("into the void"));
    List<Record<Long, Routed>> out = process(record(c, TS));
    assertDeadLetter(out.get(0), record(c, TS), "UNKNOWN_THREAD");
    assertToldSender(out.get(1), c, ErrorCode.UNKNOWN_THREAD);
    assertNull(threads.get(999L));
  }

  @Test
  void shouldNameTheRecordsPlaceInIrisCommandsInTheDeadLetter() {
    Record<byte[], byte[]> in = record(command(1, 999, say("x")), TS);
    Headers h = assertDeadLetter(process(in).get(0), in, "UNKNOWN_THREAD");
    assertEquals("iris.commands", header(h, DeadLetters.SOURCE_TOPIC));
    assertEquals("3", header(h, DeadLetters.SOURCE_PARTITION));
    assertEquals("42", header(h, DeadLetters.SOURCE_OFFSET));
  }

  @Test
  void shouldKeepTheRecordsHeadersAndThePlaceNamedUpstream() {
    // What KeyByThread writes for a record that came unkeyed, through the repartition topic.
    Headers upstream = new RecordHeaders();
    upstream.add("trace", utf8("abc"));
    upstream.add(DeadLetters.SOURCE_TOPIC, utf8("iris.commands"));
    upstream.add(DeadLetters.SOURCE_PARTITION, utf8("0"));
    upstream.add(DeadLetters.SOURCE_OFFSET, utf8("7"));
    context.setRecordMetadata("iris-commands-by-thread-repartition", 1, 99);
    Record<byte[], byte[]> in = record(command(1, 999, say("x")), TS).withHeaders(upstream);
    Headers h = assertDeadLetter(process(in).get(0), in, "UNKNOWN_THREAD");
    assertEquals("abc", header(h, "trace"));
    assertEquals(8, h.toArray().length, "one header of each: " + Arrays.toString(h.toArray()));
    assertEquals("iris.commands", header(h, DeadLetters.SOURCE_TOPIC));
    assertEquals("7", header(h, DeadLetters.SOURCE_OFFSET));
  }

  @Test
  void shouldRejectAMalformedKeyWithoutTellingAnyone() {
    byte[] good = FrameCodec.defaults().encode(command(1, 100, say("x")));
    assertOnlyDeadLetter(new Record<>(null, good, TS), "MALFORMED_KEY");
    assertOnlyDeadLetter(new Record<>(new byte[] {1, 2}, good, TS), "MALFORMED_KEY");
    assertEquals(2, total(context, GROUP, "rejected-malformed-key"));
  }

  @Test
  void shouldRejectAValueThatDoesNotDecodeWithTheCodecsReason() {
    byte[] good = FrameCodec.defaults().encode(command(1, 100, say("x")));
    byte[] badVersion = good.clone();
    badVersion[0] = 9;
    byte[] huge = new byte[2000];
    huge[0] = FrameCodec.VERSION;
    assertOnlyDeadLetter(new Record<>(threadKey(100), null, TS), "EMPTY");
    assertOnlyDeadLetter(new Record<>(threadKey(100), new byte[0], TS), "EMPTY");
    assertOnlyDeadLetter(new Record<>(threadKey(100), badVersion, TS), "UNSUPPORTED_VERSION");
    assertOnlyDeadLetter(new Record<>(threadKey(100), huge, TS), "FRAME_TOO_LARGE");
    assertOnlyDeadLetter(
        new Record<>(threadKey(100), Arrays.copyOf(good, good.length - 3), TS), "MALFORMED");
    assertEquals(2, total(context, GROUP, "rejected-empty"));
    assertEquals(1, total(context, GROUP, "rejected-unsupported-version"));
    assertEquals(1, total(context, GROUP, "rejected-frame-too-large"));
    assertEquals(1, total(context, GROUP, "rejected-malformed"));
  }

  @Test
  void shouldRejectTextThatIsNotUtf8InsteadOfStoringAReplacement() {
    // Before, "\u00c3(" became "\ufffd(" in every member's delta and in MySQL.
    byte[] good = FrameCodec.defaults().encode(command(1, 100, say("ab")));
    byte[] bad = good.clone();
    for (int i = 0; i + 1 < bad.length; i++) {
      if (bad[i] == 'a' && bad[i + 1] == 'b') {
        bad[i] = (byte) 0xC3;
      }
    }
    assertOnlyDeadLetter(new Record<>(threadKey(100), bad, TS), "INVALID_UTF8");
    assertEquals(1, total(context, GROUP, "rejected-invalid-utf8"));
  }

  @Test
  void shouldRejectAnInvalidEnvelopeAndTellTheSenderOnlyWhenTheirIdsAreValid() {
    ClientCommand otherThread = command(1, 100, say("x"));
    Record<byte[], byte[]> in = record(otherThread, TS).withKey(threadKey(101));
    List<Record<Long, Routed>> out = process(in);
    Headers h = assertDeadLetter(out.get(0), in, "INVALID_COMMAND");
    assertEquals("threadId 100 differs from the record key 101", header(h, DeadLetters.MESSAGE));
    assertToldSender(out.get(1), otherThread, ErrorCode.INVALID_ARGUMENT);

    assertOnlyDeadLetter(record(command(1, 100, say("x")).setClientId(" "), TS), "INVALID_COMMAND");
    assertEquals(2, total(context, GROUP, "rejected-invalid-command"));
  }

  @Test
  void shouldSayWhyInTheRejectionItSendsTheSender() {
    thread100();
    ClientCommand c = command(1, 100, say("é".repeat(51)));
    List<Record<Long, Routed>> out = process(record(c, TS));
    assertToldSender(out.get(1), c, ErrorCode.MESSAGE_TOO_LARGE);
    assertEquals(
        "message text is 102 bytes, the limit is 100",
        userDelta(out.get(1)).getBody().getCommandRejected().getReason());
  }

  // ----- recent messages ---------------------------------------------------------------------

  static CommandBody edit(long messageId, String text) {
    return CommandBody.editMessage(new EditMessage(messageId, text));
  }

  static CommandBody delete(long messageId) {
    return CommandBody.deleteMessage(new DeleteMessage(messageId));
  }

  @Test
  void shouldKeyTheMessagesStoreByThreadAndMessageIdIn16Bytes() {
    byte[] key = CommandProcessor.messageKey(0x0102030405060708L, 9);
    assertArrayEquals(
        new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9}, key, Arrays.toString(key));
  }

  @Test
  void shouldRememberASentMessageAtItsServerTimeAndReplaceItWhenDeleted() {
    thread100();
    process(record(command(2, 100, say("hello")), TS + 3)); // message 5, received at TS
    assertEquals(List.of(KeyValue.pair(TS, new MessageFacts(2, TS))), stored(5));
    ClientCommand delete = command(2, 100, delete(5)).setReceivedAtMs(TS + 60_000);
    List<Record<Long, Routed>> out = process(record(delete, TS + 60_000));
    assertEquals(List.of(1L, 2L, 3L), out.stream().map(Record::key).toList());
    assertEquals(5, userDelta(out.get(0)).getBody().getMessageDeleted().getMessageId());
    assertEquals(
        List.of(KeyValue.pair(TS, new MessageFacts(2, TS).setDeleted(true))),
        stored(5),
        "the same window: replaced, not a second record");
    assertEquals(5, threads.get(100L).getLastMessageId());
    assertEquals(TS, threads.get(100L).getLastActivityMs(), "a delete does not reorder");
  }

  @Test
  void shouldJudgeEditsByTheStoredFactsAndRejectThemWithTheirRule() {
    thread100();
    // Message 3 of user 1, sent 10 minutes before the thread's last activity, as restored.
    messages.put(
        CommandProcessor.messageKey(100, 3), new MessageFacts(1, TS - 600_000), TS - 600_000);
    assertRejected(command(2, 100, edit(3, "x")), TS, "NOT_THE_SENDER", ErrorCode.UNAUTHORISED);
    assertRejected(
        command(1, 100, edit(4, "x")), TS, "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertRejected(
        command(1, 100, edit(9, "x")), TS, "UNKNOWN_MESSAGE", ErrorCode.INVALID_ARGUMENT);
    ClientCommand ok = command(1, 100, edit(3, "better"));
    List<Record<Long, Routed>> out = process(record(ok, TS));
    assertEquals(3, out.size());
    assertEquals("better", userDelta(out.get(0)).getBody().getMessageEdited().getText());
    assertEquals(
        ok.getClientId(), userDelta(out.get(0)).getBody().getMessageEdited().getClientId());
    assertNull(userDelta(out.get(1)).getBody().getMessageEdited().getClientId());
    ClientCommand late = command(1, 100, edit(3, "x")).setReceivedAtMs(TS + 300_001);
    assertRejected(late, TS, "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertEquals(1, total(context, GROUP, "rejected-not-the-sender"));
    assertEquals(2, total(context, GROUP, "rejected-edit-window-passed"));
    assertEquals(1, total(context, GROUP, "rejected-unknown-message"));
  }

  @Test
  void shouldFanOutReactionsAndRejectThoseToADeletedMessage() {
    thread100();
    messages.put(
        CommandProcessor.messageKey(100, 2), new MessageFacts(1, TS - 9).setDeleted(true), TS - 9);
    assertRejected(
        command(3, 100, CommandBody.react(new React(2).setEmoji("👍"))),
        TS,
        "MESSAGE_DELETED",
        ErrorCode.INVALID_ARGUMENT);
    List<Record<Long, Routed>> out =
        process(record(command(3, 100, CommandBody.react(new React(1).setEmoji("👍"))), TS));
    assertEquals(3, out.size(), "message 1 is older than the store keeps: accepted");
    assertEquals("👍", userDelta(out.get(0)).getBody().getReactionChanged().getEmoji());
  }

  @Test
  void shouldNeverWriteTheMessagesStoreWhenBothWindowsAreZero() {
    start(
        new CommandProcessor.Rules(
            100, 5, WINDOW, 1024, Duration.ZERO, Duration.ZERO, 2048, BATCH));
    thread100();
    assertEquals(3, process(record(command(1, 100, say("x")), TS)).size());
    assertTrue(stored(5).isEmpty());
    assertRejected(
        command(1, 100, edit(5, "y")), TS, "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertRejected(
        command(1, 100, delete(5)), TS, "DELETE_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
  }

  // ----- delivery receipts -------------------------------------------------------------------

  /** A mark as the bridge writes it for {@code user}'s {@code device}. */
  static ClientCommand mark(long user, String device, long thread, long upTo) {
    return new ClientCommand(
        user,
        device,
        "dlv:" + thread + ":" + upTo,
        thread,
        TS,
        CommandBody.markDelivered(new MarkDelivered(upTo)));
  }

  /** Thread 100 where user 3 sent message 5 after user 1's four. */
  void thread100WithMessageOf3() {
    threads.put(100L, thread100().setLastSentBy(new HashMap<>(Map.of(1L, 4L))));
    assertEquals(3, process(record(command(3, 100, say("five")), TS)).size());
  }

  MockProcessorContext.CapturedPunctuator punctuator() {
    assertEquals(1, context.scheduledPunctuators().size());
    return context.scheduledPunctuators().get(0);
  }

  List<Record<Long, Routed>> punctuate(long now) {
    context.resetForwards();
    context.setCurrentSystemTimeMs(now);
    punctuator().getPunctuator().punctuate(now);
    return MockContexts.forwarded(context);
  }

  List<Long> pendingThreads() {
    List<Long> out = new ArrayList<>();
    try (var it = pending.all()) {
      it.forEachRemaining(kv -> out.add(kv.key));
    }
    return out;
  }

  @Test
  void shouldScheduleAWallClockPunctuatorEveryBatchInterval() {
    MockProcessorContext.CapturedPunctuator p = punctuator();
    assertEquals(BATCH, p.getInterval());
    assertEquals(PunctuationType.WALL_CLOCK_TIME, p.getType());
  }

  @Test
  void shouldHoldMarksUntilThePunctuatorAndThenTellEachSenderOnce() {
    thread100WithMessageOf3();
    assertTrue(process(record(mark(2, "phone", 100, 5), TS)).isEmpty());
    assertTrue(process(record(mark(1, "laptop", 100, 5), TS)).isEmpty());
    assertTrue(process(record(mark(2, "phone", 100, 4), TS)).isEmpty(), "below: ignored");
    assertEquals(List.of(100L), pendingThreads());
    assertEquals(SYSTEM_NOW, pending.get(100L), "the time of the first pending mark");
    assertEquals(2, deliveries.get(100L).getPendingSize());
    assertTrue(dedupTimes("2/phone/dlv:100:5").isEmpty(), "marks are not remembered");

    List<Record<Long, Routed>> out = punctuate(SYSTEM_NOW + 1000);
    // lastSentBy: user 1 (message 4), user 3 (message 5); both above pendingFrom 0.
    assertEquals(List.of(1L, 3L), out.stream().map(Record::key).toList());
    for (Record<Long, Routed> r : out) {
      Delta d = userDelta(r);
      assertEquals(SYSTEM_NOW + 1000, r.timestamp());
      assertEquals(SYSTEM_NOW + 1000, d.getServerTimestampMs());
      assertEquals(100, d.getThreadId());
      assertEquals(
          List.of(new DeviceDelivery(2, "phone", 5), new DeviceDelivery(1, "laptop", 5)),
          d.getBody().getDeliveryUpdate().getDeliveries());
    }
    assertTrue(pendingThreads().isEmpty());
    assertEquals(0, deliveries.get(100L).getPendingSize());
    assertFalse(deliveries.get(100L).isSetPendingFrom());
    assertEquals(2, total(context, GROUP, "delivery-marks"));
    assertEquals(1, total(context, GROUP, "delivery-marks-ignored"));
    assertEquals(2, total(context, GROUP, "delivery-updates"));
    assertEquals(1, total(context, GROUP, "applied"), "only the send counts as applied");

    assertTrue(punctuate(SYSTEM_NOW + 2000).isEmpty(), "nothing pending, nothing sent");
  }

  @Test
  void shouldDeadLetterARejectedMarkWithoutTellingTheSender() {
    thread100WithMessageOf3();
    assertOnlyDeadLetter(record(mark(2, "phone", 999, 1), TS), "UNKNOWN_THREAD");
    assertOnlyDeadLetter(record(mark(7, "phone", 100, 1), TS), "NOT_A_MEMBER");
    assertOnlyDeadLetter(record(mark(2, "phone", 100, 6), TS), "UNKNOWN_MESSAGE");
    assertOnlyDeadLetter(record(mark(2, "phone", 100, 0), TS), "UNKNOWN_MESSAGE");
    assertOnlyDeadLetter(
        record(mark(2, "phone", 100, 1), TS).withKey(threadKey(101)), "INVALID_COMMAND");
    assertTrue(pendingThreads().isEmpty());
    assertNull(deliveries.get(100L));
    assertTrue(punctuate(SYSTEM_NOW + 1000).isEmpty());
    assertEquals(2, total(context, GROUP, "rejected-unknown-message"));
  }

  @Test
  void shouldFlushEachMarkAtOnceWhenTheBatchIsZero() {
    start(new CommandProcessor.Rules(100, 5, WINDOW, 1024, EDIT, DELETE, 2048, Duration.ZERO));
    assertTrue(context.scheduledPunctuators().isEmpty(), "no punctuator");
    thread100WithMessageOf3();
    Record<byte[], byte[]> in = record(mark(2, "phone", 100, 5), TS + 7);
    List<Record<Long, Routed>> out = process(in);
    assertEquals(List.of(1L, 3L), out.stream().map(Record::key).toList());
    for (Record<Long, Routed> r : out) {
      assertEquals(TS + 7, r.timestamp(), "the mark's record time, as other deltas");
      Delta d = userDelta(r);
      assertEquals(SYSTEM_NOW, d.getServerTimestampMs(), "the flush time");
      assertEquals(
          List.of(new DeviceDelivery(2, "phone", 5)),
          d.getBody().getDeliveryUpdate().getDeliveries());
    }
    assertTrue(pendingThreads().isEmpty());
    assertEquals(0, deliveries.get(100L).getPendingSize());
    assertEquals(5, deliveries.get(100L).getUpTo().get("2:phone"));
    assertTrue(process(record(mark(2, "phone", 100, 5), TS)).isEmpty());
  }

  @Test
  void shouldFlushMarksLeftPendingWhenTheBatchBecameZero() {
    thread100WithMessageOf3();
    process(record(mark(2, "phone", 100, 4), TS));
    assertEquals(List.of(100L), pendingThreads());
    // Restarted with a batch of zero on the same stores.
    processor.close();
    processor =
        new CommandProcessor(
            new CommandProcessor.Rules(100, 5, WINDOW, 1024, EDIT, DELETE, 2048, Duration.ZERO),
            "threads",
            "dedup",
            "messages",
            "deliveries",
            "deliveries-pending");
    processor.init(context);
    List<Record<Long, Routed>> out = process(record(mark(1, "laptop", 100, 5), TS));
    assertEquals(List.of(1L, 3L), out.stream().map(Record::key).toList());
    assertEquals(2, userDelta(out.get(0)).getBody().getDeliveryUpdate().getDeliveriesSize());
    assertTrue(pendingThreads().isEmpty());
  }

  // ----- life cycle ----------------------------------------------------------------------------

  @Test
  void shouldRegisterASensorPerRejectionAndRemoveThemAllOnClose() {
    for (Rejection r : Rejection.values()) {
      assertEquals(0, total(context, GROUP, r.metricName()));
      assertTrue(
          context.metrics().metrics().keySet().stream()
              .anyMatch(n -> n.name().equals(r.metricName() + "-total")),
          r.metricName());
    }
    processor.close();
    assertFalse(MockContexts.anyMetricIn(context, GROUP));
  }
}
