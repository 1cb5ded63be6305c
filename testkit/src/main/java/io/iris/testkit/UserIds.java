package io.iris.testkit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * User ids for tests, fresh for this JVM: no two callers ever get the same id, so tests on the
 * shared stack ({@link TestStacks#shared()}) never meet each other's users, devices, pointers or
 * catch-up state. Every stack of a test JVM is new (its data directory is made for the run), so
 * "never handed out before in this JVM" is "never used on this stack".
 *
 * <p>The ids start at {@link #FIRST}, far above every id a test or benchmark picks by hand or at
 * random (all below 10^10), so they cannot meet those either.
 */
public final class UserIds {
  /** The first id handed out. */
  public static final long FIRST = 1_000_000_000_000L;

  private static final AtomicLong NEXT = new AtomicLong(FIRST);

  private UserIds() {}

  /** One fresh user id. */
  public static long next() {
    return block(1);
  }

  /**
   * {@code n} fresh, consecutive user ids: returns the first, {@code first … first + n - 1} are the
   * caller's.
   */
  public static long block(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("a block of at least one id, not " + n);
    }
    return NEXT.getAndAdd(n);
  }
}
