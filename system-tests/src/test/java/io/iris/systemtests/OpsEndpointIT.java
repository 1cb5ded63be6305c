package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** /metrics, /health and /ready of the stack's process, after some real traffic. */
class OpsEndpointIT {
  static HttpResponse<String> get(IrisStack stack, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(stack.endpoints().get("ops") + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void shouldExposeMetricsHealthAndReadiness() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    long user = UserIds.next();
    long friend = UserIds.next();
    String token = DeviceRegistry.register(stack.bootstrapServers(), user, "phone");
    TestStacks.awaitRegistered(stack, before + 1);
    Phone phone = Phone.open(stack, user, "phone", token);
    phone.device.createThread(List.of(friend), "ops").get(30, TimeUnit.SECONDS);

    assertEquals(200, get(stack, "/health").statusCode());
    HttpResponse<String> ready = get(stack, "/ready");
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("\"status\":\"UP\""), ready.body());

    String metrics = get(stack, "/metrics").body();
    for (String expected :
        List.of(
            "iris_bridge_requests_total{outcome=\"accepted\"}",
            "iris_deltas_pushed_total",
            "iris_devices_connected",
            "iris_mqtt_refused_total{what=\"subscribe\"}",
            "iris_device_pointer_lag_records",
            "iris_storage_pointer_lag_records",
            "iris_dlq_records",
            "kafka_stream_",
            "kafka_producer_",
            "kafka_consumer_",
            "jvm_memory_used_bytes")) {
      assertTrue(metrics.contains(expected), "missing " + expected);
    }
    assertTrue(
        metrics
            .lines()
            .anyMatch(l -> l.startsWith("iris_devices_connected ") && !l.endsWith(" 0.0")),
        "a device is connected");
    String clean = "iris_device_disconnects_total{how=\"clean\"}";
    double cleanBefore = value(metrics, clean);
    phone.device.close();
    Waits.ignoringExceptions()
        .await(
            "a clean disconnect counted",
            Waits.DEFAULT_TIMEOUT,
            () -> value(get(stack, "/metrics").body(), clean) >= cleanBefore + 1);
    assertTrue(metrics.contains("iris_device_disconnects_total{how=\"lost\"}"), metrics);
  }

  private static double value(String metrics, String series) {
    return metrics
        .lines()
        .filter(l -> l.startsWith(series + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + series));
  }
}
