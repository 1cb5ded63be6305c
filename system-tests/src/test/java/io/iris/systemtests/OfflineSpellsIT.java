package io.iris.systemtests;

import static io.iris.testkit.Waits.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.SendMessage;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.FaultReport;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.ThreeWay;
import io.iris.testkit.UserIds;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * A tablet away for a simulated hour, a day, three days of which iris.log no longer holds the start
 * (retention), and a week, on a stack of its own with the production defaults of every catch-up
 * tier (newest 64 deltas per user in memory, MySQL below the storage pointer, the log from the
 * device's position, a resnapshot beyond 5,000 deltas). Simulated time: the user gets a message a
 * minute (a busy user; every delta carries its simulated time), so an hour is 60 deltas, a day
 * 1,440, three days 4,320 and a week 10,080, sent by the other member as fast as the pipeline takes
 * them.
 *
 * <p>After each spell the tablet must come back from the cheapest tier that holds its range, or be
 * told to resnapshot and take the snapshot, and end equal to the phone that stayed online; the
 * phone must equal MySQL.
 */
class OfflineSpellsIT {
  private static final long ANA = UserIds.next();
  private static final long BEN = UserIds.next();
  private static final long THREAD = 8_890_001;
  private static final long MINUTE_MS = 60_000;
  private static final int HOUR = 60;

  private record Spell(String name, int deltas, boolean pastRetention, String expectedTier) {}

  @Test
  void aDeviceAwayAnHourADayPastRetentionAndAWeekShouldEndComplete() throws Exception {
    Path dir = TestStacks.newDataDir("offline-spells");
    IrisStack stack = new IrisStack(new IrisConfig(TestStacks.ephemeralConfig(dir)));
    stack.preflight();
    stack.start(line -> {});
    List<Phone> opened = new ArrayList<>();
    try (KafkaProducer<Long, byte[]> producer = TestStacks.commandProducer(stack)) {
      String phoneToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "phone");
      String tabletToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "tablet");
      TestStacks.awaitRegistered(stack, 2);
      Phone phone = Phone.open(stack, ANA, "phone", phoneToken);
      Phone tablet = Phone.open(stack, ANA, "tablet", tabletToken);
      opened.add(phone);
      opened.add(tablet);
      // Simulated clock: starts 11 days ago, a minute per message.
      long[] clock = {System.currentTimeMillis() - 11L * 24 * HOUR * MINUTE_MS};
      TestStacks.createThread(producer, THREAD, List.of(BEN, ANA), "spells-create", "spells");
      producer.flush();
      awaitCount(phone, 1);
      awaitCount(tablet, 1);

      List<Spell> spells =
          List.of(
              new Spell("an hour", HOUR, false, "memory"),
              // Beyond memory: MySQL below the storage pointer, the log above it (the tablet comes
              // back the moment the last send is in, before the sink has committed it all).
              new Spell("a day", 24 * HOUR, false, "storage|log"),
              new Spell("three days, the log's retention past", 3 * 24 * HOUR, true, "storage"),
              new Spell("a week", 7 * 24 * HOUR, false, "resnapshot"));
      List<String> outcomes = new ArrayList<>();
      int sent = 0;
      for (Spell spell : spells) {
        Map<String, Long> before = TestStacks.tierCounts(stack);
        tablet.device.close();
        IrisDevice.Position away = tablet.position();
        int have = phone.applied.size();
        for (int i = 0; i < spell.deltas(); i++) {
          clock[0] += MINUTE_MS;
          TestStacks.sendCommand(
              producer,
              new ClientCommand(
                  BEN,
                  "d" + BEN,
                  "spell-" + sent++,
                  THREAD,
                  clock[0],
                  CommandBody.sendMessage(new SendMessage("minute " + sent))));
        }
        producer.flush();
        int headCount = have + spell.deltas();
        awaitCount(phone, headCount);
        long head = phone.lastApplied();
        if (spell.pastRetention()) {
          TestStacks.truncateLogOnceStored(stack, ANA, head);
        }
        long t0 = System.nanoTime();
        Phone back = Phone.open(stack, ANA, "tablet", tabletToken, away);
        opened.add(back);
        await(back.device + " at " + head, () -> back.device.lastPos() >= head);
        long caughtUpMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        Map<String, Long> served = TestStacks.servedSince(stack, before);
        if (spell.expectedTier().equals("resnapshot")) {
          assertEquals(1, back.resnapshots.size(), "told to resnapshot once");
          assertTrue(back.resnapshots.get(0).getCatchUpDeltas() >= spell.deltas());
          assertEquals(
              1,
              back.snapshots.size(),
              "took the snapshot: took "
                  + back.snapshots.stream().map(sn -> sn.getEpoch() + "/" + sn.getPos()).toList()
                  + ", head "
                  + head
                  + ", served "
                  + served
                  + ", resnapshot offers "
                  + stack.catchUp().count("resnapshot-required"));
        } else {
          assertTrue(back.resnapshots.isEmpty(), spell.name() + ": no resnapshot");
          assertTrue(
              java.util.Arrays.stream(spell.expectedTier().split("\\|"))
                  .anyMatch(tier -> served.getOrDefault("deltas-" + tier, 0L) > 0),
              spell.name() + " served from " + spell.expectedTier() + ": " + served);
          // Every delta of the spell once, in order, as the phone has it.
          Phone.assertChained(back.applied, away.lastPos());
          assertEquals(
              phone.applied.subList(have, headCount).stream().map(ThreeWay::describe).toList(),
              back.applied.stream().map(ThreeWay::describe).toList(),
              spell.name() + ": the tablet's deltas are the phone's");
        }
        assertTrue(back.last() >= head, "the tablet holds the phone's last delta");
        outcomes.add(
            String.format(
                "%s (%,d deltas): %s in %,d ms",
                spell.name(),
                spell.deltas(),
                spell.expectedTier().equals("resnapshot")
                    ? String.format(
                        "told to resnapshot, took a snapshot at position %,d (head %,d), then %s",
                        back.snapshots.get(0).getPos(),
                        head,
                        served.values().stream().mapToLong(Long::longValue).sum() == 0
                            ? "nothing more"
                            : TestStacks.describeServed(served))
                    : "from " + TestStacks.describeServed(served),
                caughtUpMs));
        tablet = back;
      }
      Phone.assertChained(phone.applied, -1);
      ThreeWay.checkMysql(stack, ANA, phone.applied);
      System.out.println("offline spells: " + String.join("; ", outcomes));
      FaultReport.row(
          "a device offline for a simulated hour, day, three days past retention, week",
          String.format(
              "production tier defaults; a message a minute: %,d messages, the phone online", sent),
          String.join("; ", outcomes),
          "0 (the tablet equals the phone after each return; the phone = MySQL)",
          "0 (position chains unbroken)",
          "caught up from the tier that had the range; told to resnapshot after a week");
    } finally {
      try {
        for (Phone p : opened) {
          p.device.close();
        }
      } finally {
        stack.close();
        TestStacks.delete(dir);
      }
    }
  }

  private static void awaitCount(Phone p, int n) throws InterruptedException {
    await(p.device + " with " + n + " deltas", () -> p.applied.size() >= n);
  }
}
