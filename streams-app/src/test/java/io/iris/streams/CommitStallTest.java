package io.iris.streams;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CommitStallTest {
  @Test
  void shouldCallAnInstanceStalledOnlyWhenCommandsWaitAndNoCommitCameForTheTimeout() {
    CommitStall s = new CommitStall(60_000);
    assertNull(s.check(0, 10, 5), "first sample");
    assertNull(s.check(59_000, 10, 5), "not yet");
    String why = s.check(61_000, 10, 5);
    assertTrue(why != null && why.contains("no commit for 61 s while 5 commands wait"), why);
    assertNull(s.check(62_000, 11, 5), "a commit is progress");
    assertNull(s.check(121_000, 11, 0), "idle: nothing waits");
    assertNull(s.check(180_000, 11, 3), "the wait starts when commands do");
    assertTrue(s.check(181_001, 11, 3) != null);
  }

  @Test
  void shouldNotTakeACounterThatWentBackForProgress() {
    CommitStall s = new CommitStall(1_000);
    assertNull(s.check(0, 100, 1));
    // A replaced thread's counter starts again at 0: the sum drops, which is not a commit.
    assertNull(s.check(500, 0, 1));
    assertTrue(s.check(1_500, 50, 1) != null, "50 < 100 seen before");
    assertNull(s.check(1_600, 101, 1));
  }
}
