package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.testkit.FaultReport;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.ThreeWay;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A device floods the bridge with sends. Beyond its budget (mqtt.device.commands.per.second, burst
 * mqtt.device.commands.burst) it is told RATE_LIMITED, which is counted; the SDK resends, so every
 * message still arrives exactly once, and a conversation between two other devices goes on
 * meanwhile with each send confirmed.
 */
class FloodIT {
  private static final long MALLORY = UserIds.next();
  private static final long MALLORYS_FRIEND = UserIds.next();
  private static final long ALICE = UserIds.next();
  private static final long BOB = UserIds.next();
  private static final int FLOOD = 800;

  @Test
  void aFloodingDeviceShouldBeSlowedAndCountedWithoutLossOrHarmToOthers() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    List<String> tokens =
        DeviceRegistry.registerAll(
            stack.bootstrapServers(),
            List.of(
                java.util.Map.entry(MALLORY, "phone"),
                java.util.Map.entry(MALLORYS_FRIEND, "phone"),
                java.util.Map.entry(ALICE, "phone"),
                java.util.Map.entry(BOB, "phone")));
    TestStacks.awaitRegistered(stack, before + 4);
    Phone mallory = Phone.open(stack, MALLORY, "phone", tokens.get(0));
    Phone friend = Phone.open(stack, MALLORYS_FRIEND, "phone", tokens.get(1));
    Phone alice = Phone.open(stack, ALICE, "phone", tokens.get(2));
    Phone bob = Phone.open(stack, BOB, "phone", tokens.get(3));
    long floodThread =
        mallory
            .device
            .createThread(List.of(MALLORYS_FRIEND), "flood")
            .get(30, TimeUnit.SECONDS)
            .getThreadId();
    long chat =
        alice.device.createThread(List.of(BOB), "chat").get(30, TimeUnit.SECONDS).getThreadId();
    long limitedBefore = stack.sendPath().count("rejected-rate-limited");

    List<CompletableFuture<Delta>> flood = new ArrayList<>();
    for (int i = 0; i < FLOOD; i++) {
      flood.add(mallory.device.send(floodThread, "flood " + i));
    }
    // Meanwhile Alice and Bob talk; each of their sends is confirmed as usual.
    for (int i = 0; i < 20; i++) {
      (i % 2 == 0 ? alice : bob).device.send(chat, "hi " + i).get(15, TimeUnit.SECONDS);
      // Pacing: the chat goes on at a conversation's pace while the flood lasts.
      Thread.sleep(50);
    }
    for (CompletableFuture<Delta> f : flood) {
      f.get(120, TimeUnit.SECONDS);
    }
    long limited = stack.sendPath().count("rejected-rate-limited") - limitedBefore;
    assertTrue(limited > 0, "the flood went over the budget and was refused: " + limited);

    Waits.await("every flood message at the friend", () -> startingWith(friend, "flood ") >= FLOOD);
    Waits.await("the chat at Bob", () -> startingWith(bob, "hi ") >= 20);
    // Nothing more arrives: a message delivered twice would show up within half a second.
    Waits.holds(
        "each flood message and each chat message once",
        Duration.ofMillis(500),
        () -> startingWith(friend, "flood ") == FLOOD && startingWith(bob, "hi ") == 20);
    assertEquals(FLOOD, startingWith(friend, "flood "), "each flood message once");
    assertEquals(
        FLOOD,
        friend.applied.stream()
            .filter(d -> d.getBody().isSetNewMessage())
            .map(d -> d.getBody().getNewMessage().getText())
            .distinct()
            .count());
    Phone.assertChained(friend.applied, -1);
    for (Phone p : List.of(mallory, friend, alice, bob)) {
      ThreeWay.check(
          stack,
          p == mallory ? MALLORY : p == friend ? MALLORYS_FRIEND : p == alice ? ALICE : BOB,
          p.applied);
    }
    FaultReport.row(
        "a device floods sends",
        FLOOD + " sends at once from one device; 20 messages between two others meanwhile",
        limited + " refused RATE_LIMITED and counted",
        "0 (the SDK resent; each device = iris.log = MySQL)",
        "0",
        "the others' sends confirmed as usual");
    Phone.assertChained(bob.applied, -1);
    assertEquals(20, startingWith(bob, "hi "));
    for (Phone p : List.of(mallory, friend, alice, bob)) {
      p.device.close();
    }
  }

  private static long startingWith(Phone p, String prefix) {
    return p.applied.stream()
        .filter(d -> d.getBody().isSetNewMessage())
        .filter(d -> d.getBody().getNewMessage().getText().startsWith(prefix))
        .count();
  }
}
