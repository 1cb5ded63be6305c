package io.iris.systemtests;

import static io.iris.testkit.Waits.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.ConnectClient;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadSummary;
import io.iris.sdk.IrisDevice;
import io.iris.storage.SnapshotBuilder;
import io.iris.testkit.FaultReport;
import io.iris.testkit.Phone;
import io.iris.testkit.TestStacks;
import io.iris.testkit.ThreeWay;
import io.iris.testkit.UserIds;
import io.iris.topics.Names;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Edits, deletes for everyone and reactions are deltas of the same ordered queue as messages, so a
 * device that was away while they happened gets them like any other delta, from whichever tier
 * holds its range, and a snapshot reflects them. Issue 20's check: a tablet offline during an edit,
 * a delete and three reactions comes back from memory, from the log and from MySQL, and a new
 * laptop starts from a snapshot; each ends with the view of the phone that stayed online, and that
 * view is the snapshot MySQL serves.
 *
 * <p>The view compared is the snapshot the reference replay ({@link SnapshotBuilder}) makes of a
 * device's deltas: edited text, deleted messages, reaction counts and the user's own, attachments.
 */
class MessageChangesIT {
  private static final long ANA = UserIds.next();
  private static final long BEN = UserIds.next();
  private static final long THREAD = 8_890_101;
  private static final int THREADS = 20;

  /** Every message of the test (the bridge's largest snapshot), so that each change is in view. */
  private static final int ALL_MESSAGES = 200;

  /**
   * How the tablet comes back: the tier expected to serve it, other deltas between, whether the log
   * lost the range (retention) or MySQL never got it (the sink stopped).
   */
  private record Spell(String tier, int fillers, boolean pastRetention, boolean sinkStopped) {}

