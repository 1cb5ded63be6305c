package io.iris.bridge.down;

import io.iris.protocol.thrift.LogBookmarks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the bridge knows of each user's queue, from the part of iris.log its push path consumes:
 *
 * <ul>
 *   <li>tier 1: the newest {@code recentPerUser} deltas of up to {@code maxUsers} users (least
 *       recently written users drop theirs first), as the frames read from the log;
 *   <li>the head: the highest seq seen, and whether it is <em>exact</em>. A head learnt from a
 *       delta read live is the user's true head (seqs are read in order). A head restored from
 *       bookmarks is only a lower bound: the deltas after the last bookmark may lie before the
 *       offset where the push path resumed, so this bridge never reads them. Whoever answers a sync
 *       must then find the true head first ({@link #confirmHead}); answering from the lower bound
 *       would tell a device it is current while it is not;
 *   <li>offset bookmarks for tier 2: a bookmark (seq, offset) at the first delta seen of a user and
 *       then every {@code bookmarkEvery} seqs, the newest {@code bookmarksPerUser} kept. Every seq
 *       after a bookmark sits at a higher offset of the same partition, so a range is read by
 *       seeking to the last bookmark at or before its start — and, while reading, to the last
 *       bookmark at or before the next missing seq, which skips other users' records.
 * </ul>
 *
 * New bookmarks are handed to a listener that persists them in {@code iris.log-index}; a restarted
 * bridge restores them with {@link #restore}. Thread-safe (one lock; every operation is short).
 */
public final class UserLogs {
  /** A user's deltas read from memory, oldest first. */
  public record Recent(List<byte[]> frames, long firstSeq) {}

  /** The offset of seq in a partition of iris.log. */
  public record Bookmark(int partition, long seq, long offset) {}

  private static final class User {
    long head = -1;
    boolean exact;
    int partition = -1;
    // tier 1 ring
    long[] seqs;
    byte[][] frames;
    int start;
    int size;
    // bookmarks, oldest first
    long[] bmSeq = new long[0];
    long[] bmOffset = new long[0];
  }

  private final int recentPerUser;
  private final int bookmarkEvery;
  private final int bookmarksPerUser;
  private final Map<Long, User> users = new HashMap<>();
  private final LinkedHashMap<Long, User> withRecent;
  private final Consumer<LogBookmarks> onBookmark;
  private long bytes;
  private long deltas;

  public UserLogs(
      int recentPerUser,
      int maxUsers,
      int bookmarkEvery,
      int bookmarksPerUser,
      Consumer<LogBookmarks> onBookmark) {
    this.recentPerUser = recentPerUser;
    this.bookmarkEvery = bookmarkEvery;
    this.bookmarksPerUser = bookmarksPerUser;
    this.onBookmark = onBookmark;
    this.withRecent =
        new LinkedHashMap<>(1024, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Long, User> eldest) {
            if (size() > maxUsers) {
              User u = eldest.getValue();
              u.seqs = null;
              u.frames = null;
              u.size = 0;
              return true;
            }
            return false;
          }
        };
  }

  /** A delta of {@code user} read from {@code partition} at {@code offset}. */
  public void append(long userId, int partition, long offset, long seq, byte[] frame) {
    LogBookmarks changed = null;
    synchronized (this) {
      bytes += frame.length;
      deltas++;
      User u = users.computeIfAbsent(userId, k -> new User());
      if (seq <= u.head && u.partition == partition) {
        return; // replayed after a rebalance or restart: known already
      }
      u.head = Math.max(u.head, seq);
      u.exact = true;
      if (recentPerUser > 0) {
        withRecent.put(userId, u);
        if (u.frames == null) {
          u.seqs = new long[recentPerUser];
          u.frames = new byte[recentPerUser][];
          u.start = 0;
          u.size = 0;
        }
        if (u.size > 0 && u.seqs[(u.start + u.size - 1) % recentPerUser] != seq - 1) {
          u.size = 0; // not contiguous with what is held: start again from this one
        }
        int slot = (u.start + u.size) % recentPerUser;
        u.seqs[slot] = seq;
        u.frames[slot] = frame;
        if (u.size < recentPerUser) {
          u.size++;
        } else {
          u.start = (u.start + 1) % recentPerUser;
        }
      }
      int n = u.bmSeq.length;
      if (u.partition != partition || n == 0 || seq >= u.bmSeq[n - 1] + bookmarkEvery) {
        if (u.partition != partition) {
          n = 0; // the partition changed (topic re-created): old offsets mean nothing
          u.bmSeq = new long[0];
          u.bmOffset = new long[0];
          u.partition = partition;
        }
        int keep = Math.min(n, bookmarksPerUser - 1);
        long[] s = new long[keep + 1];
        long[] o = new long[keep + 1];
        System.arraycopy(u.bmSeq, n - keep, s, 0, keep);
        System.arraycopy(u.bmOffset, n - keep, o, 0, keep);
        s[keep] = seq;
        o[keep] = offset;
        u.bmSeq = s;
        u.bmOffset = o;
        changed = toThrift(userId, u);
      }
    }
    if (changed != null) {
      onBookmark.accept(changed);
    }
  }

  /** Restores bookmarks read back from iris.log-index (older than what is known: ignored). */
  public synchronized void restore(LogBookmarks b) {
    User u = users.computeIfAbsent(b.getUserId(), k -> new User());
    int n = b.getSeqsSize();
    if (n == 0 || n != b.getOffsetsSize()) {
      return;
    }
    long last = b.getSeqs().get(n - 1);
    if (u.bmSeq.length > 0
        && u.partition == b.getPartition()
        && u.bmSeq[u.bmSeq.length - 1] >= last) {
      return;
    }
    u.partition = b.getPartition();
    u.bmSeq = b.getSeqs().stream().mapToLong(Long::longValue).toArray();
    u.bmOffset = b.getOffsets().stream().mapToLong(Long::longValue).toArray();
    u.head = Math.max(u.head, last);
  }

  /**
   * Whether {@link #head} is the user's true head: true once a delta of the user was read live,
   * false when it only comes from restored bookmarks (or nothing is known).
   */
  public synchronized boolean headExact(long userId) {
    User u = users.get(userId);
    return u != null && u.exact;
  }

  /**
   * Records the true head found by reading the log from the user's last bookmark to its end (or
   * from storage): from now on the head is exact, and live deltas keep it so.
   */
  public synchronized void confirmHead(long userId, long seq) {
    User u = users.computeIfAbsent(userId, k -> new User());
    u.head = Math.max(u.head, seq);
    u.exact = true;
  }

  /** The highest seq of the user seen here, -1 when none. */
  public synchronized long head(long userId) {
    User u = users.get(userId);
    return u == null ? -1 : u.head;
  }

  /**
   * Tier 1: up to {@code max} deltas with {@code afterSeq < seq <= toSeq} (toSeq 0: no bound), if
   * memory holds seq {@code afterSeq + 1}; otherwise null.
   */
  public synchronized Recent recent(long userId, long afterSeq, long toSeq, int max) {
    User u = users.get(userId);
    if (u == null || u.frames == null || u.size == 0) {
      return null;
    }
    long first = u.seqs[u.start];
    if (first > afterSeq + 1 || u.head < afterSeq + 1) {
      return null;
    }
    List<byte[]> out = new ArrayList<>();
    for (int i = (int) (afterSeq + 1 - first); i < u.size && out.size() < max; i++) {
      int slot = (u.start + i) % recentPerUser;
      if (toSeq > 0 && u.seqs[slot] > toSeq) {
        break;
      }
      out.add(u.frames[slot]);
    }
    return new Recent(out, afterSeq + 1);
  }

  /** The last bookmark at or before {@code seq}, or null. */
  public synchronized Bookmark bookmarkAtOrBefore(long userId, long seq) {
    User u = users.get(userId);
    if (u == null || u.bmSeq.length == 0) {
      return null;
    }
    int i = Arrays.binarySearch(u.bmSeq, seq);
    if (i < 0) {
      i = -i - 2;
    }
    return i < 0 ? null : new Bookmark(u.partition, u.bmSeq[i], u.bmOffset[i]);
  }

  /** Average size of a delta frame read from the log, bytes (0 before the first). */
  public synchronized double averageDeltaBytes() {
    return deltas == 0 ? 0 : (double) bytes / deltas;
  }

  /** Users with deltas in memory. */
  public synchronized int usersInMemory() {
    return withRecent.size();
  }

  /** Users with a head or bookmarks known. */
  public synchronized int usersKnown() {
    return users.size();
  }

  private static LogBookmarks toThrift(long userId, User u) {
    List<Long> s = new ArrayList<>(u.bmSeq.length);
    List<Long> o = new ArrayList<>(u.bmSeq.length);
    for (int i = 0; i < u.bmSeq.length; i++) {
      s.add(u.bmSeq[i]);
      o.add(u.bmOffset[i]);
    }
    return new LogBookmarks(userId, u.partition, s, o);
  }
}
