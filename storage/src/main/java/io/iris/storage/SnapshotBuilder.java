package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReactionCount;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a user's inbox snapshot by replaying the user's stored deltas in position order: the
 * definition of what a snapshot consistent with the deltas up to a position contains. {@link
 * SnapshotService} reads the same result from tables kept by triggers; this replay is the reference
 * the tests hold it to.
 *
 * <p>A message is shown as its new_message delta delivered it, changed by the later deltas of the
 * user about it: the text of its last edit (editedAtMs: that edit's server time), the current
 * reaction of each reactor, and deleted, which wins over everything (no text, attachments, edit
 * time or reactions, whatever came before or after the delete). Edits, deletes and reactions do not
 * move the thread's last activity and do not change unread counts.
 */
public final class SnapshotBuilder {
  private static final class ThreadView {
    long threadId;
    String name;
    List<Long> participants = new ArrayList<>();
    boolean member;
    long lastActivityMs;
    long readUpTo;
    final Deque<Message> last = new ArrayDeque<>();
    final List<Message> all = new ArrayList<>();
  }

  private record MessageKey(long threadId, long messageId) {}

  /** What later deltas changed of one message. */
  private static final class MessageChanges {
    /** The last edit's text, null when never edited. */
    String text;

    long editedAtMs;
    boolean deleted;

    /** Per reactor, the current emoji. */
    final Map<Long, String> reactions = new HashMap<>();
  }

  private final long userId;
  private final Map<Long, ThreadView> threads = new LinkedHashMap<>();
  private final Map<MessageKey, MessageChanges> changes = new HashMap<>();
  private long position = -1;

  public SnapshotBuilder(long userId) {
    this.userId = userId;
  }

  /**
   * Applies the next delta of the user; deltas must have {@code pos} set and come in increasing
   * position order (positions are not contiguous: any increase is fine).
   */
  public SnapshotBuilder apply(Delta d) {
    if (!d.isSetPos()) {
      throw new IllegalArgumentException(
          "delta of thread " + d.getThreadId() + " has no pos: replay stored deltas");
    }
    if (d.getPos() <= position) {
      throw new IllegalArgumentException(
          "deltas must come in position order: " + d.getPos() + " after " + position);
    }
    position = d.getPos();
    DeltaBody b = d.getBody();
    ThreadView t = threads.get(d.getThreadId());
    if (b.isSetThreadCreated() || b.isSetParticipantsChanged()) {
      if (t == null) {
        t = new ThreadView();
        t.threadId = d.getThreadId();
        threads.put(t.threadId, t);
      }
      if (b.isSetThreadCreated()) {
        t.participants = b.getThreadCreated().getParticipantUserIds();
        t.name = b.getThreadCreated().getName() != null ? b.getThreadCreated().getName() : t.name;
      } else {
        t.participants = b.getParticipantsChanged().getParticipantUserIds();
        String name = b.getParticipantsChanged().getThreadName();
        t.name = name != null ? name : t.name;
      }
      t.member = t.participants.contains(userId);
      t.lastActivityMs = Math.max(t.lastActivityMs, d.getServerTimestampMs());
    } else if (b.isSetNewMessage() && t != null) {
      NewMessage m = b.getNewMessage();
      Message msg =
          new Message(
              m.getMessageId(),
              d.getThreadId(),
              m.getSenderUserId(),
              m.getText(),
              d.getServerTimestampMs(),
              d.getPos());
      if (m.isSetClientId()) {
        msg.setClientId(m.getClientId());
      }
      if (m.getAttachmentsSize() > 0) {
        msg.setAttachments(new ArrayList<>(m.getAttachments()));
      }
      t.all.add(msg);
      t.lastActivityMs = Math.max(t.lastActivityMs, d.getServerTimestampMs());
    } else if (b.isSetReadReceipt()
        && t != null
        && b.getReadReceipt().getReaderUserId() == userId) {
      t.readUpTo = Math.max(t.readUpTo, b.getReadReceipt().getUpToMessageId());
    } else if (b.isSetMessageEdited()) {
      // Positions only grow here, so the last edit applied is the one with the highest position.
      MessageChanges c = changes(d.getThreadId(), b.getMessageEdited().getMessageId());
      c.text = b.getMessageEdited().getText();
      c.editedAtMs = d.getServerTimestampMs();
    } else if (b.isSetMessageDeleted()) {
      changes(d.getThreadId(), b.getMessageDeleted().getMessageId()).deleted = true;
    } else if (b.isSetReactionChanged()) {
      ReactionChanged r = b.getReactionChanged();
      MessageChanges c = changes(d.getThreadId(), r.getMessageId());
      if (r.getEmoji() == null || r.getEmoji().isEmpty()) {
        c.reactions.remove(r.getReactorUserId());
      } else {
        c.reactions.put(r.getReactorUserId(), r.getEmoji());
      }
    }
    return this;
  }

  private MessageChanges changes(long threadId, long messageId) {
    return changes.computeIfAbsent(new MessageKey(threadId, messageId), k -> new MessageChanges());
  }

  /** {@code m} as the later deltas about it leave it (a copy). */
  private Message shown(Message m) {
    MessageChanges c = changes.get(new MessageKey(m.getThreadId(), m.getMessageId()));
    Message out = m.deepCopy();
    if (c == null) {
      return out;
    }
    if (c.deleted) {
      out.setText("");
      out.unsetAttachments();
      out.setDeleted(true);
      return out;
    }
    if (c.text != null) {
      out.setText(c.text);
      out.setEditedAtMs(c.editedAtMs);
    }
    Map<String, List<Long>> who = new TreeMap<>();
    c.reactions.forEach((user, e) -> who.computeIfAbsent(e, k -> new ArrayList<>()).add(user));
    List<ReactionCount> reactions = reactions(who);
    if (!reactions.isEmpty()) {
      out.setReactions(reactions);
    }
    String mine = c.reactions.get(userId);
    if (mine != null) {
      out.setMyReaction(mine);
    }
    return out;
  }

  /**
   * The reactions of a message from who chose each emoji: those chosen by anyone, most chosen
   * first, then by emoji ({@link String#compareTo}, not MySQL's collation, which orders some emojis
   * otherwise), each with its users ascending.
   */
  static List<ReactionCount> reactions(Map<String, List<Long>> who) {
    List<ReactionCount> out = new ArrayList<>();
    who.forEach(
        (emoji, users) -> {
          if (!users.isEmpty()) {
            List<Long> sorted = new ArrayList<>(users);
            Collections.sort(sorted);
            out.add(new ReactionCount(emoji, sorted.size()).setUserIds(sorted));
          }
        });
    out.sort(
        Comparator.comparingInt(ReactionCount::getCount)
            .reversed()
            .thenComparing(ReactionCount::getEmoji));
    return out;
  }

  /** The position of the last delta applied, -1 when none. */
  public long position() {
    return position;
  }

  /**
   * The snapshot after the deltas applied so far, stating {@code pos = max(storedThrough,
   * position())} as {@link SnapshotService#snapshot} does: {@code storedThrough} is a position
   * through which the deltas applied are known to be all the user's.
   */
  public Snapshot build(
      int maxThreads, int messagesPerThread, long takenAtMs, long storedThrough, String epoch) {
    List<ThreadView> members =
        threads.values().stream()
            .filter(t -> t.member)
            .sorted(
                Comparator.comparingLong((ThreadView t) -> t.lastActivityMs)
                    .thenComparingLong(t -> t.threadId)
                    .reversed())
            .limit(maxThreads)
            .toList();
    List<ThreadSummary> summaries = new ArrayList<>();
    for (ThreadView t : members) {
      List<Message> last =
          t.all.subList(Math.max(0, t.all.size() - messagesPerThread), t.all.size()).stream()
              .map(this::shown)
              .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
      int unread =
          (int)
              t.all.stream()
                  .filter(m -> m.getMessageId() > t.readUpTo && m.getSenderUserId() != userId)
                  .count();
      ThreadSummary s =
          new ThreadSummary(
              t.threadId, new ArrayList<>(t.participants), last, unread, t.lastActivityMs);
      if (t.name != null) {
        s.setName(t.name);
      }
      summaries.add(s);
    }
    return new Snapshot(userId, summaries, takenAtMs, Math.max(storedThrough, position), epoch);
  }
}
