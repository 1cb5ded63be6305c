package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The testkit's waiting helpers and user-id allocator, without a stack. */
class WaitsTest {

  @Test
  void awaitShouldReturnTheValueItAccepted() {
    AtomicInteger n = new AtomicInteger();
    int got = Waits.await("three", Duration.ofSeconds(5), n::incrementAndGet, v -> v >= 3);
    assertEquals(3, got);
  }

  @Test
  void aTimeoutShouldNameWhatItWaitedForAndTheLastValue() {
    Waits.TimeoutError e =
        assertThrows(
            Waits.TimeoutError.class,
            () -> Waits.await("forty-three", Duration.ofMillis(200), () -> 42, v -> v == 43));
    assertTrue(e.getMessage().contains("forty-three"), e.getMessage());
    assertTrue(e.getCause().getMessage().contains("42"), e.getCause().getMessage());
  }

  @Test
  void anExceptionFromTheConditionShouldEndTheWaitUnlessIgnored() {
    assertThrows(
        SQLException.class,
        () ->
            Waits.await(
                "a query",
                Duration.ofSeconds(5),
                () -> {
                  throw new SQLException("down");
                }));
    AtomicInteger calls = new AtomicInteger();
    Waits.ignoringExceptions()
        .await(
            "a query that fails twice",
            Duration.ofSeconds(5),
            () -> {
              if (calls.incrementAndGet() < 3) {
                throw new SQLException("not yet");
              }
              return true;
            });
    assertEquals(3, calls.get());
  }

  @Test
  void conditionsShouldRunOnTheCallingThread() {
    Thread caller = Thread.currentThread();
    Waits.await("on the caller's thread", () -> Thread.currentThread() == caller);
  }

  @Test
  void holdsShouldFailWhenTheConditionTurnsFalse() {
    long start = System.nanoTime();
    assertThrows(
        AssertionError.class,
        () ->
            Waits.holds(
                "true for 100 ms only",
                Duration.ofMillis(300),
                () -> System.nanoTime() - start < 100_000_000L));
    Waits.holds("always true", Duration.ofMillis(200), () -> true);
  }

  @Test
  void userIdsShouldNeverRepeatAndStayAboveHandPickedOnes() {
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      long first = UserIds.block(1 + i % 4);
      for (long id = first; id < first + 1 + i % 4; id++) {
        assertTrue(seen.add(id), "handed out twice: " + id);
        assertTrue(id >= UserIds.FIRST, "below the range: " + id);
      }
      assertTrue(seen.add(UserIds.next()));
    }
  }
}
