package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.DeviceRegistry;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two bridges on one Kafka and MySQL (the shared stack's and a second, bridge-only one, as `iris
 * bridge` runs it): devices on different bridges talk; a device moves from one bridge to the other
 * mid-conversation; a bridge dies and its device moves to the survivor. Nothing lost, nothing
 * twice.
 */
class BridgeScaleOutIT {
  private static final long AVA = 981;
  private static final long BO = 982;

  static IrisStack secondBridge(IrisStack shared, Path dir) {
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    c.put(IrisConfig.KAFKA_BOOTSTRAP_CONFIG, shared.bootstrapServers());
    c.put(IrisConfig.MYSQL_URL_CONFIG, shared.jdbcUrl());
    c.put(IrisConfig.MYSQL_USER_CONFIG, "root");
    c.put(IrisConfig.RUN_STREAMS_CONFIG, false);
    c.put(IrisConfig.RUN_CONNECT_CONFIG, false);
    IrisStack b = new IrisStack(new IrisConfig(c));
    b.preflight();
    b.start(line -> {});
    return b;
  }

  static String uri(IrisStack s) {
    return "tcp://127.0.0.1:" + s.mqtt().settings().port();
  }

  /**
   * A device; {@code before} (or null) is the same device's earlier session, whose deltas it keeps.
   */
  static DeviceSyncIT.Phone open(
      DeviceSyncIT.Phone before, long user, String token, long lastSeq, String... uris)
      throws Exception {
    DeviceSyncIT.Phone p = new DeviceSyncIT.Phone();
    if (before != null) {
      p.applied.addAll(before.applied);
    }
    p.device =
        IrisDevice.builder()
            .serverUris(uris)
            .user(user)
            .device("phone")
            .token(token)
            .lastSeq(lastSeq)
            .listener(p)
            .resendAfter(Duration.ofSeconds(3))
            .maxReconnectDelay(Duration.ofSeconds(2))
            .build();
    p.device.connect(Duration.ofSeconds(10));
    return p;
  }

  @Test
  void shouldKeepEveryMessageWhenDevicesMoveBetweenBridgesAndOneDies() throws Exception {
    IrisStack a = TestStacks.shared();
    Path dir = TestStacks.newDataDir("bridge-b");
    IrisStack b = secondBridge(a, dir);
    try {
      int before = a.devices().size();
      String avaToken = DeviceRegistry.register(a.bootstrapServers(), AVA, "phone");
      String boToken = DeviceRegistry.register(a.bootstrapServers(), BO, "phone");
      DeviceAuthIT.awaitRegistered(a, before + 2);
      IrisStack second = b;
      DeviceSyncIT.await("bridge B knows the devices", () -> second.devices().size() >= before + 2);

      // Ava on bridge A, Bo on bridge B (A as his fallback).
      DeviceSyncIT.Phone ava = open(null, AVA, avaToken, 0, uri(a));
      DeviceSyncIT.Phone bo = open(null, BO, boToken, 0, uri(b), uri(a));
      long thread =
          ava.device
              .createThread(List.of(BO), "two bridges")
              .get(30, TimeUnit.SECONDS)
              .getThreadId();

      List<CompletableFuture<Delta>> sent = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        sent.add(bo.device.send(thread, "bo " + i));
        if (i == 10) {
          // Ava moves from bridge A to bridge B while Bo keeps talking.
          for (CompletableFuture<Delta> f : sent) {
            f.get(60, TimeUnit.SECONDS);
          }
          ava.device.close();
          long last = ava.last(); // final once closed
          ava = open(ava, AVA, avaToken, last, uri(b), uri(a));
        }
        sent.add(ava.device.send(thread, "ava " + i));
        Thread.sleep(50);
      }
      for (CompletableFuture<Delta> f : sent) {
        f.get(60, TimeUnit.SECONDS);
      }

      // Bridge B dies with both devices on it: they move to A and catch up there.
      b.close();
      b = null;
      DeviceSyncIT.Phone avaMoved = ava;
      DeviceSyncIT.await(
          "both back on bridge A", () -> avaMoved.device.isConnected() && bo.device.isConnected());
      List<CompletableFuture<Delta>> after = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        after.add(avaMoved.device.send(thread, "ava after " + i));
        after.add(bo.device.send(thread, "bo after " + i));
      }
      for (CompletableFuture<Delta> f : after) {
        f.get(60, TimeUnit.SECONDS);
      }
      for (DeviceSyncIT.Phone p : List.of(avaMoved, bo)) {
        try {
          DeviceSyncIT.await(
              "every message at " + p.device,
              () -> texts(p, "ava ") == 25 && texts(p, "bo ") == 25);
        } catch (AssertionError e) {
          throw new AssertionError(
              e.getMessage()
                  + ": last seq "
                  + p.last()
                  + ", applied "
                  + p.applied.stream()
                      .map(
                          d ->
                              d.getSeq()
                                  + (d.getBody().isSetNewMessage()
                                      ? ":" + d.getBody().getNewMessage().getText()
                                      : ""))
                      .toList());
        }
        for (String who : List.of("ava ", "bo ")) {
          for (int i = 0; i < 20; i++) {
            assertEquals(1, DeviceSyncIT.count(p, who + i), who + i + " at " + p.device);
          }
          for (int i = 0; i < 5; i++) {
            assertEquals(1, DeviceSyncIT.count(p, who + "after " + i), who + "after " + i);
          }
        }
      }
      DeviceSyncIT.assertContiguous(bo.applied, 1);
      assertTrue(bo.last() > 50);
      avaMoved.device.close();
      bo.device.close();
    } finally {
      if (b != null) {
        b.close();
      }
      TestStacks.delete(dir);
    }
  }

  static long texts(DeviceSyncIT.Phone p, String prefix) {
    return p.applied.stream()
        .filter(d -> d.getBody().isSetNewMessage())
        .filter(d -> d.getBody().getNewMessage().getText().startsWith(prefix))
        .count();
  }
}
