package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.Snapshot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Snapshots read from a real MariaDB, checked against replaying the deltas: a snapshot must reflect
 * exactly the user's deltas up to the pos it states, so that it plus the deltas above pos is the
 * user's whole history.
 */
class SnapshotServiceIT {
  static final int USERS = 8;
  static final int PARTITIONS = 3;
  static final String EPOCH = "5Rj1a0WZQkWn3bJj8k1mRg";

  SnapshotService snapshots;

  @BeforeEach
  void setUp() throws Exception {
    TestDatabase.truncate();
    snapshots = new SnapshotService(TestDatabase.get());
  }

  static List<Delta> log(long seed, int users, int threads, int commands) {
    return LogPositions.assign(
        Conversations.generate(seed, users, threads, commands), PARTITIONS, seed);
  }

  /** What a snapshot of {@code user} must be when its read saw exactly {@code deltas}. */
  static Snapshot reference(
      long user, List<Delta> deltas, int maxThreads, int perThread, long storedThrough) {
    SnapshotBuilder b = new SnapshotBuilder(user);
    deltas.forEach(b::apply);
    return b.build(maxThreads, perThread, 0, storedThrough, EPOCH);
  }

  static Snapshot withoutTime(Snapshot s) {
    return s.deepCopy().setTakenAtMs(0);
  }

  static long last(List<Delta> deltas) {
    return deltas.isEmpty() ? -1 : deltas.get(deltas.size() - 1).getPos();
  }

  static List<Delta> upTo(List<Delta> deltas, long pos) {
    return deltas.stream().filter(d -> d.getPos() <= pos).toList();
  }

  @Test
  void shouldMatchAReplayOfTheUsersDeltas() throws Exception {
    List<Delta> log = log(1, USERS, 12, 800);
    TestDatabase.upsert(log);
    boolean anyGap = false;
    for (var e : LogPositions.byUser(log).entrySet()) {
      long user = e.getKey();
      List<Delta> mine = e.getValue();
      anyGap |= last(mine) - mine.get(0).getPos() + 1 > mine.size();
      Snapshot s = snapshots.snapshot(user, 5, 4, -1, EPOCH);
      assertEquals(last(mine), s.getPos(), "consistent with every stored delta of user " + user);
      assertEquals(EPOCH, s.getEpoch());
      assertEquals(reference(user, mine, 5, 4, -1), withoutTime(s), "user " + user);
      assertTrue(s.getThreadsSize() > 0);
      // The sink's pointer past the user's last row (other users' rows, a marker): pos says so.
      long through = last(mine) + 5;
      Snapshot t = snapshots.snapshot(user, 5, 4, through, EPOCH);
      assertEquals(through, t.getPos());
      assertEquals(reference(user, mine, 5, 4, through), withoutTime(t));
    }
    assertTrue(anyGap, "the test's positions are not contiguous");
  }

