package io.iris.bridge.up;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.CapturingSender;
import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.DevicePointers;
import io.iris.bridge.down.DownFixtures;
import io.iris.bridge.down.UserLogs;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeliveredMark;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.SendResult;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.protocol.thrift.Typing;
import io.iris.protocol.thrift.TypingEvent;
import io.iris.topics.DeadLetters;
import io.iris.topics.Topics;
import io.moquette.interception.messages.InterceptPublishMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SendPathTest {
  private static final DeviceId PHONE = new DeviceId(42, "phone");
  private static final DeviceId TABLET = new DeviceId(42, "tablet");
  private static final DeviceId FRIEND = new DeviceId(43, "laptop");

  /** A user whose partition another bridge owns. */
  private static final long STRANGER = 77;

  private static final long NOW = 1_700_000_000_000L;
  private static final int MAX_FRAME = 1024;
  private static final FrameCodec CODEC = FrameCodec.defaults();

  private final CapturingSender devices = new CapturingSender();
  private final CapturingSender typingOut = new CapturingSender();
  private final MockProducer<Long, byte[]> commands =
      new MockProducer<>(false, null, new LongSerializer(), new ByteArraySerializer());
  private final MockProducer<byte[], byte[]> deadLetters =
      new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  private final MockProducer<String, DevicePointer> pointerWrites =
      new MockProducer<>(
          true,
          null,
          Topics.DEVICE_POINTERS.keySerde().serializer(),
          Topics.DEVICE_POINTERS.valueSerde().serializer());
  private final UserLogs logs = new UserLogs(16, 100);
  private final DevicePointers pointers =
      DownFixtures.pointers(pointerWrites, new MockConsumer<>("earliest"));
  private final CatchUp catchUp =
      DownFixtures.catchUp(
          logs,
          new Snapshot(0, List.of(), NOW, -1, DownFixtures.EPOCH),
          new CatchUp.Settings(1, 4, 100, 1000),
          devices);
  private long nanos;
  private final DeviceRateLimiter limiter = new DeviceRateLimiter(1, 3, () -> nanos);
  private final Map<Long, List<Long>> threadMembers = new ConcurrentHashMap<>();
  private volatile SQLException storageDown;
  private final TypingRelay typing =
      new TypingRelay(
          (user, thread) -> {
            if (storageDown != null) {
              throw storageDown;
            }
            List<Long> m = threadMembers.getOrDefault(thread, List.of());
            return m.contains(user) ? m : List.of();
          },
          user -> user == FRIEND.userId() ? Set.of(FRIEND) : Set.of(),
          typingOut::send,
          10_000,
          () -> NOW);
  private final List<String> disconnected = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final io.iris.bridge.edge.Redirects redirects =
      new io.iris.bridge.edge.Redirects(
          user -> 3,
          partition -> List.of("tcp://owner:1883"),
          devices,
          id -> () -> disconnected.add(id),
          device -> false);
  private final SendPath path =
      new SendPath(MAX_FRAME, devices, services(), commands, deadLetters, () -> NOW);

  /** The services of this test's send paths: every user but STRANGER served here. */
  private SendPath.Services services() {
    return new SendPath.Services(
        catchUp,
        typing,
        pointers,
        DownFixtures.EPOCH,
        user -> user != STRANGER,
        redirects,
        limiter);
  }

  @AfterEach
  void closeParts() {
    catchUp.close();
    path.close();
    redirects.close();
  }

  private static byte[] request(String requestId, DeviceRequestBody body) {
    return CODEC.encode(new DeviceRequest(requestId, body));
  }

  private static byte[] command(String requestId, String clientId, long threadId, CommandBody b) {
    return request(requestId, DeviceRequestBody.command(new DeviceCommand(clientId, threadId, b)));
  }

  private static byte[] message(String requestId, String clientId, long threadId) {
    return command(requestId, clientId, threadId, CommandBody.sendMessage(new SendMessage("hi")));
  }

  private static byte[] typing(String requestId, long threadId) {
    return command(requestId, "t-" + requestId, threadId, CommandBody.typing(new Typing(true)));
  }

  private static ClientCommand decodeCommand(ProducerRecord<Long, byte[]> r) {
    return CODEC.decode(r.value(), ClientCommand::new);
  }

  private static String header(ProducerRecord<byte[], byte[]> r, String name) {
    return new String(r.headers().lastHeader(name).value(), UTF_8);
  }

  /** The bridge's reader started at offset 100 and read the user's deltas at 100 + n. */
  private void seenByTheBridge(long user, long... ns) {
    logs.startReading(0, 100);
    for (long n : ns) {
      Delta d = new Delta(user, 7, NOW, DeltaBody.newMessage(new NewMessage(n, user, "m" + n)));
      logs.append(user, 0, 100 + n, CODEC.encode(d));
    }
  }

  private static Ack ack(long pos) {
    return new Ack(pos, DownFixtures.EPOCH);
  }

  private long pointer(long user, String device) {
    DevicePointer p = pointers.get(user, device);
    return p == null ? -1 : p.getAckedPos();
  }

  private static InterceptPublishMessage publish(String clientId, String topic, ByteBuf payload) {
    return new InterceptPublishMessage(
        new MqttPublishMessage(
            new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
            new MqttPublishVariableHeader(topic, 1),
            payload),
        clientId,
        clientId.substring(0, clientId.indexOf('/')));
  }

  // --- commands ---

  @Test
  void shouldProduceACommandStampedWithTheAuthenticatedDeviceAndAnswerOnceKafkaHasIt() {
    path.handle(PHONE, message("r1", "c1", 7));

    assertEquals(1, commands.history().size());
    ProducerRecord<Long, byte[]> r = commands.history().get(0);
    assertEquals(Topics.COMMANDS.name(), r.topic());
    assertEquals(7L, r.key(), "keyed by thread");
    ClientCommand c = decodeCommand(r);
    assertEquals(42, c.getSenderUserId());
    assertEquals("phone", c.getSenderDeviceId());
    assertEquals("c1", c.getClientId());
    assertEquals(7, c.getThreadId());
    assertEquals(NOW, c.getReceivedAtMs());
    assertEquals("hi", c.getBody().getSendMessage().getText());
    assertEquals(0, devices.size(), "not answered before Kafka has it (PUBACK proves nothing)");
    assertEquals(0, path.count("accepted"));

    assertTrue(commands.completeNext());

    ServerFrame answer = devices.only();
    assertEquals("r1", answer.getRequestId());
    SendResult result = answer.getBody().getSendResult();
    assertEquals("c1", result.getClientId());
    assertTrue(result.isAccepted());
    assertFalse(result.isSetError());
    assertEquals(1, path.count("accepted"));
    assertTrue(deadLetters.history().isEmpty());
  }

  @Test
  void shouldTakeTheSenderFromTheMqttClientIdNotFromTheFrame() {
    ByteBuf payload = Unpooled.wrappedBuffer(message("r1", "c1", 7));

    path.onPublish(publish("43/laptop", "iris/43/laptop/up", payload));

    ClientCommand c = decodeCommand(commands.history().get(0));
    assertEquals(43, c.getSenderUserId());
    assertEquals("laptop", c.getSenderDeviceId());
    assertEquals(0, payload.refCnt(), "the Netty payload is released");
  }

  @Test
  void shouldIgnoreAPublishThatIsNotOnTheDevicesOwnUpTopicAndStillReleaseIt() {
    ByteBuf other = Unpooled.wrappedBuffer(message("r1", "c1", 7));
    ByteBuf down = Unpooled.wrappedBuffer(message("r2", "c2", 7));

    path.onPublish(publish("42/phone", "iris/43/laptop/up", other));
    path.onPublish(publish("42/phone", "iris/42/phone/down", down));

    assertTrue(commands.history().isEmpty());
    assertEquals(0, devices.size());
    assertTrue(path.outcomes().isEmpty(), "not counted: the topic policy refuses these first");
    assertEquals(0, other.refCnt());
    assertEquals(0, down.refCnt());
  }

  @Test
  void shouldSurviveAFailingHandlerAndStillReleaseThePayload() {
    SendPath failing =
        new SendPath(
            MAX_FRAME,
            (device, frame) -> {
              throw new IllegalStateException("edge gone");
            },
            services(),
            commands,
            deadLetters,
            () -> NOW);
    ByteBuf payload = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});

    assertDoesNotThrow(() -> failing.onPublish(publish("42/phone", PHONE.up(), payload)));

    assertEquals(0, payload.refCnt());
  }

  @Test
  void shouldAnswerUnavailableWhenKafkaDoesNotTakeTheCommand() {
    path.handle(PHONE, message("r1", "c1", 7));

    assertTrue(commands.errorNext(new TimeoutException("no leader")));

    SendResult result = devices.only().getBody().getSendResult();
    assertFalse(result.isAccepted());
    assertEquals("c1", result.getClientId());
    assertEquals(ErrorCode.UNAVAILABLE, result.getError().getCode());
    assertEquals("retry later: TimeoutException", result.getError().getMessage());
    assertEquals(1, path.count("unavailable"));
    assertEquals(0, path.count("accepted"));
    assertTrue(deadLetters.history().isEmpty(), "a well-formed command is not a dead letter");
  }

  @Test
  void shouldProduceACommandResentWhileItsCopyIsOnItsWayOnceAndAnswerEveryCopy() {
    path.handle(PHONE, message("r1", "c1", 7));
    path.handle(PHONE, message("r2", "c1", 7));
    path.handle(TABLET, message("r3", "c2", 7)); // another device's budget (three a second here)
    path.handle(PHONE, message("r4", "c1", 7));

    assertEquals(2, commands.history().size(), "c1 once, c2 once");
    assertEquals(2, path.count("coalesced"));
    assertTrue(commands.completeNext());

    List<String> answered = new ArrayList<>();
    for (ServerFrame f : devices.to(PHONE)) {
      assertTrue(f.getBody().getSendResult().isAccepted());
      answered.add(f.getRequestId());
    }
    assertEquals(List.of("r1", "r2", "r4"), answered, "each copy answered by the one outcome");
    assertEquals(1, path.count("accepted"));

    nanos += 1_000_000_000L;
    path.handle(PHONE, message("r5", "c1", 7));
    assertEquals(3, commands.history().size(), "once answered, a resend is produced again");
  }

  @Test
  void shouldAnswerEveryCoalescedCopyUnavailableWhenKafkaDoesNotTakeIt() {
    path.handle(PHONE, message("r1", "c1", 7));
    path.handle(PHONE, message("r2", "c1", 7));

    assertTrue(commands.errorNext(new TimeoutException("no leader")));

    assertEquals(2, devices.size());
    for (ServerFrame f : devices.to(PHONE)) {
      assertEquals(ErrorCode.UNAVAILABLE, f.getBody().getSendResult().getError().getCode());
    }
    path.handle(PHONE, message("r3", "c1", 7));
    assertEquals(2, commands.history().size(), "the resend after the refusal goes to Kafka");
  }

  @Test
  void shouldNotCoalesceTheSameClientIdOfAnotherDevice() {
    path.handle(PHONE, message("r1", "c1", 7));
    path.handle(TABLET, message("r2", "c1", 7));

    assertEquals(2, commands.history().size());
    assertEquals(0, path.count("coalesced"));
  }

  @Test
  void shouldDeriveTheSameThreadForACreateWithoutOneEveryTimeItIsResent() {
    CommandBody create = CommandBody.createThread(new CreateThread(List.of(43L)));

    path.handle(PHONE, command("r1", "c1", 0, create));
    assertTrue(commands.completeNext());
    path.handle(PHONE, command("r2", "c1", 0, create));

    long derived = SendPath.derivedThreadId(42, "c1");
    assertTrue(derived > 0);
    for (ProducerRecord<Long, byte[]> r : commands.history()) {
      assertEquals(derived, r.key());
      assertEquals(derived, decodeCommand(r).getThreadId());
    }
    assertEquals(2, commands.history().size());
    assertNotEquals(derived, SendPath.derivedThreadId(43, "c1"), "another user's create");
    assertNotEquals(derived, SendPath.derivedThreadId(42, "c2"), "another create");
  }

  @Test
  void shouldKeepAThreadIdACreateGives() {
    path.handle(
        PHONE, command("r1", "c1", 99, CommandBody.createThread(new CreateThread(List.of(43L)))));

    assertEquals(99L, commands.history().get(0).key());
  }

  // --- malformed frames ---

  @Test
  void shouldAnswerAFrameThatDoesNotDecodeAndKeepItInTheDeadLetterTopicWithItsReason() {
    byte[] frame = {FrameCodec.VERSION, 0x7f, 0x7f, 0x7f};

    path.handle(PHONE, frame);

    ServerFrame answer = devices.only();
    assertFalse(answer.isSetRequestId(), "no request id could be read");
    assertEquals(ErrorCode.MALFORMED_FRAME, answer.getBody().getError().getCode());
    assertEquals(1, path.count("rejected-malformed"));
    assertEquals(Set.of("rejected-malformed"), path.outcomes());

    assertEquals(1, deadLetters.history().size());
    ProducerRecord<byte[], byte[]> kept = deadLetters.history().get(0);
    assertEquals(Topics.DLQ.name(), kept.topic());
    assertArrayEquals("42/phone".getBytes(UTF_8), kept.key());
    assertArrayEquals(frame, kept.value(), "byte for byte as received");
    assertEquals("MALFORMED", header(kept, DeadLetters.REASON));
    assertEquals(answer.getBody().getError().getMessage(), header(kept, DeadLetters.MESSAGE));
    assertEquals("mqtt-bridge", header(kept, DeadLetters.REJECTED_BY));
    assertEquals("iris/42/phone/up", header(kept, DeadLetters.SOURCE_TOPIC));
    assertEquals(Long.toString(NOW), header(kept, DeadLetters.REJECTED_AT));
    assertTrue(commands.history().isEmpty());
  }

  static Stream<Arguments> undecodableFrames() {
    byte[] tooLarge = new byte[MAX_FRAME + 1];
    tooLarge[0] = FrameCodec.VERSION;
    return Stream.of(
        Arguments.of(new byte[0], "EMPTY", ErrorCode.MALFORMED_FRAME),
        Arguments.of(new byte[] {3, 0}, "UNSUPPORTED_VERSION", ErrorCode.UNSUPPORTED_VERSION),
        Arguments.of(tooLarge, "FRAME_TOO_LARGE", ErrorCode.FRAME_TOO_LARGE),
        Arguments.of(
            Arrays.copyOf(message("r1", "c1", 7), 6), "MALFORMED", ErrorCode.MALFORMED_FRAME));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("undecodableFrames")
  void shouldCountEachUndecodableFrameByItsReason(byte[] frame, String reason, ErrorCode code) {
    path.handle(PHONE, frame);

    assertEquals(code, devices.only().getBody().getError().getCode());
    String outcome = "rejected-" + reason.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    assertEquals(1, path.count(outcome));
    assertEquals(Set.of(outcome), path.outcomes());
    assertEquals(reason, header(deadLetters.history().get(0), DeadLetters.REASON));
  }

  @Test
  void shouldAnswerARequestOfAnUnknownTypeWithAnErrorAndKeepIt() throws Exception {
    byte[] frame = io.iris.protocol.NewerWriterFrames.requestOfAnUnknownKind();

    path.handle(PHONE, frame);

    assertTrue(devices.only().getBody().isSetError());
    assertEquals(1, deadLetters.history().size());
    assertArrayEquals(frame, deadLetters.history().get(0).value());
    assertEquals(1, path.outcomes().size(), "counted once");
    assertTrue(commands.history().isEmpty());
  }

  @Test
  void shouldRejectARequestOfAnUnknownTypeAsUnsupported() throws Exception {
    path.handle(PHONE, io.iris.protocol.NewerWriterFrames.requestOfAnUnknownKind());

    ServerFrame answer = devices.only();
    assertEquals("r-2", answer.getRequestId());
    assertEquals(ErrorCode.INVALID_ARGUMENT, answer.getBody().getError().getCode());
    assertEquals(1, path.count("rejected-unsupported-request"));
    assertEquals("UNSUPPORTED_REQUEST", header(deadLetters.history().get(0), DeadLetters.REASON));
  }

  @Test
  void shouldRejectACommandOfAnUnknownKindAsUnsupportedNamingItsClientId() {
    byte[] frame = io.iris.protocol.NewerWriterFrames.commandOfAnUnknownKind();

    path.handle(PHONE, frame);

    ServerFrame answer = devices.only();
    assertEquals("r-1", answer.getRequestId());
    ServerError e = answer.getBody().getError();
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.getCode());
    assertEquals("c-9", e.getClientId(), "the device settles that command: not sent again");
    assertTrue(e.getMessage().contains("does not know"), e.getMessage());
    assertEquals(1, path.count("rejected-unsupported-command"));
    assertEquals("UNSUPPORTED_COMMAND", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());
  }

  @Test
  void shouldAnswerAFrameAboveTheLimitWithItsRequestAndClientIdKeepItAndStayConnected() {
    // A frame that decodes but is above the limit (1 KiB here): what the SDK would resend forever
    // if it were only cut off.
    byte[] frame =
        command("r-big", "c-big", 7, CommandBody.sendMessage(new SendMessage("x".repeat(2000))));
    assertTrue(frame.length > MAX_FRAME);

    path.handle(PHONE, frame);

    ServerFrame answer = devices.only();
    assertEquals("r-big", answer.getRequestId());
    ServerError e = answer.getBody().getError();
    assertEquals(ErrorCode.FRAME_TOO_LARGE, e.getCode());
    assertEquals("c-big", e.getClientId());
    assertTrue(e.getMessage().contains("above the limit of 1024 bytes"), e.getMessage());
    assertArrayEquals(frame, deadLetters.history().get(0).value(), "kept whole");
    assertEquals("FRAME_TOO_LARGE", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());

    // The connection is the edge's: the same device goes on.
    devices.clear();
    path.handle(PHONE, message("r-next", "c-next", 7));
    assertEquals(1, commands.history().size());
  }

  @Test
  void shouldNameTheRequestOfAFrameThatDoesNotDecodeWhenItStartsWithOne() {
    byte[] truncated = Arrays.copyOf(message("r-7", "c-7", 7), 12);

    path.handle(PHONE, truncated);

    ServerFrame answer = devices.only();
    assertEquals("r-7", answer.getRequestId());
    assertEquals(ErrorCode.MALFORMED_FRAME, answer.getBody().getError().getCode());
  }

  @Test
  void shouldRefuseTextThatIsNotUtf8AndKeepTheFrame() {
    byte[] frame = message("r-8", "c-8", 7); // text "hi"
    byte[] bad = Arrays.copyOf(frame, frame.length);
    for (int i = 0; i + 1 < bad.length; i++) {
      if (bad[i] == 'h' && bad[i + 1] == 'i') {
        bad[i] = (byte) 0xC3; // a lead byte, then 'i': not UTF-8
      }
    }

    path.handle(PHONE, bad);

    ServerFrame answer = devices.only();
    assertEquals("r-8", answer.getRequestId());
    assertEquals(ErrorCode.INVALID_ARGUMENT, answer.getBody().getError().getCode());
    assertEquals(
        "a string in the DeviceRequest is not valid UTF-8",
        answer.getBody().getError().getMessage());
    assertEquals("INVALID_UTF8", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());
  }

  @Test
  void shouldRejectABlankOrOverlongClientIdAndKeepTheFrame() {
    byte[] blank = message("r1", " ", 7);
    String overlong = "é".repeat(33); // 33 characters, 66 bytes

    path.handle(PHONE, blank);
    path.handle(PHONE, message("r2", overlong, 7));

    List<ServerFrame> answers = devices.to(PHONE);
    assertEquals(2, answers.size());
    ServerError first = answers.get(0).getBody().getError();
    assertEquals(ErrorCode.INVALID_ARGUMENT, first.getCode());
    assertEquals(" ", first.getClientId());
    assertEquals("r1", answers.get(0).getRequestId());
    assertEquals(overlong, answers.get(1).getBody().getError().getClientId());
    assertEquals(2, path.count("rejected-invalid-client-id"));
    assertEquals(2, deadLetters.history().size());
    assertArrayEquals(blank, deadLetters.history().get(0).value());
    assertEquals("INVALID_CLIENT_ID", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());
  }

  @Test
  void shouldAcceptAClientIdOfExactly64Bytes() {
    path.handle(PHONE, message("r1", "c".repeat(64), 7));

    assertEquals(1, commands.history().size());
    assertEquals(0, path.count("rejected-invalid-client-id"));
  }

  @Test
  void shouldRejectACommandWithoutAPositiveThread() {
    path.handle(PHONE, message("r1", "c1", 0));
    path.handle(PHONE, message("r2", "c2", -5));

    assertEquals(2, path.count("rejected-invalid-command"));
    ServerError error = devices.to(PHONE).get(0).getBody().getError();
    assertEquals(ErrorCode.INVALID_ARGUMENT, error.getCode());
    assertEquals("c1", error.getClientId());
    assertEquals("INVALID_COMMAND", header(deadLetters.history().get(1), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());
  }

  // --- rate limit ---

  @Test
  void shouldAnswerRateLimitedOnceTheDevicesBudgetIsSpentAndNotKeepTheCommand() {
    for (int i = 1; i <= 4; i++) {
      path.handle(PHONE, message("r" + i, "c" + i, 7));
    }

    assertEquals(3, commands.history().size(), "the burst");
    SendResult refused = devices.only().getBody().getSendResult();
    assertFalse(refused.isAccepted());
    assertEquals("c4", refused.getClientId());
    assertEquals(ErrorCode.RATE_LIMITED, refused.getError().getCode());
    assertEquals(1000, refused.getError().getRetryAfterMs(), "1 command a second: a token in 1 s");
    assertEquals(1, path.count("rejected-rate-limited"));
    assertTrue(deadLetters.history().isEmpty(), "a flood is not kept");

    path.handle(TABLET, message("t1", "c1", 7));
    assertEquals(4, commands.history().size(), "another device has its own budget");

    nanos += 1_000_000_000L;
    path.handle(PHONE, message("r5", "c5", 7));
    assertEquals(5, commands.history().size(), "one more a second");
  }

  @Test
  void shouldDropRateLimitedTypingWithoutAnAnswer() {
    threadMembers.put(7L, List.of(42L, 43L));
    for (int i = 1; i <= 3; i++) {
      path.handle(PHONE, message("r" + i, "c" + i, 7));
    }

    path.handle(PHONE, typing("ty", 7));

    assertEquals(1, path.count("rejected-rate-limited"));
    assertEquals(0, path.count("typing"));
    assertEquals(0, devices.size(), "typing is not worth an answer");
    assertEquals(0, typingOut.size());
  }

  // --- acks ---

  @Test
  void shouldMoveThePointerOnAnAckAndCountIt() {
    seenByTheBridge(42, 1, 2, 3, 4, 5);

    path.handle(PHONE, request("a1", DeviceRequestBody.ack(ack(103))));

    assertEquals(1, path.count("ack-moved"));
    assertEquals(103, pointer(42, "phone"));
    assertEquals(1, pointerWrites.history().size());
    assertEquals("42:phone", pointerWrites.history().get(0).key());
    assertEquals(103, pointerWrites.history().get(0).value().getAckedPos());
    assertEquals(DownFixtures.EPOCH, pointerWrites.history().get(0).value().getEpoch());
    assertEquals(0, devices.size(), "acks are not answered");
  }

  @Test
  void shouldCountAnAckAtOrBelowThePointerAsStaleAndNotWriteIt() {
    seenByTheBridge(42, 1, 2, 3, 4, 5);
    path.handle(PHONE, request("a1", DeviceRequestBody.ack(ack(103))));

    path.handle(PHONE, request("a2", DeviceRequestBody.ack(ack(102))));
    path.handle(PHONE, request("a3", DeviceRequestBody.ack(ack(103))));

    assertEquals(1, path.count("ack-moved"));
    assertEquals(2, path.count("ack-stale"));
    assertEquals(103, pointer(42, "phone"));
    assertEquals(1, pointerWrites.history().size());
    assertEquals(0, devices.size());
  }

  @Test
  void shouldRefuseAnAckOfAnotherEpochTellingTheDeviceToResnapshot() {
    path.handle(PHONE, request("a1", DeviceRequestBody.ack(new Ack(6, "AAAAAAAAAAAAAAAAAAAAAg"))));

    ServerFrame answer = devices.only();
    assertEquals("a1", answer.getRequestId());
    assertEquals(ErrorCode.RESNAPSHOT_REQUIRED, answer.getBody().getError().getCode());
    assertEquals(
        Set.of("rejected-ack-other-epoch"), path.outcomes(), "counted once, under one name");
    assertEquals(-1, pointer(42, "phone"));
    assertTrue(pointerWrites.history().isEmpty());
    assertTrue(deadLetters.history().isEmpty(), "a well-formed ack is not a dead letter");
  }

  @Test
  void shouldTrustAnAckOfAUserThisBridgeHasNotSeen() {
    path.handle(PHONE, request("a1", DeviceRequestBody.ack(ack(100))));

    assertEquals(1, path.count("ack-moved"));
    assertEquals(100, pointer(42, "phone"));
  }

  @Test
  void shouldAnswerAVersionOneFrameInVersionOneAndKeepIt() {
    byte[] v1 = message("r1", "c1", 7);
    v1[0] = 1;

    path.handle(PHONE, v1);

    CapturingSender.Sent sent = devices.all().get(0);
    assertEquals(1, sent.frame()[0], "an old app reads the answer in its own version");
    byte[] asCurrent = sent.frame().clone();
    asCurrent[0] = FrameCodec.VERSION;
    ServerFrame answer = CODEC.decode(asCurrent, ServerFrame::new);
    assertEquals(ErrorCode.RESNAPSHOT_REQUIRED, answer.getBody().getError().getCode());
    assertEquals(1, path.count("rejected-retired-version"));
    assertEquals(1, deadLetters.history().size(), "the command is kept, not lost");
    assertEquals("RETIRED_VERSION", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());
  }

  // --- delivered marks ---

  private static byte[] ackWith(String requestId, Ack ack, DeliveredMark... marks) {
    return request(requestId, DeviceRequestBody.ack(ack.setDelivered(List.of(marks))));
  }

  @Test
  void shouldWriteOneMarkDeliveredCommandPerMarkOfAnAckUnderTheDevicesIds() {
    path.handle(PHONE, ackWith("a1", ack(103), new DeliveredMark(7, 12), new DeliveredMark(9, 3)));

    assertEquals(103, pointer(42, "phone"), "the ack moves the pointer as without marks");
    assertEquals(2, commands.history().size());
    ProducerRecord<Long, byte[]> first = commands.history().get(0);
    assertEquals(Topics.COMMANDS.name(), first.topic());
    assertEquals(7L, first.key(), "keyed by thread");
    ClientCommand c = decodeCommand(first);
    assertEquals(42, c.getSenderUserId());
    assertEquals("phone", c.getSenderDeviceId());
    assertEquals("dlv:7:12", c.getClientId());
    assertEquals(7, c.getThreadId());
    assertEquals(NOW, c.getReceivedAtMs());
    assertEquals(CommandBody.markDelivered(new MarkDelivered(12)), c.getBody());
    ClientCommand second = decodeCommand(commands.history().get(1));
    assertEquals(9L, commands.history().get(1).key());
    assertEquals("dlv:9:3", second.getClientId());
    assertEquals(3, second.getBody().getMarkDelivered().getUpToMessageId());

    assertEquals(0, path.deliveredMarks("written"), "counted once Kafka has them");
    commands.flush();
    assertEquals(2, path.deliveredMarks("written"));
    assertEquals(0, devices.size(), "acks are not answered, marks neither");
    assertEquals(Set.of("ack-moved"), path.outcomes(), "one request, counted as the ack it is");
  }

  @Test
  void shouldWriteTheFirst64MarksOfAnAckAndCountTheRestDropped() {
    DeliveredMark[] marks = new DeliveredMark[70];
    for (int i = 0; i < marks.length; i++) {
      marks[i] = new DeliveredMark(i + 1, 5);
    }

    path.handle(PHONE, ackWith("a1", ack(103), marks));

    assertEquals(64, commands.history().size());
    assertEquals(64L, commands.history().get(63).key());
    assertEquals(6, path.deliveredMarks("dropped-over-cap"));
    commands.flush();
    assertEquals(64, path.deliveredMarks("written"));
  }

  @Test
  void shouldDropAndCountMarksWithoutAPositiveThreadOrMessage() {
    path.handle(
        PHONE,
        ackWith(
            "a1",
            ack(103),
            new DeliveredMark(0, 5),
            new DeliveredMark(7, 0),
            new DeliveredMark(-3, 5),
            new DeliveredMark(8, -1),
            new DeliveredMark(7, 5)));

    assertEquals(1, commands.history().size());
    assertEquals("dlv:7:5", decodeCommand(commands.history().get(0)).getClientId());
    assertEquals(4, path.deliveredMarks("dropped-invalid"));
    assertEquals(0, devices.size(), "nobody to answer");
    assertTrue(deadLetters.history().isEmpty(), "the ack itself is well-formed");
  }

  @Test
  void shouldNotChargeTheDevicesTokenBucketForMarks() {
    for (int i = 1; i <= 10; i++) {
      path.handle(PHONE, ackWith("a" + i, ack(100 + i), new DeliveredMark(i, 1)));
    }
    assertEquals(10, commands.history().size(), "ten acks' marks in a burst of three");

    for (int i = 1; i <= 3; i++) {
      path.handle(PHONE, message("r" + i, "c" + i, 7));
    }

    assertEquals(13, commands.history().size(), "the device's commands still have their burst");
    assertEquals(0, path.count("rejected-rate-limited"));
  }

  @Test
  void shouldCountAMarkKafkaDoesNotTakeAndKeepThePointerMoved() {
    path.handle(PHONE, ackWith("a1", ack(103), new DeliveredMark(7, 12), new DeliveredMark(9, 3)));

    assertTrue(commands.errorNext(new TimeoutException("no leader")));
    assertTrue(commands.completeNext());

    assertEquals(1, path.deliveredMarks("unavailable"));
    assertEquals(1, path.deliveredMarks("written"));
    assertEquals(103, pointer(42, "phone"));
    assertEquals(1, path.count("ack-moved"));
    assertEquals(0, devices.size());
  }

  @Test
  void shouldWriteTheMarksOfAnAckOfAnotherEpoch() {
    // Message ids are the threads', not iris.log's: the marks hold; only the position is refused.
    Ack other = new Ack(6, "AAAAAAAAAAAAAAAAAAAAAg");

    path.handle(PHONE, ackWith("a1", other, new DeliveredMark(7, 12)));

    assertEquals(ErrorCode.RESNAPSHOT_REQUIRED, devices.only().getBody().getError().getCode());
    assertEquals(1, commands.history().size());
    assertEquals("dlv:7:12", decodeCommand(commands.history().get(0)).getClientId());
  }

  @Test
  void shouldWriteNothingForAnAckWithoutMarksOrWithAnEmptyList() {
    path.handle(PHONE, request("a1", DeviceRequestBody.ack(ack(103))));
    path.handle(PHONE, ackWith("a2", ack(104)));

    assertTrue(commands.history().isEmpty());
    assertEquals(2, path.count("ack-moved"));
  }

  @Test
  void shouldRefuseMarkDeliveredSentByADeviceAsACommand() {
    byte[] frame = command("r1", "c1", 7, CommandBody.markDelivered(new MarkDelivered(12)));

    path.handle(PHONE, frame);

    ServerFrame answer = devices.only();
    assertEquals("r1", answer.getRequestId());
    ServerError e = answer.getBody().getError();
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.getCode());
    assertEquals("c1", e.getClientId(), "the device settles that command: not sent again");
    assertEquals("markDelivered is written by the bridge from Ack.delivered", e.getMessage());
    assertEquals(1, path.count("rejected-reserved-command"));
    assertEquals(1, deadLetters.history().size());
    assertArrayEquals(frame, deadLetters.history().get(0).value());
    assertEquals("RESERVED_COMMAND", header(deadLetters.history().get(0), DeadLetters.REASON));
    assertTrue(commands.history().isEmpty());

    for (int i = 1; i <= 3; i++) {
      path.handle(PHONE, message("m" + i, "m" + i, 7));
    }
    assertEquals(3, commands.history().size(), "the refusal charged no token");
  }

  // --- catch-up ---

  @Test
  void shouldHandASyncToCatchUpWhichAnswersWithTheRequestId() {
    seenByTheBridge(42, 1, 2, 3);

    path.handle(
        PHONE, request("s1", DeviceRequestBody.sync(new SyncRequest(DownFixtures.EPOCH, 101))));

    assertEquals(1, path.count("sync"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, devices.size()));
    ServerFrame answer = devices.only();
    assertEquals("s1", answer.getRequestId());
    List<Long> positions = new ArrayList<>();
    answer.getBody().getDeltas().getDeltas().forEach(d -> positions.add(d.getPos()));
    assertEquals(List.of(102L, 103L), positions);
    assertTrue(commands.history().isEmpty());
  }

  @Test
  void shouldHandASnapshotRequestToCatchUp() {
    path.handle(PHONE, request("p1", DeviceRequestBody.snapshot(new SnapshotRequest())));

    assertEquals(1, path.count("snapshot"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, devices.size()));
    ServerFrame answer = devices.only();
    assertEquals("p1", answer.getRequestId());
    assertEquals(42, answer.getBody().getSnapshot().getUserId());
  }

  // --- typing ---

  @Test
  void shouldRelayTypingToTheOtherMembersWithoutKafka() {
    threadMembers.put(7L, List.of(42L, 43L));

    path.handle(PHONE, typing("ty", 7));

    assertEquals(1, path.count("typing"));
    assertEquals(1, typingOut.size());
    assertEquals(FRIEND, typingOut.all().get(0).device());
    TypingEvent event = typingOut.only().getBody().getTyping();
    assertEquals(42, event.getUserId());
    assertEquals(7, event.getThreadId());
    assertTrue(commands.history().isEmpty(), "typing never enters Kafka");
    assertEquals(0, devices.size(), "the typist is not answered");
  }

  @Test
  void shouldRefuseTypingFromANonMemberWithoutKeepingIt() {
    threadMembers.put(8L, List.of(43L, 44L));

    path.handle(PHONE, typing("ty", 8));

    ServerFrame answer = devices.only();
    assertEquals("ty", answer.getRequestId());
    ServerError error = answer.getBody().getError();
    assertEquals(ErrorCode.NOT_A_MEMBER, error.getCode());
    assertEquals("t-ty", error.getClientId());
    assertEquals(1, path.count("rejected-typing-not-a-member"));
    assertTrue(deadLetters.history().isEmpty());
    assertEquals(0, typingOut.size());
  }

  @Test
  void shouldDropTypingSilentlyWhileStorageIsUnavailable() {
    storageDown = new SQLException("MySQL away");

    path.handle(PHONE, typing("ty", 7));

    assertEquals(1, path.count("typing-unavailable"));
    assertEquals(0, devices.size());
    assertEquals(0, typingOut.size());
  }

  // --- lifecycle ---

  @Test
  void shouldCloseBothProducers() {
    path.close();

    assertTrue(commands.closed());
    assertTrue(deadLetters.closed());
  }

  @Test
  void shouldRedirectASyncOrSnapshotOfAUserServedByAnotherBridgeButTakeItsCommands() {
    DeviceId stranger = new DeviceId(STRANGER, "phone");

    path.handle(stranger, request("r-s", DeviceRequestBody.sync(new SyncRequest("", -1))));
    path.handle(stranger, request("r-p", DeviceRequestBody.snapshot(new SnapshotRequest())));
    path.handle(stranger, message("r-m", "c-m", 7));

    List<ServerFrame> answers = devices.to(stranger);
    assertEquals("r-s", answers.get(0).getRequestId());
    assertEquals(
        List.of("tcp://owner:1883"), answers.get(0).getBody().getRedirect().getServerUris());
    assertEquals("r-p", answers.get(1).getRequestId());
    assertTrue(answers.get(1).getBody().isSetRedirect());
    assertEquals(2, path.count("redirected"));
    assertEquals(1, commands.history().size(), "a command goes to Kafka from any bridge");
  }
}
