package io.iris.systemtests;

import static io.iris.testkit.Waits.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.ThreeWay;
import io.iris.testkit.UserIds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Delivery receipts end to end: the receiving devices' SDKs put delivered marks on their acks, the
 * bridge writes them as commands, the thread's task batches them, and the sender's device learns,
 * per device of each member, how far it holds the thread; members who sent nothing hear nothing of
 * it. The sender's queue with its receipts is the same on the device, in iris.log and in MySQL.
 */
class DeliveryReceiptsIT {
  private static final long BEN = UserIds.next();
  private static final long ANA = UserIds.next();
  private static final long CAROL = UserIds.next();

  @Test
  void shouldTellTheSenderWhichDevicesOfEachMemberHoldItsMessages() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String benToken = DeviceRegistry.register(stack.bootstrapServers(), BEN, "phone");
    String anaPhoneToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "phone");
    String anaTabletToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "tablet");
    String carolToken = DeviceRegistry.register(stack.bootstrapServers(), CAROL, "phone");
    TestStacks.awaitRegistered(stack, before + 4);
    Phone ben = Phone.open(stack, BEN, "phone", benToken, Phone.start(stack), true);
    Phone anaPhone = Phone.open(stack, ANA, "phone", anaPhoneToken, Phone.start(stack), true);
    Phone anaTablet = Phone.open(stack, ANA, "tablet", anaTabletToken, Phone.start(stack), true);
    Phone carol = Phone.open(stack, CAROL, "phone", carolToken, Phone.start(stack), true);
    List<Phone> phones = List.of(ben, anaPhone, anaTablet, carol);
    try {
      Delta created = ben.device.createThread(List.of(ANA, CAROL), "receipts").get();
      long thread = created.getThreadId();
      long last = 0;
      for (int i = 0; i < 3; i++) {
        last =
            ben.device.send(thread, "receipt " + i).get().getBody().getNewMessage().getMessageId();
      }
      long lastMessage = last;
      Map<String, Long> expected =
          Map.of(
              ANA + ":phone",
              lastMessage,
              ANA + ":tablet",
              lastMessage,
              CAROL + ":phone",
              lastMessage);
      await(
          "Ben told that every device of Ana and Carol holds message " + lastMessage,
          () -> new TreeMap<>(expected).equals(marks(ben, thread)));

      for (Phone silent : List.of(anaPhone, anaTablet, carol)) {
        assertTrue(
            updates(silent).isEmpty(),
            "a member who sent nothing gets no receipts: " + updates(silent));
      }
      List<Delta> updates = updates(ben);
      // Three devices acknowledge three messages, each ack at most one mark per thread: without
      // batching Ben would get up to nine updates; within one batch interval they are one.
      assertTrue(
          updates.size() <= 6, "batched: " + updates.size() + " updates for 9 marks: " + updates);
      for (Delta u : updates) {
        assertEquals(thread, u.getThreadId());
      }
      Phone.assertChained(ben.applied, -1);
      ThreeWay.checkMysql(stack, BEN, ben.applied);
      System.out.printf(
          "delivery receipts: %d marks reached Ben in %d DeliveryUpdate deltas%n",
          updates.stream().mapToInt(u -> u.getBody().getDeliveryUpdate().getDeliveriesSize()).sum(),
          updates.size());
    } finally {
      for (Phone p : phones) {
        p.device.close();
      }
    }
  }

  private static List<Delta> updates(Phone p) {
    List<Delta> out = new ArrayList<>();
    for (Delta d : p.applied) {
      if (d.getBody().isSetDeliveryUpdate()) {
        out.add(d);
      }
    }
    return out;
  }

  /** Each device's highest mark in {@code thread}, as the receipts {@code p} applied say. */
  private static Map<String, Long> marks(Phone p, long thread) {
    Map<String, Long> m = new TreeMap<>();
    for (Delta d : updates(p)) {
      if (d.getThreadId() != thread) {
        continue;
      }
      for (DeviceDelivery dd : d.getBody().getDeliveryUpdate().getDeliveries()) {
        m.merge(dd.getUserId() + ":" + dd.getDeviceId(), dd.getUpToMessageId(), Math::max);
      }
    }
    return m;
  }
}
