package io.iris.streams.internals;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Counts stream-thread failures in a sliding window and says when replacing the failed thread has
 * to stop: a thread that fails again and again on the same cause would otherwise fail in a loop
 * that nobody sees. The time is passed in. Thread-safe.
 */
public final class ThreadReplacements {
  private final int max;
  private final long windowMs;
  private final Deque<Long> failures = new ArrayDeque<>();

  /**
   * @param max how many failures within {@code window} are answered by a replacement
   * @param window how long a failure counts
   */
  public ThreadReplacements(int max, Duration window) {
    this.max = max;
    this.windowMs = window.toMillis();
  }

  /**
   * Records a failure at {@code nowMs}; returns whether the thread is to be replaced, that is
   * whether this failure is at most the {@code max}-th within the window that ends now.
   */
  public synchronized boolean replaceAfterFailureAt(long nowMs) {
    failures.addLast(nowMs);
    while (!failures.isEmpty() && failures.peekFirst() < nowMs - windowMs) {
      failures.removeFirst();
    }
    return failures.size() <= max;
  }

  /** The failures within the window as of the last one recorded. */
  public synchronized int recentFailures() {
    return failures.size();
  }
}
