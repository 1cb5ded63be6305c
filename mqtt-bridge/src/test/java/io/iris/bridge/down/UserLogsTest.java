package io.iris.bridge.down;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link UserLogs}: prevPos from the reader's own reading, and when memory covers a catch-up. */
class UserLogsTest {
  private static final long A = 7;
  private static final long B = 8;

  private final UserLogs logs = new UserLogs(4, 100);

  private static byte[] frame(long pos) {
    return new byte[] {(byte) pos};
  }

  private static List<Long> positions(UserLogs.Recent r) {
    return r.entries().stream().map(UserLogs.Entry::pos).toList();
  }

  @Test
  void shouldChainEachUsersDeltasFromWhereTheReaderStarted() {
    logs.startReading(0, 100);
    assertEquals(99, logs.append(A, 0, 100, frame(100)), "no delta of A read before 100");
    assertEquals(99, logs.append(B, 0, 103, frame(103)), "nor of B: the reader read 100..102");
    assertEquals(100, logs.append(A, 0, 107, frame(107)));
    assertEquals(107, logs.append(A, 0, 140, frame(140)));
    assertEquals(103, logs.append(B, 0, 141, frame(141)));
  }

  @Test
  void shouldForgetAPartitionThatMovedToAnotherBridge() {
    logs.startReading(0, 10);
    logs.startReading(1, 20);
    logs.append(42, 0, 11, new byte[5]);
    logs.append(43, 1, 21, new byte[5]);

    logs.stopReading(1);

    assertEquals(java.util.Set.of(0), logs.partitionsRead());
    assertEquals(-1, logs.readThrough(1));
    assertEquals(1, logs.usersKnown(), "only the owned partition's users");
    assertEquals(1, logs.usersInMemory());
    assertEquals(null, logs.recent(43, 1, 20, -1, 10), "nothing answered for it from here");
    assertEquals(1, logs.recent(42, 0, 10, -1, 10).entries().size());
  }

  @Test
  void shouldKeepUsersOfEachPartitionApart() {
    logs.startReading(0, 10);
    logs.startReading(1, 500);
    assertEquals(9, logs.append(A, 0, 10, frame(10)));
    assertEquals(499, logs.append(B, 1, 500, frame(0)));
    assertEquals(10, logs.append(A, 0, 12, frame(12)));
  }

  @Test
  void shouldRefuseAnOffsetOutOfOrderOrOfAPartitionNotStarted() {
    logs.startReading(0, 10);
    logs.append(A, 0, 20, frame(20));
    assertThrows(IllegalStateException.class, () -> logs.append(A, 0, 15, frame(15)));
    assertThrows(IllegalStateException.class, () -> logs.append(A, 3, 15, frame(15)));
  }

  @Test
  void shouldServeTheUsersChainAfterAPositionWithThroughPosAtTheReadEnd() {
    logs.startReading(0, 100);
    logs.append(A, 0, 100, frame(100));
    logs.append(B, 0, 101, frame(101));
    logs.append(A, 0, 105, frame(105));
    logs.readThrough(0, 130); // markers, aborted records, others' deltas up to 129

    UserLogs.Recent r = logs.recent(A, 0, 100, -1, 10);
    assertEquals(List.of(105L), positions(r));
    assertEquals(100, r.entries().get(0).prevPos());
    assertEquals(129, r.throughPos(), "memory covers A up to what the reader has read");
    assertFalse(r.more());
    assertArrayEquals(frame(105), r.entries().get(0).frame());

    UserLogs.Recent all = logs.recent(A, 0, 99, -1, 10);
    assertEquals(List.of(100L, 105L), positions(all));
  }

  @Test
  void shouldStopAtAPageAndAtToPos() {
    logs.startReading(0, 0);
    for (long p : List.of(3L, 9L, 14L, 20L)) {
      logs.append(A, 0, p, frame(p));
    }
    UserLogs.Recent page = logs.recent(A, 0, -1, -1, 2);
    assertEquals(List.of(3L, 9L), positions(page));
    assertTrue(page.more());
    assertEquals(9, page.throughPos());

    UserLogs.Recent gap = logs.recent(A, 0, 3, 14, 10);
    assertEquals(List.of(9L, 14L), positions(gap));
    assertFalse(gap.more());
    assertEquals(14, gap.throughPos());
  }

