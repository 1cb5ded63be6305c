package io.iris.bridge.down;

import java.util.ArrayList;
import java.util.List;

/**
 * The deltas of one frame to a device, bounded by count and by bytes: a catch-up page or a pushed
 * batch. The first delta always fits (a delta is far smaller than any frame limit); after it, a
 * delta that would take the page past either bound is refused and starts the next page.
 */
final class DeltaPage {
  private final int maxDeltas;
  private final int maxBytes;
  private final List<byte[]> deltas = new ArrayList<>();
  private int bytes;
  private long lastPos = -1;

  /**
   * @param maxDeltas most deltas
   * @param maxBytes most bytes of deltas (the frame limit minus the frame's envelope)
   */
  DeltaPage(int maxDeltas, int maxBytes) {
    this.maxDeltas = maxDeltas;
    this.maxBytes = maxBytes;
  }

  /** Adds the delta at {@code pos} (its struct bytes) unless the page is full; false if it is. */
  boolean add(long pos, byte[] delta) {
    if (deltas.size() >= maxDeltas || (!deltas.isEmpty() && bytes + delta.length > maxBytes)) {
      return false;
    }
    deltas.add(delta);
    bytes += delta.length;
    lastPos = pos;
    return true;
  }

  List<byte[]> deltas() {
    return deltas;
  }

  int size() {
    return deltas.size();
  }

  boolean isEmpty() {
    return deltas.isEmpty();
  }

  /** The position of the last delta added, -1 when none. */
  long lastPos() {
    return lastPos;
  }

  /** Bytes of the deltas added. */
  int bytes() {
    return bytes;
  }
}