  @Test
  void aDeviceAwayDuringEditsDeletesAndReactionsShouldEndWithTheOnlineView() throws Exception {
    Path dir = TestStacks.newDataDir("message-changes");
    IrisStack stack = new IrisStack(new IrisConfig(TestStacks.ephemeralConfig(dir)));
    stack.preflight();
    stack.start(line -> {});
    List<Phone> opened = new ArrayList<>();
    try (KafkaProducer<Long, byte[]> producer = TestStacks.commandProducer(stack)) {
      String phoneToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "phone");
      String tabletToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "tablet");
      String laptopToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "laptop");
      TestStacks.awaitRegistered(stack, 3);
      Phone phone = Phone.open(stack, ANA, "phone", phoneToken);
      Phone tablet = Phone.open(stack, ANA, "tablet", tabletToken);
      opened.add(phone);
      opened.add(tablet);
      TestStacks.createThread(producer, THREAD, List.of(BEN, ANA), "changes-create", "changes");
      producer.flush();
      awaitCount(phone, 1);
      awaitCount(tablet, 1);

      ConnectClient sink = new ConnectClient(stack.connectUrl());
      List<String> outcomes = new ArrayList<>();
      int[] sent = {0};
      for (Spell spell :
          List.of(
              new Spell("memory", 0, false, false),
              // Beyond the 64 deltas memory keeps of a user, MySQL without them: the log.
              new Spell("log", 80, false, true),
              // Beyond memory, the log's start past them: MySQL.
              new Spell("storage", 80, true, false))) {
        // Two messages of Ana's, with an attachment each, that both devices hold.
        long edited = send(phone, "to be edited (" + spell.tier() + ")");
        long deleted = send(phone, "to be deleted (" + spell.tier() + ")");
        long reacted = benSends(producer, sent, phone, "react to this (" + spell.tier() + ")");
        awaitView(tablet, phone);

        if (spell.sinkStopped()) {
          sink.stop(Names.SINK_CONNECTOR);
          sink.awaitStopped(Names.SINK_CONNECTOR, Duration.ofSeconds(60));
        }
        Map<String, Long> before = TestStacks.tierCounts(stack);
        IrisDevice.Position away = tablet.position();
        int have = phone.applied.size();
        tablet.device.close();
        fillers(producer, sent, spell.fillers() / 2);
        phone.device.command(THREAD, edit(edited, "edited while the tablet was away")).get();
        phone.device.command(THREAD, CommandBody.deleteMessage(new DeleteMessage(deleted))).get();
        fillers(producer, sent, spell.fillers() / 2);
        benReacts(producer, sent, reacted, "👍");
        phone.device.command(THREAD, react(reacted, "❤️")).get();
        benReacts(producer, sent, reacted, "😂");
        benReacts(producer, sent, edited, "🎉");
        producer.flush();
        int changes = 6; // an edit, a delete, four reactions (Ben's first replaced by his second)
        awaitCount(phone, have + spell.fillers() + changes);
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
        assertTrue(
            java.util.Arrays.stream(spell.tier().split("\\|"))
                .anyMatch(tier -> served.getOrDefault("deltas-" + tier, 0L) > 0),
            spell.tier() + ": served from " + served);
        Phone.assertChained(back.applied, away.lastPos());
        assertEquals(
            phone.applied.subList(have, phone.applied.size()).stream()
                .map(ThreeWay::describe)
                .toList(),
            back.applied.stream().map(ThreeWay::describe).toList(),
            spell.tier() + ": the tablet's deltas are the phone's");
        if (spell.sinkStopped()) {
          sink.resume(Names.SINK_CONNECTOR);
        }
        back.applied.addAll(0, tablet.applied);
        tablet = back;
        assertEquals(view(phone), view(tablet), spell.tier() + ": the tablet's view");
        Message m = message(view(phone), edited);
        assertEquals("edited while the tablet was away", m.getText());
        assertTrue(m.isSetEditedAtMs() && m.getAttachmentsSize() == 1, "edited, attachment kept");
        assertTrue(message(view(phone), deleted).isDeleted(), "deleted");
        Message r = message(view(phone), reacted);
        assertEquals("❤️", r.getMyReaction());
        assertEquals(2, r.getReactionsSize(), "Ben's 👍 replaced by 😂: " + r.getReactions());
        outcomes.add(
            String.format(
                "%s in %,d ms (%s)", spell.tier(), caughtUpMs, TestStacks.describeServed(served)));
      }

      // A new laptop starts from a snapshot: MySQL's view of everything above.
      long head = phone.lastApplied();
      TestStacks.truncateLogOnceStored(stack, ANA, head);
      Phone laptop = Phone.open(stack, ANA, "laptop", laptopToken, IrisDevice.Position.NONE);
      opened.add(laptop);
      await("the laptop's snapshot", () -> !laptop.snapshots.isEmpty());
      Snapshot snap = laptop.snapshots.get(0);
      assertTrue(snap.getPos() >= head, "snapshot at " + snap.getPos() + ", head " + head);
      assertEquals(
          view(phone, 20), snap.getThreads(), "the first snapshot is the online phone's view");
      Snapshot all = laptop.device.snapshot(THREADS, ALL_MESSAGES).get();
      assertEquals(
          view(phone, ALL_MESSAGES), all.getThreads(), "every message, as the online phone has it");

      Phone.assertChained(phone.applied, -1);
      ThreeWay.checkMysql(stack, ANA, phone.applied);
      System.out.println("message changes: " + String.join("; ", outcomes));
      FaultReport.row(
          "a device offline during an edit, a delete and reactions",
          "edit, delete for everyone, 4 reactions (one replaced), attachments; 0-80 other deltas",
          String.join("; ", outcomes) + "; a new device from a snapshot",
          "0 (the tablet's and the laptop's views equal the phone's; the phone = MySQL)",
          "0 (position chains unbroken)",
          "caught up from memory, the log and MySQL; the snapshot shows the changes");
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

  /** Ana's phone sends a message with one attachment; its id. */
  private static long send(Phone phone, String text) throws Exception {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    Attachment photo =
        new Attachment(
                "image/jpeg",
                bytes.length,
                java.nio.ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(bytes)),
                "blob:" + Math.abs(text.hashCode()))
            .setWidth(640)
            .setHeight(480)
            .setPreview(new byte[] {1, 2, 3});
    Delta own =
        phone
            .device
            .command(
                THREAD,
                CommandBody.sendMessage(new SendMessage(text).setAttachments(List.of(photo))))
            .get();
    return own.getBody().getNewMessage().getMessageId();
  }

  /** Ben sends {@code text}; its message id, once Ana's phone has it. */
  private static long benSends(
      KafkaProducer<Long, byte[]> producer, int[] sent, Phone phone, String text)
      throws InterruptedException {
    ben(producer, sent, CommandBody.sendMessage(new SendMessage(text)));
    producer.flush();
    await("Ben's \"" + text + "\" on " + phone.device, () -> idOf(phone, text) > 0);
    return idOf(phone, text);
  }

  private static long idOf(Phone phone, String text) {
    return phone.applied.stream()
        .filter(d -> d.getBody().isSetNewMessage())
        .map(d -> d.getBody().getNewMessage())
        .filter(m -> m.getText().equals(text))
        .mapToLong(m -> m.getMessageId())
        .findFirst()
        .orElse(0);
  }

  private static void fillers(KafkaProducer<Long, byte[]> producer, int[] sent, int n) {
    for (int i = 0; i < n; i++) {
      ben(producer, sent, CommandBody.sendMessage(new SendMessage("filler " + sent[0])));
    }
  }

  private static void benReacts(
      KafkaProducer<Long, byte[]> producer, int[] sent, long messageId, String emoji) {
    ben(producer, sent, react(messageId, emoji));
  }

  private static void ben(KafkaProducer<Long, byte[]> producer, int[] sent, CommandBody body) {
    TestStacks.sendCommand(
        producer,
        new ClientCommand(
            BEN, "d" + BEN, "ben-" + sent[0]++, THREAD, System.currentTimeMillis(), body));
  }

  private static CommandBody edit(long messageId, String text) {
    return CommandBody.editMessage(new EditMessage(messageId, text));
  }

  private static CommandBody react(long messageId, String emoji) {
    return CommandBody.react(new React(messageId).setEmoji(emoji));
  }

  /** The snapshot the reference replay makes of everything {@code p} applied. */
  private static List<ThreadSummary> view(Phone p) {
    return view(p, ALL_MESSAGES);
  }

  private static List<ThreadSummary> view(Phone p, int messagesPerThread) {
    SnapshotBuilder b = new SnapshotBuilder(ANA);
    p.applied.forEach(b::apply);
    return b.build(THREADS, messagesPerThread, 0, -1, "").getThreads();
  }

  private static Message message(List<ThreadSummary> view, long messageId) {
    return view.stream()
        .filter(t -> t.getThreadId() == THREAD)
        .flatMap(t -> t.getLastMessages().stream())
        .filter(m -> m.getMessageId() == messageId)
        .findFirst()
        .orElseThrow(() -> new AssertionError("message " + messageId + " not in the view"));
  }

  private static void awaitView(Phone a, Phone b) throws InterruptedException {
    await(a.device + " at " + b.device, () -> a.device.lastPos() >= b.lastApplied());
  }

  private static void awaitCount(Phone p, int n) throws InterruptedException {
    await(p.device + " with " + n + " deltas", () -> p.applied.size() >= n);
  }
}
