package io.iris.streams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.Typing;
import io.iris.streams.internals.CommandProcessor;
import io.iris.streams.internals.ThreadRules;
import io.iris.topics.DeadLetters;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IrisTopologyTest {
  static final Duration WINDOW = Duration.ofMinutes(10);
  static final Duration EDIT = Duration.ofMinutes(15);
  static final Duration DELETE = Duration.ofHours(1);

  TopologyTestDriver driver;
  TestInputTopic<byte[], byte[]> commands;
  TestOutputTopic<Long, Delta> log;
  TestOutputTopic<byte[], byte[]> dlq;
  Instant now = Instant.parse("2026-11-28T12:00:00Z");
  int clientIds;

  /** The driver's wall clock, moved only by {@link #flush()}. */
  long wallClock;

  @BeforeEach
  void setUp() {
    start(EDIT, DELETE);
  }

  void start(Duration edit, Duration delete) {
    start(edit, delete, Map.of());
  }

  /** A new driver, its wall clock at {@link #now}, with {@code overrides} of the settings. */
  void start(Duration edit, Duration delete, Map<String, Object> overrides) {
    Map<String, Object> settings =
        new HashMap<>(
            Map.of(
                StreamsAppConfig.MAX_TEXT_BYTES_CONFIG, 100,
                StreamsAppConfig.MAX_PARTICIPANTS_CONFIG, 5,
                StreamsAppConfig.DEDUP_WINDOW_MS_CONFIG, WINDOW.toMillis(),
                StreamsAppConfig.MAX_FRAME_BYTES_CONFIG, 1024,
                StreamsAppConfig.EDIT_WINDOW_MS_CONFIG, edit.toMillis(),
                StreamsAppConfig.DELETE_WINDOW_MS_CONFIG, delete.toMillis(),
                StreamsAppConfig.MAX_PREVIEW_BYTES_CONFIG, 64));
    settings.putAll(overrides);
    StreamsAppConfig config = new StreamsAppConfig(settings);
    if (driver != null) {
      driver.close();
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "iris-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    driver = new TopologyTestDriver(IrisTopology.build(config), props, now);
    wallClock = now.toEpochMilli();
    commands =
        driver.createInputTopic(
            Topics.COMMANDS.name(), new ByteArraySerializer(), new ByteArraySerializer());
    log =
        driver.createOutputTopic(
            Topics.LOG.name(), new LongDeserializer(), Topics.LOG.valueSerde().deserializer());
    dlq =
        driver.createOutputTopic(
            Topics.DLQ.name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  // ----- helpers -------------------------------------------------------------------------------

  static byte[] key(long threadId) {
    return ByteBuffer.allocate(8).putLong(threadId).array();
  }

  ClientCommand command(long sender, long thread, CommandBody body) {
    return new ClientCommand(
        sender, "dev-" + sender, "c" + (++clientIds), thread, now.toEpochMilli(), body);
  }

  void send(ClientCommand c) {
    commands.pipeInput(
        new TestRecord<>(key(c.getThreadId()), FrameCodec.defaults().encode(c), now));
    now = now.plusMillis(10);
  }

  ClientCommand create(long creator, long thread, Long... others) {
    ClientCommand c =
        command(
            creator,
            thread,
            CommandBody.createThread(
                new CreateThread(Arrays.asList(others)).setName("t" + thread)));
    send(c);
    return c;
  }

  ClientCommand say(long sender, long thread, String text) {
    ClientCommand c = command(sender, thread, CommandBody.sendMessage(new SendMessage(text)));
    send(c);
    return c;
  }

  List<Delta> drainLog() {
    List<Delta> out = new ArrayList<>();
    while (!log.isEmpty()) {
      TestRecord<Long, Delta> r = log.readRecord();
      assertEquals(r.key(), r.value().getUserId(), "iris.log is keyed by user id");
      out.add(r.value());
    }
    return out;
  }

  static Map<Long, List<Delta>> byUser(List<Delta> deltas) {
    return deltas.stream().collect(Collectors.groupingBy(Delta::getUserId, Collectors.toList()));
  }

  double total(String operation) {
    double sum = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : driver.metrics().entrySet()) {
      if (e.getKey().name().equals(operation + "-total")) {
        sum += ((Number) e.getValue().metricValue()).doubleValue();
      }
    }
    return sum;
  }

  static String header(TestRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  TestRecord<byte[], byte[]> onlyDeadLetter(String reason) {
    assertFalse(dlq.isEmpty(), "a dead letter is expected");
    TestRecord<byte[], byte[]> r = dlq.readRecord();
    assertTrue(dlq.isEmpty(), "exactly one dead letter");
    assertEquals(reason, header(r, DeadLetters.REASON));
    assertEquals(Topics.COMMANDS.name(), header(r, DeadLetters.SOURCE_TOPIC));
    assertEquals("0", header(r, DeadLetters.SOURCE_PARTITION));
    assertTrue(header(r, DeadLetters.SOURCE_OFFSET) != null);
    assertEquals("streams-app", header(r, DeadLetters.REJECTED_BY));
    return r;
  }

  CommandRejected assertRejectedToSender(ClientCommand c, ErrorCode code) {
    List<Delta> deltas = drainLog();
    assertEquals(1, deltas.size(), "only the sender hears of a rejection: " + deltas);
    Delta d = deltas.get(0);
    assertEquals(c.getSenderUserId(), d.getUserId());
    assertTrue(d.getBody().isSetCommandRejected());
    assertEquals(c.getClientId(), d.getBody().getCommandRejected().getClientId());
    assertEquals(code, d.getBody().getCommandRejected().getCode());
    return d.getBody().getCommandRejected();
  }

  /** Asserts {@code c}'s dead letter and the sender's CommandRejected, both naming {@code rule}. */
  CommandRejected assertRejected(ClientCommand c, String rule, ErrorCode code) {
    onlyDeadLetter(rule);
    CommandRejected cr = assertRejectedToSender(c, code);
    assertEquals(rule, cr.getRule());
    return cr;
  }

  ClientCommand edit(long sender, long thread, long messageId, String text) {
    ClientCommand c =
        command(sender, thread, CommandBody.editMessage(new EditMessage(messageId, text)));
    send(c);
    return c;
  }

  ClientCommand delete(long sender, long thread, long messageId) {
    ClientCommand c =
        command(sender, thread, CommandBody.deleteMessage(new DeleteMessage(messageId)));
    send(c);
    return c;
  }

  ClientCommand react(long sender, long thread, long messageId, String emoji) {
    React r = new React().setMessageId(messageId);
    if (emoji != null) {
      r.setEmoji(emoji);
    }
    ClientCommand c = command(sender, thread, CommandBody.react(r));
    send(c);
    return c;
  }

  /** Every window the messages store holds for a message: (window timestamp, facts). */
  List<KeyValue<Long, MessageFacts>> stored(long thread, long messageId) {
    WindowStore<byte[], MessageFacts> store = driver.getWindowStore(IrisTopology.MESSAGES_STORE);
    List<KeyValue<Long, MessageFacts>> out = new ArrayList<>();
    try (WindowStoreIterator<MessageFacts> it =
        store.fetch(CommandProcessor.messageKey(thread, messageId), 0L, Long.MAX_VALUE)) {
      it.forEachRemaining(out::add);
    }
    return out;
  }

  /** Asserts one delta per member of {@code members}, the client id only in the actor's. */
  static Map<Long, Delta> onePerMember(List<Delta> deltas, List<Long> members) {
    Map<Long, List<Delta>> byUser = byUser(deltas);
    assertEquals(members, byUser.keySet().stream().sorted().toList(), deltas.toString());
    Map<Long, Delta> out = new HashMap<>();
    byUser.forEach(
        (u, list) -> {
          assertEquals(1, list.size(), "user " + u);
          out.put(u, list.get(0));
        });
    return out;
  }

  // ----- behaviour -----------------------------------------------------------------------------

  @Test
  void shouldCreateThreadAndTellEveryMemberWithTheClientIdOnlyInTheCreatorsDelta() {
    ClientCommand c = create(1, 100, 2L, 3L);
    Map<Long, List<Delta>> byUser = byUser(drainLog());
    assertEquals(List.of(1L, 2L, 3L), byUser.keySet().stream().sorted().toList());
    for (long u : List.of(1L, 2L, 3L)) {
      Delta d = byUser.get(u).get(0);
      assertFalse(d.isSetPos(), "a delta's position is the offset iris.log gives it");
      assertEquals(100, d.getThreadId());
      assertEquals(List.of(1L, 2L, 3L), d.getBody().getThreadCreated().getParticipantUserIds());
      assertEquals("t100", d.getBody().getThreadCreated().getName());
      assertEquals(u == 1 ? c.getClientId() : null, d.getBody().getThreadCreated().getClientId());
    }
    assertTrue(dlq.isEmpty());
    assertEquals(1, total("applied"));
    assertEquals(3, total("deltas-out"), "one delta per member, counted");
  }

  @Test
  void shouldWriteEveryUsersDeltasInEachThreadsOrderAcrossThreads() {
    create(1, 100, 2L, 3L);
    create(2, 200, 3L, 4L);
    for (int i = 0; i < 20; i++) {
      say(1 + (i % 3), 100, "m" + i);
      say(2 + (i % 3), 200, "n" + i);
    }
    Map<Long, List<Delta>> byUser = byUser(drainLog());
    assertEquals(4, byUser.size());
    for (Map.Entry<Long, List<Delta>> e : byUser.entrySet()) {
      Map<Long, Long> lastMessage = new HashMap<>();
      for (Delta d : e.getValue()) {
        assertFalse(d.isSetPos(), "user " + e.getKey());
        if (d.getBody().isSetNewMessage()) {
          long id = d.getBody().getNewMessage().getMessageId();
          Long before = lastMessage.put(d.getThreadId(), id);
          assertTrue(before == null || before < id, "user " + e.getKey() + " thread order");
        }
      }
    }
    assertEquals(21, byUser.get(1L).size()); // create + 20 messages of thread 100
    assertEquals(42, byUser.get(3L).size()); // member of both
  }

  @Test
  void shouldShowEveryMemberTheSameOrderOfAThreadsMessages() {
    create(1, 100, 2L, 3L);
    create(3, 300, 1L);
    for (int i = 0; i < 30; i++) {
      say(1 + (i % 3), 100, "m" + i);
      if (i % 4 == 0) {
        say(1, 300, "x" + i);
      }
    }
    Map<Long, List<Delta>> byUser = byUser(drainLog());
    List<List<String>> orders = new ArrayList<>();
    for (long u : List.of(1L, 2L, 3L)) {
      List<Delta> msgs =
          byUser.get(u).stream()
              .filter(d -> d.getThreadId() == 100 && d.getBody().isSetNewMessage())
              .toList();
      for (int i = 1; i < msgs.size(); i++) {
        assertTrue(
            msgs.get(i).getBody().getNewMessage().getMessageId()
                > msgs.get(i - 1).getBody().getNewMessage().getMessageId());
        assertTrue(msgs.get(i).getServerTimestampMs() >= msgs.get(i - 1).getServerTimestampMs());
      }
      orders.add(msgs.stream().map(d -> d.getBody().getNewMessage().getText()).toList());
    }
    assertEquals(30, orders.get(0).size());
    assertEquals(orders.get(0), orders.get(1));
    assertEquals(orders.get(0), orders.get(2));
  }

  @Test
  void shouldConfirmASendOnlyInTheSendersOwnDelta() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand c = say(2, 100, "hello");
    Map<Long, List<Delta>> byUser = byUser(drainLog());
    assertEquals(c.getClientId(), byUser.get(2L).get(0).getBody().getNewMessage().getClientId());
    assertEquals("dev-2", byUser.get(2L).get(0).getBody().getNewMessage().getSenderDeviceId());
    assertNull(byUser.get(1L).get(0).getBody().getNewMessage().getClientId());
    assertEquals(1, byUser.get(1L).get(0).getBody().getNewMessage().getMessageId());
  }

  @Test
  void shouldApplyAResentCommandOnceWithinTheWindow() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand c = say(1, 100, "only once");
    send(c); // the phone timed out and resent the same client id
    now = now.plus(WINDOW.dividedBy(2));
    send(c);
    List<Delta> deltas = drainLog();
    assertEquals(2, deltas.size(), "one message, two members: " + deltas);
    assertEquals(2, total("duplicates"));
    assertTrue(dlq.isEmpty());
  }

  @Test
  void shouldForgetClientIdsAfterTheWindowSoTheStoreStaysBounded() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand c = say(1, 100, "hi");
    drainLog();
    now = now.plus(WINDOW.multipliedBy(3));
    say(2, 100, "advance stream time");
    drainLog();
    send(c);
    assertEquals(2, drainLog().size(), "remembered for the window only");
  }

  @Test
  void shouldTreatARecreateOfTheSameThreadByItsCreatorAsDone() {
    ClientCommand c = create(1, 100, 2L);
    drainLog();
    now = now.plus(WINDOW.multipliedBy(3));
    send(c);
    assertTrue(drainLog().isEmpty());
    assertTrue(dlq.isEmpty());
  }

  @Test
  void shouldRejectUnknownThread() {
    ClientCommand c = say(1, 999, "into the void");
    TestRecord<byte[], byte[]> dead = onlyDeadLetter("UNKNOWN_THREAD");
    assertArrayEquals(FrameCodec.defaults().encode(c), dead.value(), "kept byte for byte");
    assertArrayEquals(key(999), dead.key());
    assertTrue(header(dead, DeadLetters.MESSAGE).contains("999"));
    assertRejectedToSender(c, ErrorCode.UNKNOWN_THREAD);
    assertEquals(1, total("rejected-unknown-thread"));
  }

  @Test
  void shouldRejectSenderWhoIsNotAMember() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand c = say(7, 100, "let me in");
    onlyDeadLetter("NOT_A_MEMBER");
    assertRejectedToSender(c, ErrorCode.NOT_A_MEMBER);
    assertEquals(1, total("rejected-not-a-member"));
  }

  @Test
  void shouldRejectEmptyAndOversizedText() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand empty = say(1, 100, "   ");
    onlyDeadLetter("EMPTY_TEXT");
    assertRejectedToSender(empty, ErrorCode.INVALID_ARGUMENT);
    ClientCommand big = say(1, 100, "é".repeat(51)); // 102 bytes > 100
    onlyDeadLetter("MESSAGE_TOO_LARGE");
    assertRejectedToSender(big, ErrorCode.MESSAGE_TOO_LARGE);
    say(1, 100, "x".repeat(100));
    assertEquals(2, drainLog().size(), "exactly at the limit is fine");
  }

  @Test
  void shouldRejectTooManyParticipantsOnCreateAndOnAdd() {
    ClientCommand tooBig = create(1, 100, 2L, 3L, 4L, 5L, 6L);
    onlyDeadLetter("TOO_MANY_PARTICIPANTS");
    assertRejectedToSender(tooBig, ErrorCode.TOO_MANY_PARTICIPANTS);
    create(1, 101, 2L, 3L, 4L);
    drainLog();
    ClientCommand add =
        command(1, 101, CommandBody.addParticipants(new AddParticipants(List.of(5L, 6L))));
    send(add);
    onlyDeadLetter("TOO_MANY_PARTICIPANTS");
    assertRejectedToSender(add, ErrorCode.TOO_MANY_PARTICIPANTS);
  }

  @Test
  void shouldRejectAThreadIdTakenByAnotherCreator() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand c = create(3, 100, 4L);
    onlyDeadLetter("THREAD_EXISTS");
    assertRejectedToSender(c, ErrorCode.THREAD_EXISTS);
  }

  @Test
  void unkeyedTextCommandsShouldBeKeyedByTheirThreadAndGetTheirPlaceAsClientId() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand perfTestLine =
        new ClientCommand(
            1, "perf", "@", 100, 0, CommandBody.sendMessage(new SendMessage("from a file")));
    byte[] line = FrameCodec.defaults().encodeText(perfTestLine).getBytes(StandardCharsets.UTF_8);
    // The same line three times, as the perf tool sends it: three records, three messages.
    for (int i = 0; i < 3; i++) {
      commands.pipeInput(new TestRecord<>(null, line, now));
    }
    List<Delta> deltas = drainLog();
    assertEquals(6, deltas.size(), "three messages to two members");
    List<String> clientIds =
        deltas.stream()
            .filter(d -> d.getUserId() == 1)
            .map(d -> d.getBody().getNewMessage().getClientId())
            .toList();
    assertEquals(3, clientIds.stream().distinct().count(), clientIds.toString());
    assertTrue(clientIds.stream().allMatch(id -> id.matches("@0-\\d+")), clientIds.toString());
    assertEquals(
        now.toEpochMilli(), deltas.get(0).getServerTimestampMs(), "receive time filled in");

    // A binary frame without key takes the same way; garbage without key is refused as such.
    commands.pipeInput(
        new TestRecord<>(
            null,
            FrameCodec.defaults()
                .encode(command(2, 100, CommandBody.sendMessage(new SendMessage("bin")))),
            now));
    assertEquals(2, drainLog().size());
    commands.pipeInput(new TestRecord<>(null, "Jnot json".getBytes(StandardCharsets.UTF_8), now));
    onlyDeadLetter("MALFORMED");
  }

  @Test
  void shouldSendUndecodableInputToTheDeadLetterTopicAndCarryOn() {
    byte[] good =
        FrameCodec.defaults()
            .encode(command(1, 100, CommandBody.sendMessage(new SendMessage("x"))));
    byte[] truncated = Arrays.copyOf(good, good.length - 3);
    byte[] badVersion = good.clone();
    badVersion[0] = 9;
    byte[] huge = new byte[2000];
    huge[0] = FrameCodec.VERSION;

    commands.pipeInput(new TestRecord<>(key(100), truncated, now));
    onlyDeadLetter("MALFORMED");
    commands.pipeInput(new TestRecord<>(key(100), badVersion, now));
    onlyDeadLetter("UNSUPPORTED_VERSION");
    commands.pipeInput(new TestRecord<>(key(100), huge, now));
    onlyDeadLetter("FRAME_TOO_LARGE");
    commands.pipeInput(new TestRecord<>(new byte[] {1, 2}, good, now));
    onlyDeadLetter("MALFORMED_KEY");
    commands.pipeInput(new TestRecord<>(key(100), new byte[0], now));
    onlyDeadLetter("EMPTY");
    commands.pipeInput(new TestRecord<>(key(100), null, now));
    onlyDeadLetter("EMPTY");
    commands.pipeInput(new TestRecord<>(key(101), good, now));
    onlyDeadLetter("INVALID_COMMAND");
    assertEquals(1, drainLog().size(), "only the envelope error had a known sender to tell");

    create(1, 100, 2L);
    assertEquals(2, drainLog().size(), "the app carries on after bad input");
    assertEquals(1, total("rejected-malformed"));
    assertEquals(1, total("rejected-unsupported-version"));
    assertEquals(1, total("rejected-frame-too-large"));
    assertEquals(1, total("rejected-malformed-key"));
    assertEquals(2, total("rejected-empty"));
    assertEquals(1, total("rejected-invalid-command"));
  }

  @Test
  void shouldTellOldNewAndRemovedMembersOfMembershipChanges() {
    create(1, 100, 2L);
    drainLog();
    ClientCommand add =
        command(2, 100, CommandBody.addParticipants(new AddParticipants(List.of(3L))));
    send(add);
    Map<Long, List<Delta>> added = byUser(drainLog());
    assertEquals(List.of(1L, 2L, 3L), added.keySet().stream().sorted().toList());
    var change = added.get(3L).get(0).getBody().getParticipantsChanged();
    assertEquals(List.of(3L), change.getAddedUserIds());
    assertEquals(List.of(1L, 2L, 3L), change.getParticipantUserIds());
    assertEquals("t100", change.getThreadName(), "a new member learns the thread's name");
    assertEquals(1, added.get(3L).size(), "user 3's queue starts here");
    assertEquals(
        add.getClientId(), added.get(2L).get(0).getBody().getParticipantsChanged().getClientId());

    say(3, 100, "hi all");
    assertEquals(3, drainLog().size());

    send(command(1, 100, CommandBody.removeParticipants(new RemoveParticipants(List.of(3L)))));
    Map<Long, List<Delta>> removed = byUser(drainLog());
    assertEquals(List.of(1L, 2L, 3L), removed.keySet().stream().sorted().toList());
    assertEquals(
        List.of(1L, 2L),
        removed.get(3L).get(0).getBody().getParticipantsChanged().getParticipantUserIds());

    say(1, 100, "bye 3");
    assertEquals(List.of(1L, 2L), byUser(drainLog()).keySet().stream().sorted().toList());
    ClientCommand late = say(3, 100, "wait");
    onlyDeadLetter("NOT_A_MEMBER");
    assertRejectedToSender(late, ErrorCode.NOT_A_MEMBER);
  }

  @Test
  void shouldFanOutReadReceiptsOnlyWhenTheMarkMovesForward() {
    create(1, 100, 2L);
    say(1, 100, "a");
    say(1, 100, "b");
    drainLog();
    send(command(2, 100, CommandBody.markRead(new MarkRead(2))));
    Map<Long, List<Delta>> byUser = byUser(drainLog());
    assertEquals(2, byUser.get(1L).get(0).getBody().getReadReceipt().getUpToMessageId());
    assertEquals(2L, byUser.get(1L).get(0).getBody().getReadReceipt().getReaderUserId());
    send(command(2, 100, CommandBody.markRead(new MarkRead(1))));
    assertTrue(drainLog().isEmpty(), "an older mark changes nothing");
    ClientCommand beyond = command(2, 100, CommandBody.markRead(new MarkRead(3)));
    send(beyond);
    onlyDeadLetter("INVALID_READ_MARK");
    assertRejectedToSender(beyond, ErrorCode.INVALID_ARGUMENT);
  }

  @Test
  void shouldNeverPutTypingIntoTheLog() {
    create(1, 100, 2L);
    drainLog();
    send(command(1, 100, CommandBody.typing(new Typing(true))));
    assertTrue(drainLog().isEmpty());
    assertTrue(dlq.isEmpty());
    assertEquals(1, total("typing-dropped"));
  }

  // ----- edits, deletes, reactions, attachments ------------------------------------------------

  @Test
  void shouldSendEditReactAndDeleteAMessageTellingEveryMemberAndTheActorItsClientId() {
    create(1, 100, 2L, 3L);
    drainLog();
    Attachment photo =
        new Attachment("image/png", 2048, ByteBuffer.wrap(new byte[32]), "blob://p")
            .setPreview(new byte[64]);
    ClientCommand sent =
        command(
            1,
            100,
            CommandBody.sendMessage(new SendMessage("look").setAttachments(List.of(photo))));
    send(sent);
    long sentAt = sent.getReceivedAtMs();
    Map<Long, Delta> news = onePerMember(drainLog(), List.of(1L, 2L, 3L));
    assertEquals(List.of(photo), news.get(2L).getBody().getNewMessage().getAttachments());
    assertEquals(
        List.of(KeyValue.pair(sentAt, new MessageFacts(1, sentAt).setHasAttachments(true))),
        stored(100, 1));

    ClientCommand edited = edit(1, 100, 1, "look at this");
    Map<Long, Delta> edits = onePerMember(drainLog(), List.of(1L, 2L, 3L));
    for (long u : List.of(1L, 2L, 3L)) {
      var m = edits.get(u).getBody().getMessageEdited();
      assertEquals(1, m.getMessageId());
      assertEquals(1, m.getSenderUserId());
      assertEquals("look at this", m.getText());
      assertEquals(u == 1 ? edited.getClientId() : null, m.getClientId());
      assertEquals(edited.getReceivedAtMs(), edits.get(u).getServerTimestampMs());
    }

    ClientCommand liked = react(2, 100, 1, "👍");
    Map<Long, Delta> likes = onePerMember(drainLog(), List.of(1L, 2L, 3L));
    assertEquals("👍", likes.get(3L).getBody().getReactionChanged().getEmoji());
    assertEquals(2, likes.get(3L).getBody().getReactionChanged().getReactorUserId());
    assertNull(likes.get(3L).getBody().getReactionChanged().getClientId());
    assertEquals(liked.getClientId(), likes.get(2L).getBody().getReactionChanged().getClientId());
    react(2, 100, 1, "❤️");
    assertEquals(
        "❤️",
        onePerMember(drainLog(), List.of(1L, 2L, 3L))
            .get(1L)
            .getBody()
            .getReactionChanged()
            .getEmoji(),
        "replaced: a delta again");
    react(2, 100, 1, "");
    assertFalse(
        onePerMember(drainLog(), List.of(1L, 2L, 3L))
            .get(1L)
            .getBody()
            .getReactionChanged()
            .isSetEmoji(),
        "removed");

    ClientCommand deleted = delete(1, 100, 1);
    Map<Long, Delta> deletes = onePerMember(drainLog(), List.of(1L, 2L, 3L));
    for (long u : List.of(1L, 2L, 3L)) {
      var m = deletes.get(u).getBody().getMessageDeleted();
      assertEquals(1, m.getMessageId());
      assertEquals(1, m.getDeletedByUserId());
      assertEquals(u == 1 ? deleted.getClientId() : null, m.getClientId());
    }
    assertEquals(
        List.of(
            KeyValue.pair(
                sentAt, new MessageFacts(1, sentAt).setHasAttachments(true).setDeleted(true))),
        stored(100, 1),
        "replaced in place, at the message's time");

    ClientCommand deleteAgain = delete(1, 100, 1);
    assertRejected(deleteAgain, "MESSAGE_DELETED", ErrorCode.INVALID_ARGUMENT);
    ClientCommand editDeleted = edit(1, 100, 1, "undo");
    assertRejected(editDeleted, "MESSAGE_DELETED", ErrorCode.INVALID_ARGUMENT);
    ClientCommand reactDeleted = react(3, 100, 1, "😮");
    assertRejected(reactDeleted, "MESSAGE_DELETED", ErrorCode.INVALID_ARGUMENT);
    assertEquals(3, total("rejected-message-deleted"));

    // Edits, deletes and reactions do not reorder the inbox: a message after them is number 2.
    say(3, 100, "next");
    assertEquals(
        2,
        onePerMember(drainLog(), List.of(1L, 2L, 3L))
            .get(3L)
            .getBody()
            .getNewMessage()
            .getMessageId());
  }

  @Test
  void shouldRejectEditsDeletesReactionsAndAttachmentsBreakingARuleWithTheRuleNamed() {
    create(1, 100, 2L);
    say(1, 100, "mine");
    drainLog();
    assertRejected(edit(2, 100, 1, "yours?"), "NOT_THE_SENDER", ErrorCode.UNAUTHORISED);
    assertRejected(delete(2, 100, 1), "NOT_THE_SENDER", ErrorCode.UNAUTHORISED);
    assertRejected(edit(1, 100, 2, "x"), "UNKNOWN_MESSAGE", ErrorCode.INVALID_ARGUMENT);
    assertRejected(react(2, 100, 0, "👍"), "UNKNOWN_MESSAGE", ErrorCode.INVALID_ARGUMENT);
    assertRejected(
        react(2, 100, 1, "x".repeat(65)), "INVALID_REACTION", ErrorCode.INVALID_ARGUMENT);
    assertRejected(edit(1, 100, 1, " "), "EMPTY_TEXT", ErrorCode.INVALID_ARGUMENT);
    Attachment bigPreview =
        new Attachment("image/png", 1, ByteBuffer.wrap(new byte[32]), "blob://p")
            .setPreview(new byte[65]);
    ClientCommand withAttachment =
        command(
            1,
            100,
            CommandBody.sendMessage(new SendMessage("").setAttachments(List.of(bigPreview))));
    send(withAttachment);
    CommandRejected cr =
        assertRejected(withAttachment, "INVALID_ATTACHMENT", ErrorCode.INVALID_ARGUMENT);
    assertEquals("attachment 0: preview is 65 bytes, the limit is 64", cr.getReason());
    assertEquals(1, total("rejected-not-the-sender") / 2, "edit and delete");
    assertEquals(1, total("rejected-invalid-attachment"));
  }

  @Test
  void shouldRejectEditsAndDeletesOnceTheirWindowHasPassedByTheRecordsTimes() {
    create(1, 100, 2L);
    ClientCommand first = say(1, 100, "typo");
    drainLog();
    long t = first.getReceivedAtMs();
    // Another message at the end of the edit window moves the store's time there too.
    now = Instant.ofEpochMilli(t + EDIT.toMillis());
    say(2, 100, "later");
    drainLog();
    now = Instant.ofEpochMilli(t + EDIT.toMillis());
    edit(1, 100, 1, "at the end of the window");
    assertEquals(2, drainLog().size());
    now = Instant.ofEpochMilli(t + EDIT.toMillis() + 1);
    ClientCommand late = edit(1, 100, 1, "a millisecond late");
    CommandRejected cr = assertRejected(late, "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertEquals("message 1 is past the edit window (900000 ms)", cr.getReason());

    // The same at the end of the delete window, the longer one the store keeps messages for.
    now = Instant.ofEpochMilli(t + DELETE.toMillis());
    say(2, 100, "much later");
    drainLog();
    now = Instant.ofEpochMilli(t + DELETE.toMillis());
    delete(1, 100, 1);
    assertEquals(2, drainLog().size(), "deleted at the end of the window");
    now = Instant.ofEpochMilli(t + EDIT.toMillis() + DELETE.toMillis() + 1);
    assertEquals(1, stored(100, 2).size());
    assertRejected(delete(2, 100, 2), "DELETE_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    // Past the store's retention (the longer window and a grace), it is forgotten.
    now = now.plus(ThreadRules.MESSAGES_GRACE);
    say(1, 100, "time passes");
    drainLog();
    assertTrue(stored(100, 2).isEmpty(), "dropped from the store after its retention");
    assertRejected(delete(2, 100, 2), "DELETE_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertRejected(edit(2, 100, 2, "x"), "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    react(1, 100, 2, "👍");
    assertEquals(2, drainLog().size(), "reactions have no time limit");
  }

  @Test
  void shouldNeverWriteTheMessagesStoreWhenBothWindowsAreZero() {
    start(Duration.ZERO, Duration.ZERO);
    create(1, 100, 2L);
    say(1, 100, "for ever");
    drainLog();
    assertTrue(stored(100, 1).isEmpty());
    assertRejected(edit(1, 100, 1, "x"), "EDIT_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    assertRejected(delete(1, 100, 1), "DELETE_WINDOW_PASSED", ErrorCode.INVALID_ARGUMENT);
    react(2, 100, 1, "👍");
    assertEquals(2, drainLog().size());
  }

  // ----- delivery receipts -------------------------------------------------------------------

  static final Duration BATCH = Duration.ofSeconds(1);

  /** A delivery mark as the bridge writes it from an Ack of {@code user}'s {@code device}. */
  void mark(long user, String device, long thread, long upTo) {
    send(
        new ClientCommand(
            user,
            device,
            "dlv:" + thread + ":" + upTo,
            thread,
            now.toEpochMilli(),
            CommandBody.markDelivered(new MarkDelivered(upTo))));
  }

  /** Advances the wall clock by one batch interval: the punctuator flushes. */
  long flush() {
    driver.advanceWallClockTime(BATCH);
    return wallClock += BATCH.toMillis();
  }

  ThreadDeliveries deliveries(long thread) {
    KeyValueStore<Long, ThreadDeliveries> store =
        driver.getKeyValueStore(IrisTopology.DELIVERIES_STORE);
    return store.get(thread);
  }

  static final List<String> DEVICES = List.of("phone", "tablet");

  @Test
  void shouldTellTheSenderOnceABatchOfEveryDeviceOfA250MemberThread() {
    start(
        EDIT,
        DELETE,
        Map.of(
            StreamsAppConfig.MAX_PARTICIPANTS_CONFIG, 250,
            StreamsAppConfig.MAX_FRAME_BYTES_CONFIG, 4096,
            StreamsAppConfig.DELIVERY_BATCH_MS_CONFIG, BATCH.toMillis()));
    List<Long> members = new ArrayList<>();
    for (long u = 1; u <= 250; u++) {
      members.add(u);
    }
    create(1, 1000, members.subList(1, 250).toArray(Long[]::new));
    say(7, 1000, "hello everyone");
    assertEquals(500, drainLog().size(), "250 creates, 250 messages");

    List<DeviceDelivery> expected = new ArrayList<>();
    for (long u : members) {
      for (String device : DEVICES) {
        mark(u, device, 1000, 1);
        expected.add(new DeviceDelivery(u, device, 1));
      }
    }
    assertTrue(drainLog().isEmpty(), "nothing before the batch interval ends");
    assertEquals(500, deliveries(1000).getPendingSize());

    long flushedAt = flush();
    List<Delta> updates = drainLog();
    assertEquals(1, updates.size(), "one DeliveryUpdate, to the only sender: " + updates.size());
    Delta d = updates.get(0);
    assertEquals(7, d.getUserId());
    assertEquals(1000, d.getThreadId());
    assertEquals(flushedAt, d.getServerTimestampMs());
    assertEquals(expected, d.getBody().getDeliveryUpdate().getDeliveries());
    assertEquals(500, total("delivery-marks"));
    assertEquals(1, total("delivery-updates"));
    assertTrue(dlq.isEmpty());
    assertEquals(0, deliveries(1000).getPendingSize());
    assertEquals(500, deliveries(1000).getUpToSize());

    // Marks at or below a device's current one: nothing, even after the next interval.
    mark(3, "phone", 1000, 1);
    mark(250, "tablet", 1000, 1);
    flush();
    assertTrue(drainLog().isEmpty());
    assertEquals(2, total("delivery-marks-ignored"));

    // The next batch holds only what changed, and goes to each sender it may concern.
    say(7, 1000, "two");
    say(9, 1000, "three");
    drainLog();
    mark(1, "phone", 1000, 3);
    mark(2, "tablet", 1000, 2);
    mark(9, "phone", 1000, 3);
    mark(1, "phone", 1000, 2); // below: ignored
    assertTrue(drainLog().isEmpty());
    flush();
    Map<Long, List<Delta>> second = byUser(drainLog());
    assertEquals(List.of(7L, 9L), second.keySet().stream().sorted().toList());
    for (List<Delta> list : second.values()) {
      assertEquals(1, list.size());
      assertEquals(
          List.of(
              new DeviceDelivery(1, "phone", 3),
              new DeviceDelivery(2, "tablet", 2),
              new DeviceDelivery(9, "phone", 3)),
          list.get(0).getBody().getDeliveryUpdate().getDeliveries());
    }
    flush();
    assertTrue(drainLog().isEmpty(), "nothing pending");
  }

  @Test
  void shouldDeadLetterRejectedMarksWithoutTellingTheirSender() {
    create(1, 100, 2L);
    say(1, 100, "one");
    drainLog();
    mark(2, "phone", 999, 1);
    onlyDeadLetter("UNKNOWN_THREAD");
    mark(7, "phone", 100, 1);
    onlyDeadLetter("NOT_A_MEMBER");
    mark(2, "phone", 100, 0);
    onlyDeadLetter("UNKNOWN_MESSAGE");
    mark(2, "phone", 100, 2);
    onlyDeadLetter("UNKNOWN_MESSAGE");
    flush();
    assertTrue(drainLog().isEmpty(), "no CommandRejected, no DeliveryUpdate");
    assertNull(deliveries(100));
    assertEquals(1, total("rejected-unknown-thread"));
    assertEquals(1, total("rejected-not-a-member"));
    assertEquals(2, total("rejected-unknown-message"));
  }

  @Test
  void shouldSendEachMarkAtOnceWhenTheBatchIsZero() {
    start(EDIT, DELETE, Map.of(StreamsAppConfig.DELIVERY_BATCH_MS_CONFIG, 0));
    create(1, 100, 2L, 3L);
    say(1, 100, "one");
    drainLog();
    mark(2, "phone", 100, 1);
    List<Delta> out = drainLog();
    assertEquals(1, out.size());
    assertEquals(1, out.get(0).getUserId());
    assertEquals(
        List.of(new DeviceDelivery(2, "phone", 1)),
        out.get(0).getBody().getDeliveryUpdate().getDeliveries());
    mark(3, "phone", 100, 1);
    assertEquals(1, drainLog().size(), "each mark its own update");
  }

  @Test
  void shouldNameTheDeliveriesChangelogsAfterTheStores() {
    create(1, 100, 2L);
    say(1, 100, "x");
    mark(2, "phone", 100, 1);
    flush();
    for (String store :
        List.of(IrisTopology.DELIVERIES_STORE, IrisTopology.DELIVERIES_PENDING_STORE)) {
      TestOutputTopic<byte[], byte[]> changelog =
          driver.createOutputTopic(
              "iris-test-" + store + "-changelog",
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      assertFalse(changelog.readRecordsToList().isEmpty(), store);
    }
  }

  @Test
  void shouldNameTheMessagesChangelogAfterTheStore() {
    create(1, 100, 2L);
    say(1, 100, "x");
    TestOutputTopic<byte[], byte[]> changelog =
        driver.createOutputTopic(
            "iris-test-" + IrisTopology.MESSAGES_STORE + "-changelog",
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    assertEquals(1, changelog.readRecordsToList().size(), "one record per message");
  }

  @Test
  void shouldNameEveryNodeAndStore() {
    String description =
        IrisTopology.build(new StreamsAppConfig(new HashMap<>())).describe().toString();
    assertFalse(description.contains("KSTREAM-"), description);
    assertFalse(description.contains("KTABLE-"), description);
    for (String name :
        List.of(
            IrisTopology.SOURCE,
            IrisTopology.APPLY,
            IrisTopology.THREADS_STORE,
            IrisTopology.DEDUP_STORE,
            IrisTopology.MESSAGES_STORE,
            IrisTopology.DELIVERIES_STORE,
            IrisTopology.DELIVERIES_PENDING_STORE,
            "dlq-sink",
            "log-sink")) {
      assertTrue(description.contains(name), name + " in\n" + description);
    }
    // One hop from a keyed command to iris.log: the keyed path is one sub-topology with no
    // repartition by user (the unkeyed path's own repartition by thread is the only one).
    assertFalse(description.contains("by-user"), description);
    assertFalse(
        description.replace("commands-by-thread-repartition", "").contains("repartition"),
        "only commands-by-thread is repartitioned:\n" + description);
  }
}
