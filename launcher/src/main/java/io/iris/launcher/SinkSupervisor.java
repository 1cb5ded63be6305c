package io.iris.launcher;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restarts the MySQL sink's failed tasks. Kafka Connect leaves a failed task dead "until manually
 * restarted", and the JDBC sink fails for good on some database errors (a lost connection while it
 * checks the table, for one) even with its own retries. A restarted task resumes from the group's
 * committed offsets and upserts, so nothing is lost or doubled. Checks every few seconds, backs off
 * while restarts keep failing.
 */
final class SinkSupervisor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SinkSupervisor.class);
  private static final Duration CHECK = Duration.ofSeconds(5);
  private static final int MAX_BACKOFF_CHECKS = 6;

  private final ConnectClient connect;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "iris-sink-supervisor");
            t.setDaemon(true);
            return t;
          });
  private final AtomicLong restarts = new AtomicLong();
  private int skip;
  private int backoff = 1;

  SinkSupervisor(String connectUrl) {
    this(new ConnectClient(connectUrl, Duration.ofSeconds(10), ConnectClient.POLL));
  }

  SinkSupervisor(ConnectClient connect) {
    this.connect = connect;
  }

  void start() {
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            check();
          } catch (RuntimeException e) { // an exception would cancel every later check
            log.warn("Sink supervisor check failed; checking again in {}", CHECK, e);
          }
        },
        CHECK.toMillis(),
        CHECK.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Task restarts done since start. */
  long restarts() {
    return restarts.get();
  }

  /** One check: restarts the failed tasks if there are any. Runs on the timer's thread. */
  void check() {
    if (skip > 0) {
      skip--;
      return;
    }
    ConnectClient.ConnectorStatus status;
    try {
      status = connect.status(SinkRegistration.NAME);
    } catch (ConnectRestException e) {
      log.debug("Sink status check failed: {}", e.getMessage());
      return;
    }
    if (!status.failed()) {
      backoff = 1;
      return;
    }
    log.warn(
        "The MySQL sink has failed ({}); restarting it. It resumes from the storage pointer."
            + " If this repeats, check that MySQL is reachable and GET {}/connectors/{}/status.",
        status.failure(),
        connect.url(),
        SinkRegistration.NAME);
    try {
      connect.restartFailed(SinkRegistration.NAME);
      restarts.incrementAndGet();
    } catch (ConnectRestException e) {
      log.warn("Restarting the MySQL sink failed: {}", e.getMessage());
    }
    skip = backoff;
    backoff = Math.min(backoff * 2, MAX_BACKOFF_CHECKS);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
