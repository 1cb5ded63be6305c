package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.Snapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Snapshots and history read from a real MariaDB, checked against replaying the deltas. */
class SnapshotServiceIT {
  static final int USERS = 8;

  SnapshotService snapshots;
  DeltaHistory history;

  @BeforeEach
  void setUp() throws Exception {
    TestDatabase.truncate();
    snapshots = new SnapshotService(TestDatabase.get());
    history = new DeltaHistory(TestDatabase.get());
  }

  static Map<Long, List<Delta>> byUser(List<Delta> deltas) {
    return deltas.stream()
        .collect(Collectors.groupingBy(Delta::getUserId, TreeMap::new, Collectors.toList()));
  }

  static Snapshot reference(long user, List<Delta> deltas, int maxThreads, int perThread) {
    SnapshotBuilder b = new SnapshotBuilder(user);
    deltas.forEach(b::apply);
    return b.build(maxThreads, perThread, 0);
  }

  static Snapshot withoutTime(Snapshot s) {
    return s.deepCopy().setTakenAtMs(0);
  }

  @Test
  void shouldMatchAReplayOfTheUsersDeltas() throws Exception {
    List<Delta> deltas = Conversations.generate(1, USERS, 12, 800);
    TestDatabase.upsert(deltas);
    for (var e : byUser(deltas).entrySet()) {
      Snapshot s = snapshots.snapshot(e.getKey(), 5, 4);
      assertEquals(e.getValue().size(), s.getSeq(), "consistent with every stored delta");
      assertEquals(reference(e.getKey(), e.getValue(), 5, 4), withoutTime(s), "user " + e.getKey());
      assertTrue(s.getThreadsSize() > 0);
    }
  }

  @Test
  void shouldStayConsistentWhileDeltasArriveInBatchesAndReplays() throws Exception {
    List<Delta> deltas = Conversations.generate(2, USERS, 10, 600);
    Random r = new Random(3);
    int i = 0;
    while (i < deltas.size()) {
      int n = 1 + r.nextInt(60);
      List<Delta> batch = new ArrayList<>(deltas.subList(i, Math.min(deltas.size(), i + n)));
      if (i > 0 && r.nextBoolean()) {
        // a replay of records the sink wrote before (at-least-once after a restart)
        batch.addAll(0, deltas.subList(Math.max(0, i - r.nextInt(30) - 1), i));
      }
      // The sink may write a batch in another order than the seqs (Debezium's reduction buffer).
      java.util.Collections.shuffle(batch, r);
      TestDatabase.upsert(batch);
      i = Math.min(deltas.size(), i + n);
      for (long user = 1; user <= USERS; user++) {
        final long u = user;
        Snapshot s = snapshots.snapshot(user, 20, 3);
        List<Delta> upToS =
            deltas.subList(0, i).stream()
                .filter(d -> d.getUserId() == u && d.getSeq() <= s.getSeq())
                .toList();
        assertEquals(
            deltas.subList(0, i).stream().filter(d -> d.getUserId() == u).count(),
            s.getSeq(),
            "S is the last stored seq of user " + u);
        assertEquals(
            reference(user, upToS, 20, 3), withoutTime(s), "user " + u + " after " + i + " deltas");
      }
    }
  }

  @Test
  void shouldStopAtAGapInTheStoredDeltas() throws Exception {
    List<Delta> deltas = Conversations.generate(4, 3, 3, 100);
    long user = deltas.get(0).getUserId();
    List<Delta> mine = deltas.stream().filter(d -> d.getUserId() == user).toList();
    assertTrue(mine.size() > 12);
    List<Delta> withGap = new ArrayList<>(mine);
    withGap.remove(10); // seq 11 missing
    TestDatabase.upsert(withGap);
    Snapshot s = snapshots.snapshot(user, 20, 5);
    assertEquals(10, s.getSeq());
    assertEquals(reference(user, mine.subList(0, 10), 20, 5), withoutTime(s));
  }

  @Test
  void shouldPageAUsersHistoryInSeqOrder() throws Exception {
    List<Delta> deltas = Conversations.generate(5, 4, 4, 200);
    TestDatabase.upsert(deltas);
    long user = deltas.get(0).getUserId();
    List<Delta> mine = deltas.stream().filter(d -> d.getUserId() == user).toList();
    assertEquals(mine.subList(5, 8), history.range(user, 5, 0, 3));
    assertEquals(
        mine.subList(5, 7),
        history.range(user, 5, 7, 100),
        "a gap repair asks for exactly a range");
    List<Delta> all = new ArrayList<>();
    long after = 0;
    while (true) {
      List<Delta> page = history.range(user, after, 0, 7);
      if (page.isEmpty()) {
        break;
      }
      all.addAll(page);
      after = page.get(page.size() - 1).getSeq();
    }
    assertEquals(mine, all);
  }
}
