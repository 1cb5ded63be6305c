package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.Phone;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
  private static final long AVA = UserIds.next();
  private static final long BO = UserIds.next();

  @Test
  void shouldKeepEveryMessageWhenDevicesMoveBetweenBridgesAndOneDies() throws Exception {
    IrisStack a = TestStacks.shared();
    Path dir = TestStacks.newDataDir("bridge-b");
    IrisStack b = TestStacks.bridgeBeside(a, dir);
    try {
      int before = a.devices().size();
      String avaToken = DeviceRegistry.register(a.bootstrapServers(), AVA, "phone");
      String boToken = DeviceRegistry.register(a.bootstrapServers(), BO, "phone");
      TestStacks.awaitRegistered(a, before + 2);
      IrisStack second = b;
      Waits.await("bridge B knows the devices", () -> second.devices().size() >= before + 2);

      // Ava on bridge A, Bo on bridge B (A as his fallback).
      Phone ava = Phone.open(null, AVA, avaToken, Phone.start(a), StockMqtt.url(a));
      Phone bo = Phone.open(null, BO, boToken, Phone.start(a), StockMqtt.url(b), StockMqtt.url(a));
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
          IrisDevice.Position last = ava.position(); // final once closed
          ava = Phone.open(ava, AVA, avaToken, last, StockMqtt.url(b), StockMqtt.url(a));
        }
        sent.add(ava.device.send(thread, "ava " + i));
        // Pacing: the two keep talking while Ava moves between bridges.
        Thread.sleep(50);
      }
      for (CompletableFuture<Delta> f : sent) {
        f.get(60, TimeUnit.SECONDS);
      }

      // Bridge B dies with both devices on it: they move to A and catch up there.
      b.close();
      b = null;
      Phone avaMoved = ava;
      Waits.await(
          "both back on bridge A", () -> avaMoved.device.isConnected() && bo.device.isConnected());
      List<CompletableFuture<Delta>> after = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        after.add(avaMoved.device.send(thread, "ava after " + i));
        after.add(bo.device.send(thread, "bo after " + i));
      }
      for (CompletableFuture<Delta> f : after) {
        f.get(60, TimeUnit.SECONDS);
      }
      for (Phone p : List.of(avaMoved, bo)) {
        try {
          Waits.await(
              "every message at " + p.device,
              () -> texts(p, "ava ") == 25 && texts(p, "bo ") == 25);
        } catch (AssertionError e) {
          throw new AssertionError(
              e.getMessage()
                  + ": position "
                  + p.last()
                  + ", applied "
                  + p.applied.stream()
                      .map(
                          d ->
                              d.getPos()
                                  + (d.getBody().isSetNewMessage()
                                      ? ":" + d.getBody().getNewMessage().getText()
                                      : ""))
                      .toList());
        }
        for (String who : List.of("ava ", "bo ")) {
          for (int i = 0; i < 20; i++) {
            assertEquals(1, Phone.count(p, who + i), who + i + " at " + p.device);
          }
          for (int i = 0; i < 5; i++) {
            assertEquals(1, Phone.count(p, who + "after " + i), who + "after " + i);
          }
        }
      }
      Phone.assertChained(bo.applied, -1);
      assertTrue(bo.applied.size() > 50);
      avaMoved.device.close();
      bo.device.close();
    } finally {
      if (b != null) {
        b.close();
      }
      TestStacks.delete(dir);
    }
  }

  static long texts(Phone p, String prefix) {
    return p.applied.stream()
        .filter(d -> d.getBody().isSetNewMessage())
        .filter(d -> d.getBody().getNewMessage().getText().startsWith(prefix))
        .count();
  }
}
