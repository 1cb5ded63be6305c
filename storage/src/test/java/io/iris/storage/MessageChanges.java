package io.iris.storage;

import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.ThreadCreated;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Conversations with edits, deletes, reactions and attachments, fanned out to every member's queue
 * as the streams app does (the client id only in the actor's own delta), without positions (see
 * {@link LogPositions}). Built by hand rather than by the topology, and with what the streams app
 * would refuse (edits and reactions after a delete, deletes of a deleted message, an empty emoji):
 * storage must show the same whatever reaches it.
 */
final class MessageChanges {
  private MessageChanges() {}

  /**
   * Emojis whose order by String.compareTo is not their order by code point (U+FF01 and the
   * surrogate pairs), and strings MySQL's padding collations take for equal ("x" and "x ", " " and
   * ""), which the streams app accepts as emojis like any other.
   */
  static final List<String> EMOJIS =
      List.of(
          "\uD83D\uDC4D",
          "\u2764\uFE0F",
          "\uD83D\uDE02",
          "\uFF01",
          "\uD83C\uDF89",
          "\uD83D\uDC4D ",
          " ");

  static Attachment attachment(Random r, int i) {
    byte[] sha = new byte[32];
    r.nextBytes(sha);
    Attachment a =
        new Attachment("image/jpeg", r.nextInt(1 << 20), ByteBuffer.wrap(sha), "blob:" + i);
    if (r.nextBoolean()) {
      byte[] preview = new byte[r.nextInt(2049)];
      r.nextBytes(preview);
      a.setPreview(preview).setWidth(r.nextInt(4000)).setHeight(r.nextInt(4000));
    }
    if (r.nextBoolean()) {
      a.setName("file " + i + ".jpg");
    }
    return a;
  }

  /**
   * Every delta, in iris.log order: {@code threads} threads of 3 or 4 of {@code users} users, then
   * {@code events} sends, edits, deletes, reactions, read marks and a rejection now and then.
   */
  static List<Delta> generate(long seed, int users, int threads, int events) {
    Random r = new Random(seed);
    List<Delta> out = new ArrayList<>();
    Map<Long, List<Long>> members = new HashMap<>();
    Map<Long, List<long[]>> messages = new HashMap<>(); // per thread: {id, sender}
    long ts = 1_800_000_000_000L;
    int clientIds = 0;
    for (long t = 1; t <= threads; t++) {
      List<Long> m = new ArrayList<>();
      while (m.size() < 3 + r.nextInt(2)) {
        long u = 1 + r.nextInt(users);
        if (!m.contains(u)) {
          m.add(u);
        }
      }
      members.put(t, m);
      messages.put(t, new ArrayList<>());
      ts += 1000;
      String client = "c" + clientIds++;
      for (long u : m) {
        ThreadCreated c = new ThreadCreated(m.get(0), new ArrayList<>(m)).setName("thread " + t);
        out.add(
            new Delta(
                u, t, ts, DeltaBody.threadCreated(u == m.get(0) ? c.setClientId(client) : c)));
      }
    }
    for (int i = 0; i < events; i++) {
      ts += 1 + r.nextInt(5000);
      long t = 1 + r.nextInt(threads);
      List<Long> m = members.get(t);
      List<long[]> sent = messages.get(t);
      long actor = m.get(r.nextInt(m.size()));
      String client = "c" + clientIds++;
      int dice = r.nextInt(100);
      if (dice < 35 || sent.isEmpty()) {
        long id = sent.size() + 1;
        sent.add(new long[] {id, actor});
        List<Attachment> attachments = new ArrayList<>();
        int n = r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 0;
        for (int a = 0; a < n; a++) {
          attachments.add(attachment(r, i * 10 + a));
        }
        for (long u : m) {
          NewMessage nm = new NewMessage(id, actor, n > 0 && r.nextBoolean() ? "" : "message " + i);
          if (n > 0) {
            nm.setAttachments(attachments);
          }
          if (u == actor) {
            nm.setClientId(client).setSenderDeviceId("d" + actor);
          }
          out.add(new Delta(u, t, ts, DeltaBody.newMessage(nm)));
        }
        continue;
      }
      long[] target = sent.get(sent.size() - 1 - r.nextInt(Math.min(sent.size(), 8)));
      long id = target[0];
      long sender = target[1];
      if (dice < 50) {
        for (long u : m) {
          MessageEdited e = new MessageEdited(id, sender, "edit " + i);
          out.add(
              new Delta(
                  u, t, ts, DeltaBody.messageEdited(u == sender ? e.setClientId(client) : e)));
        }
      } else if (dice < 57) {
        for (long u : m) {
          MessageDeleted d = new MessageDeleted(id, sender);
          out.add(
              new Delta(
                  u, t, ts, DeltaBody.messageDeleted(u == sender ? d.setClientId(client) : d)));
        }
      } else if (dice < 92) {
        int e = r.nextInt(EMOJIS.size() + 2);
        for (long u : m) {
          ReactionChanged c = new ReactionChanged(id, actor);
          if (e < EMOJIS.size()) {
            c.setEmoji(EMOJIS.get(e));
          } else if (e == EMOJIS.size()) {
            c.setEmoji(""); // the same as none
          }
          out.add(
              new Delta(
                  u, t, ts, DeltaBody.reactionChanged(u == actor ? c.setClientId(client) : c)));
        }
      } else if (dice < 97) {
        for (long u : m) {
          ReadReceipt rr = new ReadReceipt(actor, id);
          out.add(
              new Delta(u, t, ts, DeltaBody.readReceipt(u == actor ? rr.setClientId(client) : rr)));
        }
      } else {
        out.add(
            new Delta(
                actor,
                t,
                ts,
                DeltaBody.commandRejected(
                    new CommandRejected(client, ErrorCode.UNAUTHORISED, "not the sender")
                        .setRule("NOT_THE_SENDER"))));
      }
    }
    return out;
  }

