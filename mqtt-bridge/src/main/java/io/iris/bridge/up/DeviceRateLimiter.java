package io.iris.bridge.up;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One token bucket per device: at most {@code perSecond} commands a second on average, bursts of
 * {@code burst}. A device over its budget is told RATE_LIMITED and resends later (the SDK does);
 * the other devices on the bridge are not slowed by it.
 *
 * <p>Buckets that are full again are dropped now and then, so idle devices cost nothing.
 */
public final class DeviceRateLimiter {
  private final double perNano;
  private final double burst;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong calls = new AtomicLong();
  private final LongSupplier nanoTime;

  private static final class Bucket {
    double tokens;
    long atNanos;

    Bucket(double tokens, long atNanos) {
      this.tokens = tokens;
      this.atNanos = atNanos;
    }
  }

  public DeviceRateLimiter(double perSecond, int burst) {
    this(perSecond, burst, System::nanoTime);
  }

  /** A limiter reading time from {@code nanoTime} (as {@link System#nanoTime}). */
  DeviceRateLimiter(double perSecond, int burst, LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    if (perSecond <= 0 || burst < 1) {
      throw new IllegalArgumentException("rate and burst must be positive");
    }
    this.perNano = perSecond / 1e9;
    this.burst = burst;
  }

  /**
   * Takes one token of {@code device}'s bucket and returns 0, or, when it has none, returns the
   * nanoseconds until it holds one again (what a refused device is told to wait).
   */
  public long acquireOrWait(String device) {
    long now = nanoTime.getAsLong();
    if (calls.incrementAndGet() % 10_000 == 0) {
      sweep(now);
    }
    Bucket b = buckets.computeIfAbsent(device, k -> new Bucket(burst, now));
    synchronized (b) {
      b.tokens = Math.min(burst, b.tokens + (now - b.atNanos) * perNano);
      b.atNanos = now;
      if (b.tokens < 1) {
        return Math.max(1, (long) Math.ceil((1 - b.tokens) / perNano));
      }
      b.tokens -= 1;
      return 0;
    }
  }

  private void sweep(long now) {
    buckets
        .entrySet()
        .removeIf(
            e -> {
              Bucket b = e.getValue();
              synchronized (b) {
                return b.tokens + (now - b.atNanos) * perNano >= burst;
              }
            });
  }

  /** Devices with a bucket now. */
  public int tracked() {
    return buckets.size();
  }
}
