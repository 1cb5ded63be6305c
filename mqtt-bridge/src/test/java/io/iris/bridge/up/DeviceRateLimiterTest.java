package io.iris.bridge.up;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeviceRateLimiterTest {
  private static final long SECOND = 1_000_000_000L;

  private long now = 123 * SECOND;
  private final DeviceRateLimiter limiter = new DeviceRateLimiter(2, 5, () -> now);

  /** Whether {@code limiter} grants {@code device} a command now (no wait). */
  private static boolean granted(DeviceRateLimiter limiter, String device) {
    return limiter.acquireOrWait(device) == 0;
  }

  private int acquired(String device, int attempts) {
    int n = 0;
    for (int i = 0; i < attempts; i++) {
      if (granted(limiter, device)) {
        n++;
      }
    }
    return n;
  }

  @Test
  void shouldGrantABurstAtOnceThenRefuse() {
    assertEquals(5, acquired("42/phone", 10));
    assertFalse(granted(limiter, "42/phone"));
  }

  @Test
  void shouldRefillAtTheRatePerSecond() {
    acquired("42/phone", 5);

    now += SECOND / 2;
    assertEquals(1, acquired("42/phone", 3), "half a second at 2/s: one");
    now += SECOND / 4;
    assertFalse(granted(limiter, "42/phone"), "a quarter second: half a token is not one");
    now += SECOND / 4;
    assertTrue(granted(limiter, "42/phone"), "the halves add up");
  }

  @Test
  void shouldSayHowLongARefusedDeviceWaitsForItsNextToken() {
    acquired("42/phone", 5);
    assertEquals(SECOND / 2, limiter.acquireOrWait("42/phone"), "2 a second: a token in 0.5 s");

    now += SECOND / 4;
    assertEquals(SECOND / 4, limiter.acquireOrWait("42/phone"), "half a token there: 0.25 s more");
    now += SECOND / 4;
    assertEquals(0, limiter.acquireOrWait("42/phone"), "taken");
  }

  @Test
  void shouldNeverHoldMoreThanTheBurst() {
    acquired("42/phone", 5);

    now += 3600 * SECOND;

    assertEquals(5, acquired("42/phone", 10), "an hour idle refills to the burst, not beyond");
  }

  @Test
  void shouldKeepOneBudgetPerDevice() {
    acquired("42/phone", 5);

    assertEquals(5, acquired("42/tablet", 10), "a flooding phone does not slow the tablet");
    assertEquals(5, acquired("43/phone", 10));
    assertEquals(3, limiter.tracked());
  }

  @Test
  void shouldDropFullBucketsNowAndThenSoIdleDevicesCostNothing() {
    acquired("42/phone", 1);
    acquired("42/tablet", 5);
    now += 10 * SECOND; // both full again
    acquired("43/busy", 5);
    assertEquals(3, limiter.tracked());

    // The sweep runs on every 10 000th call (11 so far); "43/busy" stays empty at a fixed time.
    for (int i = 0; i < 10_000 - 11 - 1; i++) {
      granted(limiter, "43/busy");
    }
    assertEquals(3, limiter.tracked(), "not swept yet");
    granted(limiter, "43/busy");

    assertEquals(1, limiter.tracked(), "only the device still spending remains");
    assertFalse(granted(limiter, "43/busy"), "its bucket kept its debt");
  }

  @Test
  void shouldRefuseARateOrBurstThatIsNotPositive() {
    assertThrows(IllegalArgumentException.class, () -> new DeviceRateLimiter(0, 5));
    assertThrows(IllegalArgumentException.class, () -> new DeviceRateLimiter(-1, 5));
    assertThrows(IllegalArgumentException.class, () -> new DeviceRateLimiter(1, 0));
  }

  @Test
  void shouldAllowFractionalRates() {
    DeviceRateLimiter slow = new DeviceRateLimiter(0.1, 1, () -> now);
    assertTrue(granted(slow, "d"));
    now += 9 * SECOND;
    assertFalse(granted(slow, "d"));
    now += SECOND;
    assertTrue(granted(slow, "d"), "one every ten seconds");
  }
}
