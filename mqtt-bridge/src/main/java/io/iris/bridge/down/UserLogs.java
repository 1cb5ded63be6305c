package io.iris.bridge.down;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What this bridge knows of each user's queue from the part of iris.log its push path has read
 * (tier 1 of DESIGN.md), in positions:
 *
 * <ul>
 *   <li>per partition, where the push path started reading and how far it has read: every delta of
 *       the partition at a position in {@code [start, readThrough)} went through {@link #append};
 *   <li>per user, the position of the last delta read, which is the {@code prevPos} of the next one
 *       (or {@code start - 1} for the first one read: no delta of the user lies between the start
 *       and it);
 *   <li>the newest {@code recentPerUser} deltas of up to {@code maxUsers} users (least recently
 *       written users drop theirs first), each with its position and prevPos, as the frames read.
 * </ul>
 *
 * From these it answers a catch-up from memory whenever memory covers it ({@link #recent}): the
 * user's chain of deltas held here reaches back to the device's position, or nothing of the user
 * was read since it. Thread-safe (one lock; every operation is short).
 */
public final class UserLogs {
  /** A delta held in memory: its position, its prevPos and the frame read from the log. */
  public record Entry(long pos, long prevPos, byte[] frame) {}

  /**
   * Deltas of a user from memory, in position order, and how far the answer covers the user's
   * queue: with {@code more} false, every delta of the user up to {@code throughPos} is in it (or
   * was at or below the position asked after); with {@code more} true, the page stopped at {@code
   * throughPos}, the last delta.
   */
  public record Recent(List<Entry> entries, long throughPos, boolean more) {}

  private static final class User {
    final int partition;
    long last = -1;
    // tier 1 ring, oldest first
    Entry[] ring;
    int start;
    int size;

    User(int partition) {
      this.partition = partition;
    }
  }

  private static final class Partition {
    final long start;
    long readThrough;

    Partition(long start) {
      this.start = start;
      this.readThrough = start;
    }
  }

  private final int recentPerUser;
  private final Map<Integer, Partition> partitions = new HashMap<>();
  private final Map<Long, User> users = new HashMap<>();
  private final LinkedHashMap<Long, User> withRecent;
  private long bytes;
  private long deltas;
  private long heldBytes;

  public UserLogs(int recentPerUser, int maxUsers) {
    this.recentPerUser = recentPerUser;
    this.withRecent =
        new LinkedHashMap<>(1024, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Long, User> eldest) {
            if (size() > maxUsers) {
              forgetRecent(eldest.getValue());
              return true;
            }
            return false;
          }
        };
  }

  /**
   * The push path starts reading {@code partition} at {@code offset}: forgets what it knew of the
   * partition's users (their chains start again here).
   */
  public synchronized void startReading(int partition, long offset) {
    partitions.put(partition, new Partition(offset));
    forget(partition);
  }

  private void forget(int partition) {
    users.values().removeIf(u -> u.partition == partition);
    withRecent
        .values()
        .removeIf(
            u -> {
              if (u.partition != partition) {
                return false;
              }
              forgetRecent(u);
              return true;
            });
  }

  /** Drops a user's deltas from memory (its last position stays known). */
  private void forgetRecent(User u) {
    for (int i = 0; i < u.size; i++) {
      heldBytes -= u.ring[(u.start + i) % recentPerUser].frame().length;
    }
    u.ring = null;
    u.size = 0;
  }

  /**
   * The push path no longer reads {@code partition} (it moved to another bridge): forgets it and
   * its users, so that memory holds only the users of the partitions this bridge owns, and nothing
   * here answers for a partition another bridge now reads.
   */
  public synchronized void stopReading(int partition) {
    partitions.remove(partition);
    forget(partition);
  }

  /** The partitions being read. */
  public synchronized java.util.Set<Integer> partitionsRead() {
    return java.util.Set.copyOf(partitions.keySet());
  }

  /**
   * A delta of {@code userId} read at {@code offset} of {@code partition}; returns its prevPos.
   * Deltas of a partition must come in offset order, after {@link #startReading}.
   *
   * @throws IllegalStateException when the partition was not started or the offset goes back
   */
  public long append(long userId, int partition, long offset, byte[] frame) {
    synchronized (this) {
      Partition p = partitions.get(partition);
      if (p == null || offset < p.readThrough) {
        throw new IllegalStateException(
            "offset "
                + offset
                + " of partition "
                + partition
                + " read out of order (read through "
                + (p == null ? "nothing" : p.readThrough)
                + ")");
      }
      p.readThrough = offset + 1;
      bytes += frame.length;
      deltas++;
      User u = users.get(userId);
      if (u == null || u.partition != partition) {
        if (u != null && u.ring != null) {
          forgetRecent(u);
        }
        u = new User(partition);
        users.put(userId, u);
      }
      long prevPos = u.last >= 0 ? u.last : p.start - 1;
      u.last = offset;
      if (recentPerUser > 0) {
        withRecent.put(userId, u);
        if (u.ring == null) {
          u.ring = new Entry[recentPerUser];
          u.start = 0;
          u.size = 0;
        }
        int slot = (u.start + u.size) % recentPerUser;
        if (u.size == recentPerUser) {
          heldBytes -= u.ring[slot].frame().length; // the oldest, overwritten
        }
        u.ring[slot] = new Entry(offset, prevPos, frame);
        heldBytes += frame.length;
        if (u.size < recentPerUser) {
          u.size++;
        } else {
          u.start = (u.start + 1) % recentPerUser;
        }
      }
      return prevPos;
    }
  }

  /**
   * The push path has read {@code partition} up to {@code offset} (exclusive): the rest of that
   * range held no delta (transaction markers, aborted records, or nothing).
   */
  public synchronized void readThrough(int partition, long offset) {
    Partition p = partitions.get(partition);
    if (p != null && offset > p.readThrough) {
      p.readThrough = offset;
    }
  }

  /**
   * How far the push path has read {@code partition} (exclusive), or -1 when it does not read it.
   */
  public synchronized long readThrough(int partition) {
    Partition p = partitions.get(partition);
    return p == null ? -1 : p.readThrough;
  }

  /**
   * Tier 1: up to {@code max} deltas of the user (in {@code partition}) with {@code afterPos < pos
   * <= toPos} ({@code toPos < 0}: no bound), when memory covers that range; otherwise null.
   */
  public synchronized Recent recent(
      long userId, int partition, long afterPos, long toPos, int max) {
    Partition p = partitions.get(partition);
    if (p == null) {
      return null;
    }
    long readTo = p.readThrough - 1;
    long bound = toPos >= 0 ? Math.min(toPos, readTo) : readTo;
    User u = users.get(userId);
    List<Entry> out = new ArrayList<>();
    if (u == null || u.partition != partition) {
      // Nothing of the user read since the start: memory covers from start - 1 on.
      return afterPos >= p.start - 1 ? new Recent(out, Math.max(bound, afterPos), false) : null;
    }
    if (u.ring == null || u.size == 0) {
      // Deltas dropped from memory: it covers only what lies after the last one.
      return afterPos >= u.last ? new Recent(out, Math.max(bound, afterPos), false) : null;
    }
    Entry first = u.ring[u.start];
    if (first.prevPos() > afterPos) {
      return null;
    }
    for (int i = 0; i < u.size; i++) {
      Entry e = u.ring[(u.start + i) % recentPerUser];
      if (e.pos() <= afterPos) {
        continue;
      }
      if (e.pos() > bound) {
        break;
      }
      if (out.size() == max) {
        return new Recent(out, out.get(out.size() - 1).pos(), true);
      }
      out.add(e);
    }
    return new Recent(out, Math.max(bound, afterPos), false);
  }

  /** How many deltas of the user memory holds after {@code afterPos}, or -1 when it cannot say. */
  public synchronized long countAfter(long userId, int partition, long afterPos) {
    Recent r = recent(userId, partition, afterPos, -1, Integer.MAX_VALUE);
    return r == null ? -1 : r.entries().size();
  }

  /** Average size of a delta frame read from the log, bytes (0 before the first). */
  public synchronized double averageDeltaBytes() {
    return deltas == 0 ? 0 : (double) bytes / deltas;
  }

  /** Bytes of the delta frames held in memory (tier 1), without the objects around them. */
  public synchronized long bytesInMemory() {
    return heldBytes;
  }

  /** Users with deltas in memory. */
  public synchronized int usersInMemory() {
    return withRecent.size();
  }

  /** Users whose last position is known. */
  public synchronized int usersKnown() {
    return users.size();
  }
}
