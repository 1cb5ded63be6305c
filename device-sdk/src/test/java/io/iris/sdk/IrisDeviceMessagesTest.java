package io.iris.sdk;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.DeltaFrames;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.NewerWriterFrames;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.sdk.FakeBridge.Conn;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The message commands (attachments, edits, deletes, reactions) through the device against a
 * scripted bridge ({@link FakeBridge}): the command each publishes, the user's own delta that
 * confirms it, the {@code CommandRejected} that refuses it with its rule; and a delta of a kind
 * newer than this SDK, skipped with its position applied.
 */
class IrisDeviceMessagesTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String E = "E"; // the epoch of NewerWriterFrames' and the document's frames
  private static final long USER = 7;
  private static final long THREAD = 100;

  private FakeBridge bridge;
  private final List<IrisDevice> devices = new ArrayList<>();
  private final List<Delta> applied = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws IOException {
    bridge = new FakeBridge();
  }

  @AfterEach
  void stop() throws IOException {
    devices.forEach(IrisDevice::close);
    bridge.close();
  }

  /** A device at position 10 of epoch E, connected, its sync read: the next request is ours. */
  private Conn connected(IrisDevice d) throws Exception {
    d.connect(WAIT);
    Conn c = bridge.next(WAIT);
    c.request("sync", WAIT);
    return c;
  }

  private IrisDevice device() {
    IrisDevice d =
        IrisDevice.builder()
            .serverUri(bridge.uri())
            .user(USER)
            .device("phone")
            .token("secret")
            .lastPos(E, 10)
            .listener(
                new IrisDevice.Listener() {
                  @Override
                  public void onDeltas(List<Delta> deltas) {
                    applied.addAll(deltas);
                  }
                })
            .build();
    devices.add(d);
    return d;
  }

  /** A pushed batch of one delta of the user at {@code pos}, chained to {@code prevPos}. */
  private static ServerFrame push(long pos, long prevPos, DeltaBody body) {
    Delta d = new Delta(USER, THREAD, 1_700_000_000_000L, body).setPos(pos).setPrevPos(prevPos);
    return new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(d), E, pos)));
  }

  private static DeviceCommand command(Conn c) throws InterruptedException {
    return c.request("command", WAIT).getBody().getCommand();
  }

  private static Delta done(CompletableFuture<Delta> f) throws Exception {
    return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static Attachment photo() {
    return new Attachment("image/jpeg", 123_456, ByteBuffer.wrap(new byte[32]), "blob:7f3a")
        .setWidth(640)
        .setHeight(480)
        .setPreview(new byte[] {1, 2, 3})
        .setName("cat.jpg");
  }

  @Test
  void shouldSendAMessageWithAttachmentsAndCompleteWithItsOwnNewMessage() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);
    List<Attachment> attachments = new ArrayList<>(List.of(photo()));

    CompletableFuture<Delta> sent = d.send(THREAD, "", attachments);
    attachments.get(0).setUrl("blob:changed"); // the app's list is its own again at once
    attachments.add(photo());

    DeviceCommand cmd = command(c);
    assertEquals(THREAD, cmd.getThreadId());
    assertEquals("", cmd.getBody().getSendMessage().getText(), "no text: the photo says it");
    assertEquals(List.of(photo()), cmd.getBody().getSendMessage().getAttachments());
    c.push(
        push(
            11,
            10,
            DeltaBody.newMessage(
                new NewMessage(1, USER, "")
                    .setClientId(cmd.getClientId())
                    .setAttachments(List.of(photo())))));
    assertEquals(List.of(photo()), done(sent).getBody().getNewMessage().getAttachments());
  }

  @Test
  void shouldSendNoAttachmentsFieldForNullOrNoAttachments() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    d.send(THREAD, "hi", null);
    d.send(THREAD, "hi", List.of());

    assertFalse(command(c).getBody().getSendMessage().isSetAttachments());
    assertFalse(command(c).getBody().getSendMessage().isSetAttachments());
  }

  @Test
  void shouldEditAndCompleteWithItsOwnMessageEdited() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    CompletableFuture<Delta> edited = d.editMessage(THREAD, 55, "fixed");

    DeviceCommand cmd = command(c);
    assertEquals(THREAD, cmd.getThreadId());
    assertEquals(new EditMessage(55, "fixed"), cmd.getBody().getEditMessage());
    c.push(
        push(
            11,
            10,
            DeltaBody.messageEdited(
                new MessageEdited(55, USER, "fixed").setClientId(cmd.getClientId()))));
    assertEquals("fixed", done(edited).getBody().getMessageEdited().getText());
  }

  @Test
  void shouldDeleteAndCompleteWithItsOwnMessageDeleted() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    CompletableFuture<Delta> deleted = d.deleteMessage(THREAD, 55);

    DeviceCommand cmd = command(c);
    assertEquals(THREAD, cmd.getThreadId());
    assertEquals(55, cmd.getBody().getDeleteMessage().getMessageId());
    c.push(
        push(
            11,
            10,
            DeltaBody.messageDeleted(new MessageDeleted(55, USER).setClientId(cmd.getClientId()))));
    assertEquals(55, done(deleted).getBody().getMessageDeleted().getMessageId());
  }

  @Test
  void shouldReactAndRemoveTheReactionWithNullOrEmpty() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    CompletableFuture<Delta> set = d.react(THREAD, 55, "\ud83d\udc4d");
    CompletableFuture<Delta> removed = d.react(THREAD, 55, null);
    CompletableFuture<Delta> removedToo = d.react(THREAD, 55, "");

    DeviceCommand first = command(c);
    DeviceCommand second = command(c);
    DeviceCommand third = command(c);
    assertEquals(55, first.getBody().getReact().getMessageId());
    assertEquals("\ud83d\udc4d", first.getBody().getReact().getEmoji());
    assertFalse(second.getBody().getReact().isSetEmoji(), "absent: removed");
    assertFalse(third.getBody().getReact().isSetEmoji(), "empty is sent as absent");
    ReactionChanged r = new ReactionChanged(55, USER).setEmoji("\ud83d\udc4d");
    c.push(push(11, 10, DeltaBody.reactionChanged(r.setClientId(first.getClientId()))));
    c.push(
        push(
            12,
            11,
            DeltaBody.reactionChanged(
                new ReactionChanged(55, USER).setClientId(second.getClientId()))));
    c.push(
        push(
            13,
            12,
            DeltaBody.reactionChanged(
                new ReactionChanged(55, USER).setClientId(third.getClientId()))));
    assertEquals("\ud83d\udc4d", done(set).getBody().getReactionChanged().getEmoji());
    assertFalse(done(removed).getBody().getReactionChanged().isSetEmoji());
    assertFalse(done(removedToo).getBody().getReactionChanged().isSetEmoji());
  }

  @Test
  void shouldFailWithTheRuleOfItsCommandRejected() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    CompletableFuture<Delta> late = d.editMessage(THREAD, 55, "too late");
    CompletableFuture<Delta> old = d.deleteMessage(THREAD, 56);

    String lateId = command(c).getClientId();
    String oldId = command(c).getClientId();
    c.push(
        push(
            11,
            10,
            DeltaBody.commandRejected(
                new CommandRejected(lateId, ErrorCode.INVALID_ARGUMENT, "sent 16 min ago")
                    .setRule("EDIT_WINDOW_PASSED"))));
    // An older server's rejection: no rule.
    c.push(
        push(
            12,
            11,
            DeltaBody.commandRejected(
                new CommandRejected(oldId, ErrorCode.UNAUTHORISED, "not yours"))));

    ExecutionException e = assertThrows(ExecutionException.class, () -> done(late));
    IrisDevice.RejectedException r =
        assertInstanceOf(IrisDevice.RejectedException.class, e.getCause());
    assertEquals(ErrorCode.INVALID_ARGUMENT, r.code());
    assertEquals("EDIT_WINDOW_PASSED", r.rule());
    assertTrue(r.getMessage().contains("EDIT_WINDOW_PASSED"), r.getMessage());
    e = assertThrows(ExecutionException.class, () -> done(old));
    r = assertInstanceOf(IrisDevice.RejectedException.class, e.getCause());
    assertEquals(ErrorCode.UNAUTHORISED, r.code());
    assertNull(r.rule());
    await().atMost(WAIT).until(() -> applied.size() == 2); // rejections are deltas too
  }

  @Test
  void shouldSkipADeltaOfAKindNewerThanTheSdkAndStillApplyItsPosition() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);
    CompletableFuture<Delta> sent = d.send(THREAD, "after it");
    String clientId = command(c).getClientId();

    // As a newer streams app writes it and a bridge forwards it: bytes this SDK cannot read whole.
    c.push(
        DeltaFrames.batch(
            null,
            List.of(
                DeltaFrames.positioned(
                    NewerWriterFrames.deltaOfAnUnknownKind(USER, THREAD), 11, 10)),
            E,
            11,
            false,
            null));
    c.push(
        push(
            12,
            11,
            DeltaBody.newMessage(new NewMessage(1, USER, "after it").setClientId(clientId))));

    assertEquals(12, done(sent).getPos(), "chained through the unknown one: no gap asked for");
    assertEquals(12, d.lastPos());
    assertEquals(1, d.unknownKindsSkipped());
    await().atMost(WAIT).until(() -> applied.size() == 1);
    assertEquals(12, applied.get(0).getPos(), "the app sees only what it knows");
    assertEquals(0, d.gapsRepaired());
  }

  @Test
  void shouldSendTheReactionOfTheDocumentsTestVector() throws Exception {
    IrisDevice d = device();
    Conn c = connected(d);

    d.react(1001, 55, "\ud83d\udc4d");

    // The document's ids in place of the random ones: the rest is the SDK's own frame.
    DeviceRequest r = c.request("command", WAIT).setRequestId("r4");
    r.getBody().getCommand().setClientId("c-2");
    byte[] frame = FrameCodec.defaults().encode(r);
    List<DocVectors.Vector> vectors = DocVectors.containing("react:React(");
    assertEquals(
        1,
        vectors.size(),
        "docs/PROTOCOL.md shows the reaction: " + DocVectors.hex(frame) + "\n" + r);
    assertArrayEquals(vectors.get(0).frame(), frame, DocVectors.hex(frame) + "\n" + r);
    assertEquals(r.toString(), vectors.get(0).meaning());
  }
}
