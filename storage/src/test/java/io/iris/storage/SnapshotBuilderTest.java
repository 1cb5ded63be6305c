package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReactionCount;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.protocol.thrift.ThreadSummary;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The reference replay's meaning of edits, deletes, reactions and attachments (issue 20), and of
 * delivery updates: none.
 */
class SnapshotBuilderTest {
  static final long ME = 1;
  static final long THREAD = 100;

  long pos = 10;
  final List<Delta> deltas = new ArrayList<>();

  void add(long ts, DeltaBody body) {
    deltas.add(new Delta(ME, THREAD, ts, body).setPos(pos));
    pos += 3;
  }

  ThreadSummary thread() {
    SnapshotBuilder b = new SnapshotBuilder(ME);
    deltas.forEach(b::apply);
    Snapshot s = b.build(20, 20, 0, -1, "e");
    assertEquals(1, s.getThreadsSize());
    return s.getThreads().get(0);
  }

  Message message(long id) {
    return thread().getLastMessages().stream()
        .filter(m -> m.getMessageId() == id)
        .findFirst()
        .orElseThrow();
  }

  static DeltaBody react(long id, long reactor, String emoji) {
    return DeltaBody.reactionChanged(new ReactionChanged(id, reactor).setEmoji(emoji));
  }

  static final Attachment PHOTO =
      new Attachment("image/png", 10, ByteBuffer.wrap(new byte[32]), "blob:1")
          .setPreview(new byte[] {1});

  void conversation() {
    add(
        1000,
        DeltaBody.threadCreated(new ThreadCreated(2, new ArrayList<>(List.of(1L, 2L, 3L, 4L)))));
    add(2000, DeltaBody.newMessage(new NewMessage(1, 2, "first")));
    add(
        3000,
        DeltaBody.newMessage(
            new NewMessage(2, 2, "").setAttachments(new ArrayList<>(List.of(PHOTO)))));
    add(4000, DeltaBody.newMessage(new NewMessage(3, 1, "mine")));
  }

  @Test
  void shouldShowTheLastEditsTextAndTime() {
    conversation();
    add(5000, DeltaBody.messageEdited(new MessageEdited(1, 2, "first, fixed")));
    add(6000, DeltaBody.messageEdited(new MessageEdited(1, 2, "first, fixed again")));
    Message m = message(1);
    assertEquals("first, fixed again", m.getText());
    assertEquals(6000, m.getEditedAtMs());
    assertEquals(2000, m.getServerTimestampMs(), "the message's own time stays");
    assertFalse(message(3).isSetEditedAtMs(), "never edited");
    assertEquals(4000, thread().getLastActivityMs(), "edits do not move the thread");
    assertEquals(2, thread().getUnreadCount());
  }

  @Test
  void shouldShowAMessageDeletedWithNothingOfItsContentWhateverCameBeforeOrAfter() {
    conversation();
    add(5000, DeltaBody.messageEdited(new MessageEdited(2, 2, "caption")));
    add(5500, react(2, 1, "\uD83D\uDC4D"));
    add(6000, DeltaBody.messageDeleted(new MessageDeleted(2, 2)));
    add(7000, DeltaBody.messageEdited(new MessageEdited(2, 2, "too late")));
    add(7500, react(2, 3, "\uD83D\uDE02"));
    add(8000, DeltaBody.messageDeleted(new MessageDeleted(2, 2)));
    Message expected = new Message(2, THREAD, 2, "", 3000, 16).setDeleted(true);
    assertEquals(expected, message(2));
    assertEquals(2, thread().getUnreadCount(), "a deleted message still counts where it stood");
    assertEquals(4000, thread().getLastActivityMs());
  }

