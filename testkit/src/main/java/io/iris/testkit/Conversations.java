package io.iris.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The steady stream of sends the fault tests hold: {@code pairs} pairs of SDK devices, each pair in
 * a thread of its own, every device sending one message a round. At the end every device must hold
 * every delta of its user once, in position order, and agree with iris.log and MySQL.
 */
public final class Conversations implements AutoCloseable {
  public final List<Phone> phones = new ArrayList<>();
  public final List<Long> users = new ArrayList<>();
  private final long[] threads;
  private final List<CompletableFuture<Delta>> sends = new ArrayList<>();
  private int rounds;
  private final Duration sendDeadline;

  /**
   * Registers and connects {@code 2 * pairs} devices of users {@code firstUser …}; {@code uris}
   * says which bridges device {@code i} may use.
   */
  public Conversations(IrisStack stack, long firstUser, int pairs, IntFunction<String[]> uris)
      throws Exception {
    this(
        Deployment.of(stack),
        stack.devices().size(),
        firstUser,
        pairs,
        uris,
        Duration.ofMinutes(2));
  }

  /**
   * The same on any deployment; {@code knownBefore} is how many devices its bridges knew before
   * (for {@link Deployment#awaitRegistered()}); {@code sendDeadline} is the SDK's: how long a send
   * may wait for its confirmation before it fails.
   */
  public Conversations(
      Deployment d,
      int knownBefore,
      long firstUser,
      int pairs,
      IntFunction<String[]> uris,
      Duration sendDeadline)
      throws Exception {
    this.sendDeadline = sendDeadline;
    List<Map.Entry<Long, String>> ids = new ArrayList<>();
    for (int i = 0; i < 2 * pairs; i++) {
      users.add(firstUser + i);
      ids.add(Map.entry(firstUser + i, "phone"));
    }
    List<String> tokens = DeviceRegistry.registerAll(d.kafka(), ids);
    if (d.awaitRegistered() != null) {
      d.awaitRegistered().accept(knownBefore + 2 * pairs);
    }
    IrisDevice.Position start = new IrisDevice.Position(d.epoch(), -1);
    for (int i = 0; i < 2 * pairs; i++) {
      int k = i;
      // Where the bridges' registrations cannot be watched, a device whose token a bridge has not
      // read yet is refused: it tries again, as an app would.
      phones.add(
          Waits.every(Duration.ofMillis(500))
              .ignoringExceptions()
              .await(
                  "device " + users.get(k) + " connected",
                  Duration.ofSeconds(60),
                  () ->
                      Phone.open(
                          null, users.get(k), tokens.get(k), start, sendDeadline, uris.apply(k)),
                  p -> true));
    }
    threads = new long[pairs];
    for (int p = 0; p < pairs; p++) {
      threads[p] =
          phones
              .get(2 * p)
              .device
              .createThread(List.of(users.get(2 * p + 1)), "pair " + p)
              .get(30, TimeUnit.SECONDS)
              .getThreadId();
    }
  }

  /** One message from every device. */
  public void round() {
    for (int i = 0; i < phones.size(); i++) {
      sends.add(phones.get(i).device.send(threads[i / 2], "m" + rounds + " from " + users.get(i)));
    }
    rounds++;
  }

  public int messages() {
    return rounds * phones.size();
  }

  /** Every send confirmed, every device complete and in order, devices = iris.log = MySQL. */
  public void check(IrisStack stack) throws Exception {
    check(Deployment.of(stack));
  }

  /** {@link #check(IrisStack)} on any deployment. */
  public void check(Deployment stack) throws Exception {
    for (int i = 0; i < sends.size(); i++) {
      try {
        sends.get(i).get(sendDeadline.toSeconds() + 60, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        int device = i % phones.size();
        Phone p = phones.get(device);
        throw new AssertionError(
            "send "
                + i
                + " of device "
                + users.get(device)
                + " ("
                + p.device.connection()
                + ", at "
                + p.device.position()
                + ", "
                + p.applied.size()
                + " deltas) failed: "
                + e.getCause(),
            e);
      }
    }
    long expected = 1 + 2L * rounds; // the pair's thread, then both sides' messages
    Map<Long, List<Delta>> byUser = new LinkedHashMap<>();
    for (int i = 0; i < phones.size(); i++) {
      Phone p = phones.get(i);
      Waits.await("device " + users.get(i) + " complete", () -> p.applied.size() >= expected);
    }
    // Nothing more arrives: a delta applied twice would show up within half a second.
    Waits.holds(
        "every device at exactly " + expected + " deltas",
        Duration.ofMillis(500),
        () -> phones.stream().allMatch(p -> p.applied.size() == expected));
    for (int i = 0; i < phones.size(); i++) {
      Phone p = phones.get(i);
      assertEquals(expected, p.applied.size(), "every delta once at " + users.get(i));
      Map<String, Integer> seen = new HashMap<>();
      for (Delta d : p.applied) {
        if (d.getBody().isSetNewMessage()) {
          seen.merge(d.getBody().getNewMessage().getText(), 1, Integer::sum);
        }
      }
      assertEquals(2 * rounds, seen.size(), "every message of the pair at " + users.get(i));
      seen.forEach((text, n) -> assertEquals(1, n, text));
      byUser.put(users.get(i), p.applied);
    }
    ThreeWay.checkAll(stack, byUser);
  }

  /**
   * Delivery latency (ms) of the other side's messages that reached a device between {@code fromMs}
   * and {@code toMs}: arrival minus the time the bridge took the send in.
   */
  public List<Long> latencies(long fromMs, long toMs) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < phones.size(); i++) {
      Phone p = phones.get(i);
      for (int k = 0; k < p.applied.size() && k < p.arrivedAtMs.size(); k++) {
        Delta d = p.applied.get(k);
        long at = p.arrivedAtMs.get(k);
        if (at >= fromMs
            && at < toMs
            && d.getBody().isSetNewMessage()
            && d.getBody().getNewMessage().getSenderUserId() != users.get(i)) {
          out.add(at - d.getServerTimestampMs());
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    for (Phone p : phones) {
      p.device.close();
    }
  }
}
