package io.iris.sdk.internals;

import io.iris.protocol.thrift.Delta;
import java.util.List;
import java.util.TreeMap;

/**
 * Puts one user's deltas in seq order (docs/PROTOCOL.md, "Sync", step 3): a seq already applied is
 * a duplicate and dropped; the next seq is applied; a later one is held until the gap before it is
 * filled. A last seq of -1 means "waiting for a snapshot": everything is held until it comes.
 */
final class DeltaSequencer {
  private final TreeMap<Long, Delta> held = new TreeMap<>();
  private long lastSeq;
  private long duplicates;

  DeltaSequencer(long lastSeq) {
    this.lastSeq = lastSeq;
  }

  /** The seq of the last delta applied, or of the snapshot; -1 while waiting for a snapshot. */
  long lastSeq() {
    return lastSeq;
  }

  boolean awaitingSnapshot() {
    return lastSeq < 0;
  }

  /** Deltas arrived and not applied yet (after a gap, or before the awaited snapshot). */
  boolean holding() {
    return !held.isEmpty();
  }

  /** The last seq of the gap before the first held delta; only while {@link #holding()}. */
  long gapEnd() {
    return held.firstKey() - 1;
  }

  long duplicates() {
    return duplicates;
  }

  /**
   * Takes deltas in: duplicates are counted and dropped, the rest held until {@link #next()}
   * applies them. While waiting for a snapshot every delta is held (which of them the snapshot
   * already holds is known only once it comes).
   */
  void offer(List<Delta> deltas) {
    for (Delta d : deltas) {
      if (awaitingSnapshot()) {
        held.put(d.getSeq(), d);
      } else if (d.getSeq() <= lastSeq || held.containsKey(d.getSeq())) {
        duplicates++;
      } else {
        held.put(d.getSeq(), d);
      }
    }
  }

  /**
   * Applies the next held delta if it follows the last seq without a gap, and returns it; null when
   * the next one is missing (or none is held). Call until null to apply all that can be.
   */
  Delta next() {
    while (!held.isEmpty() && held.firstKey() <= lastSeq + 1) {
      Delta d = held.pollFirstEntry().getValue();
      if (d.getSeq() <= lastSeq) {
        duplicates++;
        continue;
      }
      lastSeq = d.getSeq();
      return d;
    }
    return null;
  }

  /** Forgets the position and everything held: a snapshot will set both anew. */
  void awaitSnapshot() {
    lastSeq = -1;
    held.clear();
  }

  /**
   * A snapshot as of {@code seq}: the position moves there and the held deltas it already holds are
   * dropped. A snapshot older than the position is not applied (returns false).
   */
  boolean applySnapshot(long seq) {
    if (seq < lastSeq) {
      return false;
    }
    lastSeq = seq;
    held.headMap(seq, true).clear();
    return true;
  }
}