  /**
   * {@code log} (as {@link #generate} gives it, without positions) with DeliveryUpdate deltas
   * between its events, as the streams app's flushes put them: now and then one thread's pending
   * device marks (one to four, any member's devices, the recipient's own included), to each member
   * who has sent a message of the thread, at a server time after everything of the thread so far
   * (the flush time: counted as activity, it would reorder the inbox). Once more at the end, so
   * that some user's last delta is one.
   */
  static List<Delta> withDeliveryUpdates(List<Delta> log, long seed) {
    Random r = new Random(seed);
    Map<Long, List<Long>> members = new HashMap<>();
    Map<Long, Map<Long, Long>> lastSentBy = new LinkedHashMap<>(); // thread -> sender -> id
    List<Delta> out = new ArrayList<>();
    for (int i = 0; i < log.size(); i++) {
      Delta d = log.get(i);
      // An event's deltas share its server time: flush only between events.
      if (i > 0
          && log.get(i - 1).getServerTimestampMs() != d.getServerTimestampMs()
          && r.nextInt(4) == 0) {
        flush(r, members, lastSentBy, log.get(i - 1).getServerTimestampMs() + 1, out);
      }
      out.add(d);
      DeltaBody b = d.getBody();
      if (b.isSetThreadCreated()) {
        members.putIfAbsent(d.getThreadId(), b.getThreadCreated().getParticipantUserIds());
      } else if (b.isSetNewMessage()) {
        lastSentBy
            .computeIfAbsent(d.getThreadId(), k -> new HashMap<>())
            .put(b.getNewMessage().getSenderUserId(), b.getNewMessage().getMessageId());
      }
    }
    if (!log.isEmpty()) {
      flush(r, members, lastSentBy, log.get(log.size() - 1).getServerTimestampMs() + 1, out);
    }
    return out;
  }

  private static void flush(
      Random r,
      Map<Long, List<Long>> members,
      Map<Long, Map<Long, Long>> lastSentBy,
      long ts,
      List<Delta> out) {
    if (lastSentBy.isEmpty()) {
      return;
    }
    List<Long> threads = new ArrayList<>(lastSentBy.keySet());
    long t = threads.get(r.nextInt(threads.size()));
    long last = lastSentBy.get(t).values().stream().mapToLong(Long::longValue).max().orElse(1);
    List<Long> m = members.get(t);
    List<DeviceDelivery> marks = new ArrayList<>();
    for (int n = 1 + r.nextInt(4); n > 0; n--) {
      long u = m.get(r.nextInt(m.size()));
      marks.add(
          new DeviceDelivery(u, r.nextBoolean() ? "d" + u : "tablet", 1 + r.nextInt((int) last)));
    }
    for (long recipient : m) {
      if (lastSentBy.get(t).containsKey(recipient)) {
        out.add(
            new Delta(
                recipient,
                t,
                ts,
                DeltaBody.deliveryUpdate(new DeliveryUpdate(new ArrayList<>(marks)))));
      }
    }
  }
}
