package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a user's inbox snapshot by replaying the user's stored deltas in position order: the
 * definition of what a snapshot consistent with the deltas up to a position contains. {@link
 * SnapshotService} reads the same result from tables kept by triggers; this replay is the reference
 * the tests hold it to.
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

  private final long userId;
  private final Map<Long, ThreadView> threads = new LinkedHashMap<>();
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
      t.all.add(msg);
      t.lastActivityMs = Math.max(t.lastActivityMs, d.getServerTimestampMs());
    } else if (b.isSetReadReceipt()
        && t != null
        && b.getReadReceipt().getReaderUserId() == userId) {
      t.readUpTo = Math.max(t.readUpTo, b.getReadReceipt().getUpToMessageId());
    }
    return this;
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
          new ArrayList<>(
              t.all.subList(Math.max(0, t.all.size() - messagesPerThread), t.all.size()));
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
