package io.iris.bridge.down;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.iris.protocol.thrift.LogBookmarks;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UserLogsTest {
  private final List<LogBookmarks> written = new ArrayList<>();

  private static byte[] frame(long seq) {
    return new byte[] {(byte) seq};
  }

  @Test
  void shouldServeOnlyRangesMemoryHoldsFromTheirFirstSeq() {
    UserLogs logs = new UserLogs(4, 10, 3, 4, written::add);
    for (long s = 1; s <= 10; s++) {
      logs.append(7, 0, 100 + s * 10, s, frame(s));
    }
    assertEquals(10, logs.head(7));
    assertNull(logs.recent(7, 5, 0, 100), "seq 6 is no longer in memory (7..10 are)");
    UserLogs.Recent r = logs.recent(7, 6, 0, 100);
    assertEquals(4, r.frames().size());
    assertArrayEquals(frame(7), r.frames().get(0));
    assertEquals(2, logs.recent(7, 6, 8, 100).frames().size(), "bounded by toSeq");
    assertEquals(1, logs.recent(7, 6, 0, 1).frames().size(), "bounded by max");
    assertNull(logs.recent(7, 10, 0, 100), "nothing after the head");
    assertNull(logs.recent(8, 0, 0, 100), "unknown user");
  }

  @Test
  void shouldBookmarkEveryNthSeqAndFindTheLastAtOrBefore() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    for (long s = 1; s <= 10; s++) {
      logs.append(7, 2, 1000 + s, s, frame(s));
    }
    // bookmarks at 1, 4, 7, 10; only the newest 3 kept: 4, 7, 10
    assertEquals(4, written.size());
    assertEquals(List.of(4L, 7L, 10L), written.get(3).getSeqs());
    assertNull(logs.bookmarkAtOrBefore(7, 3), "older than the oldest bookmark kept");
    UserLogs.Bookmark b = logs.bookmarkAtOrBefore(7, 6);
    assertEquals(4, b.seq());
    assertEquals(1004, b.offset());
    assertEquals(2, b.partition());
    assertEquals(10, logs.bookmarkAtOrBefore(7, 99).seq());
  }

  @Test
  void shouldIgnoreReplaysAndRestoreBookmarksAfterARestart() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    logs.append(7, 0, 10, 1, frame(1));
    logs.append(7, 0, 11, 2, frame(2));
    logs.append(7, 0, 10, 1, frame(1)); // replayed after a rebalance
    assertEquals(2, logs.recent(7, 0, 0, 10).frames().size());

    UserLogs restarted = new UserLogs(4, 10, 3, 3, b -> {});
    restarted.restore(written.get(written.size() - 1));
    assertEquals(1, restarted.head(7));
    assertEquals(10, restarted.bookmarkAtOrBefore(7, 5).offset());
    assertNull(restarted.recent(7, 0, 0, 10), "memory starts empty");
  }

  @Test
  void shouldDropTheDeltasOfTheLeastRecentUsersFirst() {
    UserLogs logs = new UserLogs(4, 2, 3, 3, written::add);
    logs.append(1, 0, 1, 1, frame(1));
    logs.append(2, 0, 2, 1, frame(1));
    logs.append(3, 0, 3, 1, frame(1));
    assertNull(logs.recent(1, 0, 0, 10), "user 1 was dropped from memory");
    assertEquals(1, logs.head(1), "its head and bookmarks stay");
    assertEquals(2, logs.usersInMemory());
  }

  @Test
  void shouldStartMemoryAgainWhenSeqsAreNotContiguous() {
    UserLogs logs = new UserLogs(8, 10, 3, 3, written::add);
    for (long s : new long[] {1, 2, 3, 5, 6}) {
      logs.append(7, 0, 100 + s, s, frame(s));
    }

    assertNull(logs.recent(7, 2, 0, 10), "seq 4 was never seen: memory cannot answer from 3");
    assertNull(logs.recent(7, 3, 0, 10));
    assertEquals(2, logs.recent(7, 4, 0, 10).frames().size());
    assertEquals(6, logs.head(7));
  }

  @Test
  void shouldForgetTheBookmarksOfAPartitionTheUserLeft() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    for (long s = 1; s <= 5; s++) {
      logs.append(7, 0, 100 + s, s, frame(s));
    }

    logs.append(7, 1, 20, 6, frame(6));

    assertNull(logs.bookmarkAtOrBefore(7, 5), "offsets of partition 0 mean nothing in 1");
    assertEquals(new UserLogs.Bookmark(1, 6, 20), logs.bookmarkAtOrBefore(7, 6));
    LogBookmarks last = written.get(written.size() - 1);
    assertEquals(1, last.getPartition());
    assertEquals(List.of(6L), last.getSeqs());
  }

  @Test
  void shouldKeepHeadsAndBookmarksButNoDeltasWhenTier1IsOff() {
    UserLogs logs = new UserLogs(0, 10, 3, 3, written::add);
    logs.append(7, 0, 10, 1, frame(1));
    logs.append(7, 0, 11, 2, frame(2));

    assertNull(logs.recent(7, 0, 0, 10));
    assertEquals(2, logs.head(7));
    assertEquals(10, logs.bookmarkAtOrBefore(7, 2).offset());
    assertEquals(0, logs.usersInMemory());
    assertEquals(1, logs.usersKnown());
  }

  @Test
  void shouldDropTheUserWrittenLeastRecentlyNotTheOneAddedFirst() {
    UserLogs logs = new UserLogs(4, 2, 3, 3, written::add);
    logs.append(1, 0, 1, 1, frame(1));
    logs.append(2, 0, 2, 1, frame(1));
    logs.append(1, 0, 3, 2, frame(2)); // user 1 written again

    logs.append(3, 0, 4, 1, frame(1));

    assertEquals(2, logs.recent(1, 0, 0, 10).frames().size());
    assertNull(logs.recent(2, 0, 0, 10));
    assertEquals(3, logs.usersKnown());
  }

  @Test
  void shouldRebuildMemoryForAUserDroppedEarlier() {
    UserLogs logs = new UserLogs(4, 1, 3, 3, written::add);
    logs.append(1, 0, 1, 1, frame(1));
    logs.append(2, 0, 2, 1, frame(1));

    logs.append(1, 0, 3, 2, frame(2));

    assertNull(logs.recent(1, 0, 0, 10), "seq 1 went with the user's memory");
    assertEquals(1, logs.recent(1, 1, 0, 10).frames().size());
  }

  @Test
  void shouldAverageTheSizeOfTheDeltaFramesRead() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    assertEquals(0, logs.averageDeltaBytes());

    logs.append(1, 0, 1, 1, new byte[10]);
    logs.append(2, 0, 2, 1, new byte[20]);

    assertEquals(15, logs.averageDeltaBytes(), 0.001);
  }

  @Test
  void shouldIgnoreARestoreThatIsOlderOrIncomplete() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    for (long s = 1; s <= 7; s++) {
      logs.append(7, 0, 100 + s, s, frame(s));
    }

    logs.restore(new LogBookmarks(7, 0, List.of(1L, 4L), List.of(101L, 104L)));
    logs.restore(new LogBookmarks(7, 0, List.of(), List.of()));
    logs.restore(new LogBookmarks(7, 0, List.of(9L, 12L), List.of(109L)));

    assertEquals(7, logs.head(7));
    assertEquals(7, logs.bookmarkAtOrBefore(7, 99).seq(), "what this bridge saw itself stays");
  }

  @Test
  void shouldTakeARestoreThatIsNewerOrOfAnotherPartition() {
    UserLogs logs = new UserLogs(4, 10, 3, 3, written::add);
    logs.append(7, 0, 101, 1, frame(1));

    logs.restore(new LogBookmarks(7, 2, List.of(1L), List.of(5L)));

    assertEquals(new UserLogs.Bookmark(2, 1, 5), logs.bookmarkAtOrBefore(7, 1));

    logs.restore(new LogBookmarks(7, 2, List.of(1L, 30L), List.of(5L, 300L)));

    assertEquals(30, logs.head(7));
    assertEquals(300, logs.bookmarkAtOrBefore(7, 31).offset());
  }

  @Test
  void shouldBookmarkTheFirstDeltaSeenWhateverItsSeq() {
    UserLogs logs = new UserLogs(4, 10, 100, 3, written::add);

    logs.append(7, 0, 5000, 1234, frame(1));

    assertEquals(new UserLogs.Bookmark(0, 1234, 5000), logs.bookmarkAtOrBefore(7, 1300));
    assertEquals(1, written.size());
    assertEquals(7, written.get(0).getUserId());
  }
}
