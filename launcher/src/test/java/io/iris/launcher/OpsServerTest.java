package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpsServerTest {
  private final Map<String, String> health = new LinkedHashMap<>();
  private final Map<String, String> readiness = new LinkedHashMap<>();
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private int scrapes;
  private OpsServer server;

  @BeforeEach
  void start() {
    health.put("push-path", "UP");
    readiness.put("mqtt", "UP");
    server =
        new OpsServer(
            "127.0.0.1",
            0,
            registry,
            () -> Map.copyOf(readiness),
            () -> Map.copyOf(health),
            () -> scrapes++);
    server.start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthShouldBeUpWhileEveryVitalThreadRuns() throws Exception {
    HttpResponse<String> r = get("/health");
    assertEquals(200, r.statusCode());
    assertTrue(r.body().startsWith("{\"status\":\"UP\""), r.body());
  }

  @Test
  void healthShouldFailAndNameTheDeadThread() throws Exception {
    health.put("push-path", "dead: java.lang.IllegalStateException: \"boom\"\nat line");
    HttpResponse<String> r = get("/health");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("\"status\":\"DOWN\""), r.body());
    assertTrue(
        r.body()
            .contains("\"push-path\":\"dead: java.lang.IllegalStateException: 'boom' at line\""),
        r.body());
  }

  @Test
  void readinessShouldBeIndependentOfHealth() throws Exception {
    readiness.put("mqtt", "MQTT edge not listening");
    assertEquals(503, get("/ready").statusCode());
    assertEquals(200, get("/health").statusCode());
  }

  @Test
  void metricsShouldRefreshBeforeEachScrape() throws Exception {
    assertEquals(200, get("/metrics").statusCode());
    assertEquals(200, get("/metrics").statusCode());
    assertEquals(2, scrapes);
  }
}