  @Test
  void shouldStateWhatItReflectsWhileTheSinkWritesInBatchesWithReplays() throws Exception {
    List<Delta> log = log(2, USERS, 10, 600);
    Map<Integer, List<Delta>> partitions = LogPositions.byPartition(log, PARTITIONS);
    Map<Long, List<Delta>> users = LogPositions.byUser(log);
    int[] written = new int[PARTITIONS];
    long[] storedThrough = {-1, -1, -1};
    Random r = new Random(3);
    int pointerAhead = 0;
    int rowAhead = 0;
    while (true) {
      List<Integer> open = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) {
        if (written[p] < partitions.get(p).size()) {
          open.add(p);
        }
      }
      if (open.isEmpty()) {
        break;
      }
      int p = open.get(r.nextInt(open.size()));
      List<Delta> part = partitions.get(p);
      int from = written[p];
      int to = Math.min(part.size(), from + 1 + r.nextInt(40));
      List<Delta> batch = new ArrayList<>(part.subList(from, to));
      if (from > 0 && r.nextBoolean()) {
        // a replay of records the sink wrote before (at-least-once after a restart)
        batch.addAll(0, part.subList(Math.max(0, from - 1 - r.nextInt(20)), from));
      }
      // One transaction: the triggers must not depend on the order of its rows.
      Collections.shuffle(batch, r);
      TestDatabase.upsert(batch);
      written[p] = to;
      if (r.nextInt(3) == 0) {
        // The sink commits the offset after the last record it wrote, some time after writing.
        storedThrough[p] = part.get(to - 1).getPos();
      }
      for (var e : users.entrySet()) {
        long user = e.getKey();
        int up = LogPositions.partition(user, PARTITIONS);
        long through = storedThrough[up];
        Snapshot s = snapshots.snapshot(user, 20, 3, through, EPOCH);
        List<Delta> stored =
            partitions.get(up).subList(0, written[up]).stream()
                .filter(d -> d.getUserId() == user)
                .toList();
        assertEquals(
            Math.max(through, last(stored)),
            s.getPos(),
            "pos of user " + user + ": the pointer or the highest row stored");
        pointerAhead += through > last(stored) ? 1 : 0;
        rowAhead += last(stored) > through ? 1 : 0;
        List<Delta> upToPos = upTo(e.getValue(), s.getPos());
        assertEquals(stored, upToPos, "the deltas above pos are exactly those not yet stored");
        assertEquals(
            reference(user, upToPos, 20, 3, through),
            withoutTime(s),
            "user " + user + " at " + s.getPos());
      }
    }
    assertTrue(pointerAhead > 10 && rowAhead > 10, pointerAhead + " / " + rowAhead);
    for (var e : users.entrySet()) {
      assertEquals(
          e.getValue().size(),
          TestDatabase.count(
              "SELECT stored_count FROM iris_user_positions WHERE user_id = " + e.getKey()),
          "a replay counts nothing twice");
      assertEquals(
          last(e.getValue()),
          TestDatabase.count(
              "SELECT max_position FROM iris_user_positions WHERE user_id = " + e.getKey()));
    }
  }

  record Taken(long user, long storedThrough, Snapshot snapshot) {}

  @Test
  void shouldStateThePosOfItsOwnReadWhileRowsAreBeingWritten() throws Exception {
    List<Delta> log = log(6, USERS, 10, 1500);
    Map<Integer, List<Delta>> partitions = LogPositions.byPartition(log, PARTITIONS);
    Map<Long, List<Delta>> users = LogPositions.byUser(log);
    AtomicLongArray storedThrough = new AtomicLongArray(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++) {
      storedThrough.set(p, -1);
    }
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread sink =
        new Thread(
            () -> {
              Random r = new Random(7);
              int[] written = new int[PARTITIONS];
              try {
                while (true) {
                  List<Integer> open = new ArrayList<>();
                  for (int p = 0; p < PARTITIONS; p++) {
                    if (written[p] < partitions.get(p).size()) {
                      open.add(p);
                    }
                  }
                  if (open.isEmpty()) {
                    return;
                  }
                  int p = open.get(r.nextInt(open.size()));
                  List<Delta> part = partitions.get(p);
                  int to = Math.min(part.size(), written[p] + 1 + r.nextInt(10));
                  // A partition in offset order, a batch a transaction: as the sink writes.
                  TestDatabase.upsert(part.subList(written[p], to));
                  written[p] = to;
                  if (r.nextBoolean()) {
                    storedThrough.set(p, part.get(to - 1).getPos());
                  }
                }
              } catch (Throwable t) {
                failed.set(t);
              }
            },
            "sink");
    List<Taken> taken = new ArrayList<>();
    Random r = new Random(8);
    sink.start();
    while (sink.isAlive()) {
      long user = 1 + r.nextInt(USERS);
      // As the bridge does: the pointer first, then the read.
      long through = storedThrough.get(LogPositions.partition(user, PARTITIONS));
      taken.add(new Taken(user, through, snapshots.snapshot(user, 20, 3, through, EPOCH)));
    }
    sink.join();
    if (failed.get() != null) {
      throw new AssertionError("the sink failed", failed.get());
    }
    int midway = 0;
    for (Taken t : taken) {
      List<Delta> mine = users.getOrDefault(t.user(), List.of());
      Snapshot s = t.snapshot();
      List<Delta> upToPos = upTo(mine, s.getPos());
      assertTrue(
          s.getPos() == t.storedThrough()
              || (s.getPos() > t.storedThrough() && last(upToPos) == s.getPos()),
          "pos " + s.getPos() + " is the pointer or the highest row the read saw");
      assertEquals(
          reference(t.user(), upToPos, 20, 3, t.storedThrough()),
          withoutTime(s),
          "snapshot of user " + t.user() + " at " + s.getPos());
      if (!upToPos.isEmpty() && upToPos.size() < mine.size()) {
        midway++;
      }
    }
    assertTrue(midway > 20, "snapshots taken while the user's rows were written: " + midway);
  }

  @Test
  void shouldStatePosPastAHoleTheSinkSetAside() throws Exception {
    List<Delta> log = log(4, 3, 3, 100);
    long user = log.get(0).getUserId();
    List<Delta> mine = LogPositions.byUser(log).get(user);
    assertTrue(mine.size() > 12);
    // A record the sink could not write went to iris.sink-dlq: MySQL never holds it.
    Delta hole =
        mine.stream().skip(5).filter(d -> d.getBody().isSetNewMessage()).findFirst().orElseThrow();
    List<Delta> stored = new ArrayList<>(log);
    stored.remove(hole);
    TestDatabase.upsert(stored);
    Snapshot s = snapshots.snapshot(user, 20, 50, -1, EPOCH);
    assertEquals(last(mine), s.getPos(), "pos past the hole: storage cannot see it");
    List<Delta> withoutHole = new ArrayList<>(mine);
    withoutHole.remove(hole);
    assertEquals(reference(user, withoutHole, 20, 50, -1), withoutTime(s));
  }
}
