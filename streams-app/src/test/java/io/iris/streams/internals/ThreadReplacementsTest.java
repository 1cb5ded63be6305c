package io.iris.streams.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ThreadReplacementsTest {
  static final long T0 = 1_800_000_000_000L;
  static final long MINUTE = 60_000;

  final ThreadReplacements replacements = new ThreadReplacements(5, Duration.ofMinutes(10));

  @Test
  void shouldReplaceUpToTheMaximumWithinTheWindowThenStop() {
    for (int i = 0; i < 5; i++) {
      assertTrue(replacements.replaceAfterFailureAt(T0 + i), "failure " + (i + 1));
    }
    assertFalse(replacements.replaceAfterFailureAt(T0 + 5), "the sixth in ten minutes");
    assertEquals(6, replacements.recentFailures());
  }

  @Test
  void shouldForgetFailuresOlderThanTheWindow() {
    for (int i = 0; i < 5; i++) {
      replacements.replaceAfterFailureAt(T0 + i * MINUTE);
    }
    // Ten minutes after the first: the first still counts (the window includes its start).
    assertFalse(replacements.replaceAfterFailureAt(T0 + 10 * MINUTE));
    // Twelve minutes after the first, the first two are out of the window: 2, 3, 4, 10, 12.
    assertTrue(replacements.replaceAfterFailureAt(T0 + 12 * MINUTE));
    assertEquals(5, replacements.recentFailures());
  }

  @Test
  void shouldReplaceAThreadThatFailsRarelyForever() {
    for (int i = 0; i < 100; i++) {
      assertTrue(replacements.replaceAfterFailureAt(T0 + i * 3 * MINUTE), "failure " + i);
    }
  }
}
