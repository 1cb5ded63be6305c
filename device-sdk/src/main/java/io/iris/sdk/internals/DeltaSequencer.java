package io.iris.sdk.internals;

import io.iris.protocol.thrift.Delta;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Puts one user's deltas in position order (docs/PROTOCOL.md, "Sync"). The device holds every delta
 * of its user with a position up to {@link #lastPos()} in {@link #epoch()} (a watermark: not
 * necessarily the position of a delta; -1 for nothing). A delta at or below it is a duplicate and
 * dropped; a delta whose {@code prevPos} is at or below it is applied (no delta of the user lies
 * between); any other is held until the gap {@code (lastPos, prevPos]} before it is filled.
 *
 * <p>No epoch means "waiting for a snapshot": every delta is held, by the epoch of the batch that
 * brought it, until the snapshot says which epoch and position to continue from.
 *
 * <p>Nothing bounds what is held: it is at most what the server pushes while a gap is repaired (or
 * a snapshot is awaited), as before.
 */
final class DeltaSequencer {
  // By epoch; while an epoch is known, only its deltas are held.
  private final Map<String, TreeMap<Long, Delta>> held = new HashMap<>();
  private String epoch;
  private long lastPos;
  private long duplicates;

  /**
   * @param epoch the epoch of {@code lastPos}; null: none, a snapshot comes first
   * @param lastPos the watermark in that epoch (-1: nothing of it yet); ignored without an epoch
   */
  DeltaSequencer(String epoch, long lastPos) {
    this.epoch = epoch;
    this.lastPos = epoch == null ? -1 : lastPos;
  }

  /** The epoch of {@link #lastPos()}; null while waiting for a snapshot. */
  String epoch() {
    return epoch;
  }

  /** Every delta up to this position is held (applied or in the snapshot); -1: none. */
  long lastPos() {
    return lastPos;
  }

  boolean awaitingSnapshot() {
    return epoch == null;
  }

  /** Deltas arrived and not applied yet (after a gap, or before the awaited snapshot). */
  boolean holding() {
    for (TreeMap<Long, Delta> m : held.values()) {
      if (!m.isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /** Whether a delta at this position is held (not applied yet, not dropped). */
  boolean isHeld(long pos) {
    TreeMap<Long, Delta> m = epoch == null ? null : held.get(epoch);
    return m != null && m.containsKey(pos);
  }

  /**
   * The end of the gap before the first held delta (its {@code prevPos}): ask for {@code (lastPos,
   * gapEnd()]}. Only while {@link #holding()} and an epoch is known.
   */
  long gapEnd() {
    return held.get(epoch).firstEntry().getValue().getPrevPos();
  }

  long duplicates() {
    return duplicates;
  }

  /**
   * Takes in the deltas of a batch of {@code batchEpoch} (the caller drops a batch of another epoch
   * than the known one): duplicates are counted and dropped, the rest held until {@link #next()}
   * applies them. While waiting for a snapshot every delta is held (which of them the snapshot
   * already holds is known only once it comes). Of two copies of one position the one with the
   * lower {@code prevPos} is kept: both promises are true, and the lower one is usable sooner.
   */
  void offer(String batchEpoch, List<Delta> deltas) {
    TreeMap<Long, Delta> m = held.computeIfAbsent(batchEpoch, e -> new TreeMap<>());
    for (Delta d : deltas) {
      if (!awaitingSnapshot() && d.getPos() <= lastPos) {
        duplicates++;
        continue;
      }
      Delta before = m.get(d.getPos());
      if (before == null) {
        m.put(d.getPos(), d);
      } else {
        duplicates++;
        if (d.getPrevPos() < before.getPrevPos()) {
          m.put(d.getPos(), d);
        }
      }
    }
  }

  /**
   * Applies the next held delta if no gap lies before it ({@code prevPos <= lastPos}), and returns
   * it; null when the next one waits for a gap to be filled (or none is held). Held deltas at or
   * below the position are dropped as duplicates on the way. Call until null to apply all that can
   * be.
   */
  Delta next() {
    TreeMap<Long, Delta> m = epoch == null ? null : held.get(epoch);
    while (m != null && !m.isEmpty()) {
      Delta d = m.firstEntry().getValue();
      if (d.getPos() <= lastPos) {
        m.pollFirstEntry();
        duplicates++;
      } else if (d.getPrevPos() <= lastPos) {
        m.pollFirstEntry();
        lastPos = d.getPos();
        return d;
      } else {
        return null; // a gap: (lastPos, prevPos] is missing
      }
    }
    return null;
  }

  /**
   * The device holds every delta up to {@code pos} (a batch's {@code throughPos}): the position
   * moves there if it is behind. Returns whether it moved. Held deltas it passes are dropped by the
   * next {@link #next()}.
   */
  boolean advanceTo(long pos) {
    if (epoch == null || pos <= lastPos) {
      return false;
    }
    lastPos = pos;
    return true;
  }

  /** Forgets the epoch, the position and everything held: a snapshot will set them anew. */
  void awaitSnapshot() {
    epoch = null;
    lastPos = -1;
    held.clear();
  }

  /**
   * A snapshot of {@code snapshotEpoch} as of {@code pos}: epoch and position move there, held
   * deltas of another epoch and those the snapshot already holds are dropped. A snapshot of the
   * known epoch older than the position is not applied (returns false); the caller decides about
   * one of an epoch it has left.
   */
  boolean applySnapshot(String snapshotEpoch, long pos) {
    if (epoch != null && epoch.equals(snapshotEpoch) && pos < lastPos) {
      return false;
    }
    epoch = snapshotEpoch;
    lastPos = pos;
    held.keySet().retainAll(List.of(snapshotEpoch));
    TreeMap<Long, Delta> m = held.get(snapshotEpoch);
    if (m != null) {
      m.headMap(pos, true).clear();
    }
    return true;
  }
}