  @Test
  void shouldCountEachReactorsLastReactionMostChosenFirstThenByEmoji() {
    conversation();
    String thumbs = "\uD83D\uDC4D"; // U+1F44D, a surrogate pair: below U+FF01 for compareTo
    String bang = "\uFF01";
    add(5000, react(1, 2, bang));
    add(5001, react(1, 3, thumbs));
    add(5002, react(1, 4, "\u2764"));
    add(5003, react(1, 1, "\u2764"));
    add(5004, react(1, 1, thumbs)); // replaces my heart
    add(5005, react(1, 4, null)); // removes
    add(5006, react(1, 4, bang));
    add(5007, react(3, 2, ""));
    Message m = message(1);
    assertEquals(
        List.of(
            new ReactionCount(thumbs, 2).setUserIds(List.of(1L, 3L)),
            new ReactionCount(bang, 2).setUserIds(List.of(2L, 4L))),
        m.getReactions(),
        "counts, and who chose each emoji (ascending)");
    assertEquals(thumbs, m.getMyReaction());
    assertEquals("first", m.getText());
    Message mine = message(3);
    assertFalse(mine.isSetReactions(), "an empty emoji is none");
    assertFalse(mine.isSetMyReaction());
    add(5008, react(1, 1, null));
    add(5009, react(1, 2, null));
    add(5010, react(1, 3, null));
    add(5011, react(1, 4, null));
    assertFalse(message(1).isSetReactions(), "unset when empty");
    assertEquals(4000, thread().getLastActivityMs(), "reactions do not move the thread");
  }

  @Test
  void shouldShowAttachmentsAsSentAndNoneWhenThereAreNone() {
    conversation();
    assertEquals(List.of(PHOTO), message(2).getAttachments());
    assertFalse(message(1).isSetAttachments());
    add(5000, DeltaBody.newMessage(new NewMessage(4, 2, "x").setAttachments(new ArrayList<>())));
    assertFalse(message(4).isSetAttachments(), "an empty list is none");
  }

  static DeltaBody delivered(long upTo) {
    return DeltaBody.deliveryUpdate(
        new DeliveryUpdate(
            new ArrayList<>(
                List.of(
                    new DeviceDelivery(2, "phone", upTo), new DeviceDelivery(ME, "d1", upTo)))));
  }

  @Test
  void shouldIgnoreDeliveryUpdatesButTheirPositions() {
    conversation();
    add(5000, react(1, 3, "\u2764"));
    add(5001, DeltaBody.messageEdited(new MessageEdited(3, ME, "mine!")));
    List<Delta> without = new ArrayList<>(deltas);
    SnapshotBuilder plain = new SnapshotBuilder(ME);
    without.forEach(plain::apply);

    // Another thread, active after this one; then updates of this one at later flush times, of
    // a thread never created here, and one with no marks at all.
    deltas.add(
        new Delta(
                ME,
                THREAD + 1,
                6000,
                DeltaBody.threadCreated(new ThreadCreated(2, new ArrayList<>(List.of(1L, 2L)))))
            .setPos(pos));
    pos += 3;
    without.add(deltas.get(deltas.size() - 1));
    add(9000, delivered(3));
    deltas.add(new Delta(ME, THREAD + 7, 9001, delivered(1)).setPos(pos));
    pos += 3;
    add(9002, DeltaBody.deliveryUpdate(new DeliveryUpdate(new ArrayList<>())));
    SnapshotBuilder withUpdates = new SnapshotBuilder(ME);
    deltas.forEach(withUpdates::apply);
    SnapshotBuilder reference = new SnapshotBuilder(ME);
    without.forEach(reference::apply);

    assertEquals(deltas.get(deltas.size() - 1).getPos(), withUpdates.position());
    Snapshot s = withUpdates.build(20, 20, 0, -1, "e");
    assertEquals(reference.build(20, 20, 0, withUpdates.position(), "e"), s);
    assertEquals(
        List.of(THREAD + 1, THREAD),
        s.getThreads().stream().map(ThreadSummary::getThreadId).toList(),
        "no activity");
    assertEquals(4000, s.getThreads().get(1).getLastActivityMs());
    assertEquals(
        plain.build(20, 20, 0, -1, "e").getThreads().get(0).getLastMessages(),
        s.getThreads().get(1).getLastMessages());
  }
}
