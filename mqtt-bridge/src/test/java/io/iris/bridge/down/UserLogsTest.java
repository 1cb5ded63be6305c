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
}
