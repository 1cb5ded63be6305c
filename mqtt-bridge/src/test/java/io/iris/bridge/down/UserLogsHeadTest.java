package io.iris.bridge.down;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.LogBookmarks;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When the bridge may trust the head it knows of a user (issue: silent miss after a restart). */
class UserLogsHeadTest {
  private final UserLogs logs = new UserLogs(8, 100, 4, 8, b -> {});

  @Test
  void shouldKnowNothingOfAUserItNeverSaw() {
    assertEquals(-1, logs.head(42));
    assertFalse(logs.headExact(42));
  }

  @Test
  void shouldTrustAHeadReadLive() {
    logs.append(42, 3, 100, 1, new byte[] {1});
    logs.append(42, 3, 107, 2, new byte[] {1});
    assertEquals(2, logs.head(42));
    assertTrue(logs.headExact(42));
  }

  @Test
  void shouldTreatAHeadRestoredFromBookmarksAsALowerBound() {
    logs.restore(new LogBookmarks(42, 3, List.of(1L, 5L), List.of(100L, 140L)));
    assertEquals(5, logs.head(42));
    assertFalse(logs.headExact(42), "deltas after the last bookmark may exist unseen");
  }

  @Test
  void shouldTrustTheHeadOnceConfirmedOrOnceADeltaArrivesLive() {
    logs.restore(new LogBookmarks(42, 3, List.of(1L, 5L), List.of(100L, 140L)));
    logs.confirmHead(42, 7);
    assertEquals(7, logs.head(42));
    assertTrue(logs.headExact(42));

    logs.restore(new LogBookmarks(43, 3, List.of(1L), List.of(100L)));
    logs.append(43, 3, 190, 9, new byte[] {1});
    assertEquals(9, logs.head(43));
    assertTrue(logs.headExact(43), "seqs are read in order: a live delta is the newest");
  }

  @Test
  void shouldNotLetAReplayedDeltaVouchForARestoredHead() {
    logs.restore(new LogBookmarks(42, 3, List.of(1L, 5L), List.of(100L, 140L)));
    logs.append(42, 3, 140, 5, new byte[] {1});
    assertFalse(logs.headExact(42), "seq 5 is the bookmark itself, read again");
  }
}
