package io.iris.testkit;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waiting in a test for something to become true, with Awaitility instead of hand-written deadline
 * loops and sleeps.
 *
 * <p>Conditions are evaluated on the calling thread, one after the other, so that a condition may
 * use a {@code KafkaConsumer} or other single-thread object, and may throw: an exception from a
 * condition ends the wait and reaches the test as it is, unless {@link #ignoringExceptions()} says
 * otherwise. A wait that runs out fails with a {@link TimeoutError} naming what it waited for.
 *
 * <p>{@link #sleep(long)} is for the sleeps a scenario needs (pacing a load, holding a fault),
 * never for waiting on a condition.
 */
public final class Waits {
  /** How long a wait lasts when the caller does not say. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private static final Poller EVERY_50_MS = new Poller(Duration.ofMillis(50), false);

  private Waits() {}

  /** A condition that may throw (a query, a poll). */
  @FunctionalInterface
  public interface Condition {
    boolean met() throws Exception;
  }

  /** A wait that ran out: {@code what} did not happen in time. */
  public static final class TimeoutError extends AssertionError {
    private static final long serialVersionUID = 1L;

    TimeoutError(String what, Duration timeout, Throwable cause) {
      super("timed out after " + human(timeout) + " waiting for " + what, cause);
    }
  }

  /** Polls {@code done} every 50 ms for up to 60 s; fails naming {@code what}. */
  public static void await(String what, Condition done) {
    EVERY_50_MS.await(what, DEFAULT_TIMEOUT, done);
  }

  /** Polls {@code done} every 50 ms for up to {@code timeout}; fails naming {@code what}. */
  public static void await(String what, Duration timeout, Condition done) {
    EVERY_50_MS.await(what, timeout, done);
  }

  /**
   * Reads {@code value} every 50 ms for up to {@code timeout} until {@code done} accepts it, and
   * returns the value it accepted; a timeout names {@code what} and the last value read.
   */
  public static <T> T await(
      String what, Duration timeout, Callable<T> value, Predicate<? super T> done) {
    return EVERY_50_MS.await(what, timeout, value, done);
  }

  /**
   * Checks that {@code stays} is true and stays true for {@code period}, polled every 50 ms: for
   * "nothing more arrives" checks. Awaitility's {@code during(period)}: fails once {@code stays}
   * has been false and has not held a whole period again within {@code 2 * period + 1 s}.
   */
  public static void holds(String what, Duration period, Condition stays) {
    Duration atMost = period.multipliedBy(2).plusSeconds(1);
    try {
      EVERY_50_MS.factory(what, atMost).during(period).until(stays::met);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("did not stay true for " + human(period) + ": " + what, e);
    }
  }

  /** Waits that poll every {@code interval}: for conditions that cost a query or a request. */
  public static Poller every(Duration interval) {
    return new Poller(interval, false);
  }

  /** Waits polled every 50 ms that take an exception from the condition as "not yet". */
  public static Poller ignoringExceptions() {
    return EVERY_50_MS.ignoringExceptions();
  }

  /**
   * Sleeps, keeping the interrupt flag; for pacing a scenario, never for waiting on a condition.
   */
  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** How a wait polls: how often, and whether an exception from the condition means "not yet". */
  public static final class Poller {
    private final Duration interval;
    private final boolean ignoreExceptions;

    private Poller(Duration interval, boolean ignoreExceptions) {
      this.interval = interval;
      this.ignoreExceptions = ignoreExceptions;
    }

    /**
     * The same, taking an {@link Exception} from the condition as "not yet" (an {@link Error}, such
     * as a failed assertion, still ends the wait).
     */
    public Poller ignoringExceptions() {
      return new Poller(interval, true);
    }

    /** Polls {@code done} for up to {@code timeout}; fails naming {@code what}. */
    public void await(String what, Duration timeout, Condition done) {
      try {
        factory(what, timeout).until(done::met);
      } catch (ConditionTimeoutException e) {
        throw new TimeoutError(what, timeout, e);
      }
    }

    /**
     * Reads {@code value} for up to {@code timeout} until {@code done} accepts it, and returns the
     * value it accepted; a timeout names {@code what} and the last value read.
     */
    public <T> T await(
        String what, Duration timeout, Callable<T> value, Predicate<? super T> done) {
      try {
        return factory(what, timeout).until(value, done);
      } catch (ConditionTimeoutException e) {
        throw new TimeoutError(what, timeout, e);
      }
    }

    private ConditionFactory factory(String what, Duration timeout) {
      ConditionFactory f =
          Awaitility.await(what)
              .atMost(timeout)
              .pollInterval(interval)
              .pollDelay(Duration.ZERO)
              .pollInSameThread();
      return ignoreExceptions ? f.ignoreExceptionsInstanceOf(Exception.class) : f;
    }
  }
}