  @Test
  void shouldAnswerEmptyForAUserWithNothingSinceTheReaderStarted() {
    logs.startReading(0, 100);
    logs.append(B, 0, 120, frame(120));
    UserLogs.Recent r = logs.recent(A, 0, 99, -1, 10);
    assertTrue(r.entries().isEmpty());
    assertEquals(120, r.throughPos());
    assertNull(
        logs.recent(A, 0, 50, -1, 10), "before the reader's start memory knows nothing of A");
  }

  @Test
  void shouldNotCoverWhatFellOutOfTheRing() {
    logs.startReading(0, 0);
    for (long p = 10; p <= 60; p += 10) {
      logs.append(A, 0, p, frame(p)); // the ring holds 4: 30..60, chained from 20
    }
    assertNull(logs.recent(A, 0, 10, -1, 10), "20 is no longer held");
    assertEquals(List.of(30L, 40L, 50L, 60L), positions(logs.recent(A, 0, 20, -1, 10)));
    assertEquals(List.of(50L, 60L), positions(logs.recent(A, 0, 45, -1, 10)));
  }

  @Test
  void shouldCoverOnlyAfterTheLastDeltaOfAUserDroppedFromMemory() {
    UserLogs small = new UserLogs(4, 1);
    small.startReading(0, 0);
    small.append(A, 0, 5, frame(5));
    small.append(B, 0, 6, frame(6)); // A's deltas leave memory
    assertEquals(1, small.usersInMemory());
    assertNull(small.recent(A, 0, 4, -1, 10));
    UserLogs.Recent r = small.recent(A, 0, 5, -1, 10);
    assertTrue(r.entries().isEmpty());
    assertEquals(6, r.throughPos());
    assertEquals(5, small.append(A, 0, 9, frame(9)), "the chain goes on from the last known");
  }

  @Test
  void shouldForgetAPartitionsUsersWhenTheReaderStartsAgain() {
    logs.startReading(0, 0);
    logs.append(A, 0, 5, frame(5));
    logs.startReading(0, 50);
    assertEquals(49, logs.append(A, 0, 50, frame(50)));
    assertNull(logs.recent(A, 0, 5, -1, 10));
  }

  @Test
  void shouldNotCoverAPartitionItDoesNotRead() {
    assertNull(logs.recent(A, 2, -1, -1, 10));
    assertEquals(-1, logs.readThrough(2));
  }

  @Test
  void shouldCountWhatMemoryHoldsAfterAPosition() {
    logs.startReading(0, 0);
    logs.append(A, 0, 5, frame(5));
    logs.append(A, 0, 8, frame(8));
    assertEquals(2, logs.countAfter(A, 0, -1));
    assertEquals(1, logs.countAfter(A, 0, 5));
    assertEquals(-1, logs.countAfter(A, 1, 5));
    assertEquals(1.0, logs.averageDeltaBytes());
  }

  @Test
  void shouldCountTheBytesItHoldsAsDeltasComeGoAndMove() {
    UserLogs small = new UserLogs(2, 2);
    small.startReading(0, 0);
    small.startReading(1, 0);
    small.append(A, 0, 0, new byte[10]);
    small.append(A, 0, 1, new byte[20]);
    assertEquals(30, small.bytesInMemory());
    small.append(A, 0, 2, new byte[5]);
    assertEquals(25, small.bytesInMemory(), "the oldest of a full ring overwritten");
    small.append(B, 1, 0, new byte[7]);
    small.append(9, 1, 1, new byte[100]);
    assertEquals(107, small.bytesInMemory(), "A, least recently written, dropped for a third user");
    small.stopReading(1);
    assertEquals(0, small.bytesInMemory(), "a partition moved away takes its users' bytes along");
    small.append(A, 0, 3, new byte[3]);
    small.startReading(0, 4);
    assertEquals(0, small.bytesInMemory(), "reading again from elsewhere forgets");
  }
}
