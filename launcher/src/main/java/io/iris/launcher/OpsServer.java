package io.iris.launcher;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The operations endpoint of a process, on {@code ops.port}:
 *
 * <ul>
 *   <li>{@code GET /metrics}: Prometheus text format (the project's counters and gauges, Kafka's
 *       own client and streams metrics, JVM metrics);
 *   <li>{@code GET /health}: 200 while every vital thread runs, else 503 naming the dead ones
 *       (liveness: a process whose push path or streams app died must be restarted, even though its
 *       sockets still answer);
 *   <li>{@code GET /ready}: 200 when every part says UP, else 503; the body names each part's state
 *       (readiness);
 *   <li>{@code GET /route?user=<id>} (a process with a bridge): which bridge serves the user, as
 *       JSON ({@link #routes}).
 * </ul>
 *
 * Plain HTTP from the JDK; bind it to a management network in production.
 */
public final class OpsServer implements AutoCloseable {
  private final HttpServer server;

  /**
   * @param readiness each part's state: "UP", or what is wrong
   * @param health each vital thread's state: "UP", or why it died
   * @param beforeScrape called before each scrape (to register meters that appeared since)
   */
  public OpsServer(
      String host,
      int port,
      PrometheusMeterRegistry registry,
      Supplier<Map<String, String>> readiness,
      Supplier<Map<String, String>> health,
      Runnable beforeScrape) {
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 16);
    } catch (IOException e) {
      throw new UncheckedIOException("ops endpoint cannot listen on " + host + ":" + port, e);
    }
    server.setExecutor(
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "iris-ops-http");
              t.setDaemon(true);
              return t;
            }));
    server.createContext(
        "/metrics",
        x -> {
          beforeScrape.run();
          respond(x, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
        });
    server.createContext("/health", x -> respondWithStates(x, health.get()));
    server.createContext("/ready", x -> respondWithStates(x, readiness.get()));
  }

  /**
   * Serves {@code GET /route?user=<id>}: the body {@code route} gives for the user id, 200; a
   * missing or bad id, 400.
   */
  public void routes(java.util.function.LongFunction<String> route) {
    server.createContext(
        "/route",
        x -> {
          String q = x.getRequestURI().getQuery();
          long user = -1;
          if (q != null && q.startsWith("user=")) {
            try {
              user = Long.parseLong(q.substring(5));
            } catch (NumberFormatException e) {
              user = -1;
            }
          }
          if (user <= 0) {
            respond(x, 400, "application/json", "{\"error\":\"give ?user=<positive user id>\"}\n");
          } else {
            respond(x, 200, "application/json", route.apply(user) + "\n");
          }
        });
  }

  public void start() {
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** 200 and {"status":"UP",...} when every part says UP, else 503 and each part's state. */
  private static void respondWithStates(HttpExchange x, Map<String, String> parts)
      throws IOException {
    boolean up = parts.values().stream().allMatch("UP"::equals);
    StringBuilder b = new StringBuilder("{\"status\":\"" + (up ? "UP" : "DOWN") + "\"");
    parts.forEach(
        (k, v) ->
            b.append(",\"")
                .append(k)
                .append("\":\"")
                .append(v.replace("\\", "\\\\").replace("\"", "'").replace('\n', ' '))
                .append('"'));
    respond(x, up ? 200 : 503, "application/json", b.append("}\n").toString());
  }

  private static void respond(HttpExchange x, int code, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", type);
    x.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(1);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
