package io.iris.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Waiting for a condition in a test, with Awaitility instead of hand-written deadline loops. */
public final class Waits {
  private Waits() {}

  /** Polls {@code done} every 50 ms for up to 60 s; fails naming {@code what}. */
  public static void await(String what, BooleanSupplier done) {
    await(what, Duration.ofSeconds(60), done);
  }

  /** Polls {@code done} every 50 ms for up to {@code timeout}; fails naming {@code what}. */
  public static void await(String what, Duration timeout, BooleanSupplier done) {
    try {
      Awaitility.await(what)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(50))
          .pollDelay(Duration.ZERO)
          .until(done::getAsBoolean);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("timed out waiting for " + what, e);
    }
  }

  /** Sleeps, keeping the interrupt flag; for pacing load, never for waiting on a condition. */
  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
