package io.iris.launcher;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

  private final String connectUrl;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
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
    this.connectUrl = connectUrl;
  }

  void start() {
    timer.scheduleWithFixedDelay(
        this::check, CHECK.toMillis(), CHECK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Task restarts done since start. */
  long restarts() {
    return restarts.get();
  }

  private void check() {
    if (skip > 0) {
      skip--;
      return;
    }
    String base = connectUrl + "/connectors/" + SinkRegistration.NAME;
    try {
      HttpResponse<String> status =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/status"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (status.statusCode() != 200 || !status.body().contains("\"FAILED\"")) {
        backoff = 1;
        return;
      }
      log.warn(
          "The MySQL sink has a failed task ({}); restarting it. It resumes from the storage pointer."
              + " If this repeats, check that MySQL is reachable and GET {}/status.",
          SinkRegistration.failure(status.body()),
          base);
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(base + "/restart?includeTasks=true&onlyFailed=true"))
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      restarts.incrementAndGet();
      if (r.statusCode() >= 300) {
        log.warn("Restarting the MySQL sink answered HTTP {}: {}", r.statusCode(), r.body());
      }
      skip = backoff;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_CHECKS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      log.debug("Sink status check failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
