package io.iris.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.TypingEvent;
import io.iris.sdk.IrisDevice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** An SDK device in a test and everything it applied, with the helpers the system tests share. */
public final class Phone implements IrisDevice.Listener {
  public final List<Delta> applied = new CopyOnWriteArrayList<>();

  /** When each delta of {@code applied} reached the app, epoch ms (same order). */
  public final List<Long> arrivedAtMs = new CopyOnWriteArrayList<>();

  public final List<TypingEvent> typing = new CopyOnWriteArrayList<>();
  public final List<ResnapshotRequired> resnapshots = new CopyOnWriteArrayList<>();
  public final List<Snapshot> snapshots = new CopyOnWriteArrayList<>();
  public IrisDevice device;

  @Override
  public void onDeltas(List<Delta> deltas) {
    long now = System.currentTimeMillis();
    for (int i = 0; i < deltas.size(); i++) {
      arrivedAtMs.add(now);
    }
    applied.addAll(deltas);
  }

  @Override
  public void onTyping(TypingEvent event) {
    typing.add(event);
  }

  @Override
  public boolean onResnapshotRequired(ResnapshotRequired costs) {
    resnapshots.add(costs);
    return true;
  }

  @Override
  public void onSnapshot(Snapshot snapshot) {
    snapshots.add(snapshot);
  }

  /** The device's position (the last position it holds), -1 before any. */
  public long last() {
    return device.lastPos();
  }

  /** The position of the last delta applied in this session, -1 before any. */
  public long lastApplied() {
    return applied.isEmpty() ? -1 : applied.get(applied.size() - 1).getPos();
  }

  /** The device's position with its epoch, to reopen it where it was. */
  public IrisDevice.Position position() {
    return device.position();
  }

  /** The start of the stack's log: a device opened here gets the user's whole queue. */
  public static IrisDevice.Position start(IrisStack stack) {
    return new IrisDevice.Position(stack.bridge().layout().epoch(), -1);
  }

  /** Connects device {@code name} of {@code user}, from the start of the user's queue. */
  public static Phone open(IrisStack stack, long user, String name, String token) throws Exception {
    return open(stack, user, name, token, start(stack));
  }

  /** Connects device {@code name} of {@code user} to the stack's plain MQTT port. */
  public static Phone open(
      IrisStack stack, long user, String name, String token, IrisDevice.Position from)
      throws Exception {
    return open(stack, user, name, token, from, false);
  }

  /**
   * The same, with or without delivery receipts. The test phones give none unless asked: a receipt
   * is a delta of the sender's queue whose number depends on when acks went out, and the tests
   * count deltas exactly (the receipts' own test, {@code DeliveryReceiptsIT}, turns them on).
   */
  public static Phone open(
      IrisStack stack,
      long user,
      String name,
      String token,
      IrisDevice.Position from,
      boolean deliveryReceipts)
      throws Exception {
    Phone p = new Phone();
    p.device =
        IrisDevice.builder()
            .serverUri(StockMqtt.url(stack))
            .user(user)
            .device(name)
            .token(token)
            .lastPos(from.epoch(), from.lastPos())
            .listener(p)
            .resendAfter(Duration.ofSeconds(3))
            .deliveryReceipts(deliveryReceipts)
            .build();
    p.device.connect(Duration.ofSeconds(10));
    return p;
  }

  /**
   * Device "phone" of {@code user}, allowed to use any of {@code uris}, from {@code from}; {@code
   * before} (or null) is the same device's earlier session, whose deltas it keeps.
   */
  public static Phone open(
      Phone before, long user, String token, IrisDevice.Position from, String... uris)
      throws Exception {
    return open(before, user, token, from, Duration.ofMinutes(2), uris);
  }

  /**
   * The same with the SDK's send deadline: how long a send waits for its confirmation, resent every
   * 3 s, before the app is told it failed.
   */
  public static Phone open(
      Phone before,
      long user,
      String token,
      IrisDevice.Position from,
      Duration sendDeadline,
      String... uris)
      throws Exception {
    Phone p = new Phone();
    if (before != null) {
      p.applied.addAll(before.applied);
    }
    p.device =
        IrisDevice.builder()
            .serverUris(uris)
            .user(user)
            .device("phone")
            .token(token)
            .lastPos(from.epoch(), from.lastPos())
            .listener(p)
            .resendAfter(Duration.ofSeconds(3))
            .sendDeadline(sendDeadline)
            .maxReconnectDelay(Duration.ofSeconds(2))
            .deliveryReceipts(false) // as above: the fault tests count deltas exactly
            .build();
    try {
      p.device.connect(Duration.ofSeconds(10));
    } catch (Exception | Error e) {
      p.device.close();
      throw e;
    }
    return p;
  }

  /**
   * Every delta once, in position order, after {@code after}, each with a prevPos below its
   * position. (A prevPos may lie above the previous delta's position: the device's position also
   * moves with a batch's throughPos, past deltas of other users.) Whether none is missing is for
   * {@link ThreeWay}: what the device holds against iris.log and MySQL.
   */
  public static void assertChained(List<Delta> deltas, long after) {
    long last = after;
    for (int i = 0; i < deltas.size(); i++) {
      Delta d = deltas.get(i);
      assertTrue(d.getPos() > last, "position " + d.getPos() + " after " + last + " at " + i);
      assertTrue(
          d.getPrevPos() < d.getPos(),
          "prevPos " + d.getPrevPos() + " of " + d.getPos() + " at " + i);
      last = d.getPos();
    }
  }

  /** {@code n} messages from {@code from} into {@code thread}, each confirmed. */
  public static void sendAll(Phone from, long thread, String prefix, int n) throws Exception {
    List<CompletableFuture<Delta>> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      sent.add(from.device.send(thread, prefix + " " + i));
    }
    for (CompletableFuture<Delta> f : sent) {
      f.get(60, TimeUnit.SECONDS);
    }
  }

  /** How many applied messages have exactly this text. */
  public static long count(Phone p, String text) {
    return p.applied.stream()
        .filter(d -> d.getBody().isSetNewMessage())
        .filter(d -> text.equals(d.getBody().getNewMessage().getText()))
        .count();
  }
}
