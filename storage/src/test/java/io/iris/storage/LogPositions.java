package io.iris.storage;

import io.iris.protocol.thrift.Delta;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Gives deltas the positions iris.log would: the offset each takes in its user's partition. Users
 * share partitions, and now and then a transaction's commit marker or an aborted record takes an
 * offset too, so a user's positions grow but are not contiguous.
 */
final class LogPositions {
  private LogPositions() {}

  static int partition(long userId, int partitions) {
    return (int) (userId % partitions);
  }

  /** Copies of {@code log} (in iris.log order) with {@code pos} set. */
  static List<Delta> assign(List<Delta> log, int partitions, long seed) {
    Random r = new Random(seed);
    long[] next = new long[partitions];
    List<Delta> out = new ArrayList<>(log.size());
    for (Delta d : log) {
      int p = partition(d.getUserId(), partitions);
      if (r.nextInt(4) == 0) {
        next[p] += 1 + r.nextInt(3); // markers and aborted records
      }
      out.add(d.deepCopy().setPos(next[p]++));
    }
    return out;
  }

  /** The deltas of each partition, in offset order. */
  static Map<Integer, List<Delta>> byPartition(List<Delta> deltas, int partitions) {
    return deltas.stream()
        .collect(
            Collectors.groupingBy(
                d -> partition(d.getUserId(), partitions), TreeMap::new, Collectors.toList()));
  }

  /** The deltas of each user, in position order. */
  static Map<Long, List<Delta>> byUser(List<Delta> deltas) {
    return deltas.stream()
        .collect(Collectors.groupingBy(Delta::getUserId, TreeMap::new, Collectors.toList()));
  }
}
