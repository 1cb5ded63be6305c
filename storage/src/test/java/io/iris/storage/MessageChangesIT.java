package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.Message;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.protocol.thrift.ThreadSummary;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Edits, deletes, reactions and attachments (issue 20) read by {@link SnapshotService} from the
 * tables V7's triggers keep, held to {@link SnapshotBuilder}'s replay, whatever order and however
 * many times the rows reach MySQL. Delivery updates (V8) change nothing a snapshot shows.
 */
class MessageChangesIT {
  static final String EPOCH = SnapshotServiceIT.EPOCH;
  static final int USERS = 6;
  static final int THREADS = 4;

  SnapshotService snapshots;

  @BeforeEach
  void setUp() throws Exception {
    TestDatabase.truncate();
    snapshots = new SnapshotService(TestDatabase.get());
  }

  static List<Delta> log(long seed) {
    return LogPositions.assign(
        MessageChanges.generate(seed, USERS, THREADS, 700), SnapshotServiceIT.PARTITIONS, seed);
  }

  /** Each user's snapshot equals the replay of all the user's deltas; returns them (no time). */
  List<Snapshot> assertEveryUserMatchesTheReplay(List<Delta> log, int maxThreads, int perThread)
      throws Exception {
    List<Snapshot> out = new ArrayList<>();
    for (var e : LogPositions.byUser(log).entrySet()) {
      long user = e.getKey();
      Snapshot s = snapshots.snapshot(user, maxThreads, perThread, -1, EPOCH);
      assertEquals(
          SnapshotServiceIT.reference(user, e.getValue(), maxThreads, perThread, -1),
          SnapshotServiceIT.withoutTime(s),
          "user " + user);
      out.add(SnapshotServiceIT.withoutTime(s));
    }
    return out;
  }

  static List<Message> messages(List<Snapshot> snapshots) {
    return snapshots.stream()
        .flatMap(s -> s.getThreads().stream())
        .map(ThreadSummary::getLastMessages)
        .flatMap(List::stream)
        .toList();
  }

  @Test
  void shouldMatchAReplayWithEditsDeletesReactionsAndAttachments() throws Exception {
    List<Delta> log = log(11);
    TestDatabase.upsert(log);
    List<Message> shown = messages(assertEveryUserMatchesTheReplay(log, 20, 60));
    // The scenario holds every case, or the comparison above proves little.
    assertTrue(shown.stream().filter(Message::isDeleted).count() > 5, "deleted");
    assertTrue(
        shown.stream().filter(m -> m.isSetEditedAtMs() && !m.isDeleted()).count() > 5, "edited");
    assertTrue(
        shown.stream().filter(m -> m.isSetReactions() && m.getReactionsSize() > 1).count() > 5,
        "several emojis on one message");
    assertTrue(
        shown.stream()
                .filter(m -> m.isSetReactions() && m.getReactions().get(0).getCount() > 1)
                .count()
            > 5,
        "one emoji of several users");
    assertTrue(shown.stream().filter(Message::isSetMyReaction).count() > 5, "my reaction");
    assertTrue(
        shown.stream().filter(m -> m.isSetAttachments() && m.getAttachments().size() > 1).count()
            > 5,
        "attachments");
    assertTrue(
        shown.stream()
                .filter(m -> m.isSetAttachments())
                .flatMap(m -> m.getAttachments().stream())
                .filter(a -> a.isSetPreview() && a.getPreview().length > 1000)
                .count()
            > 3,
        "previews");
    // Fewer messages per thread than there are: only the last ones' changes are read.
    assertEveryUserMatchesTheReplay(log, 3, 5);
  }

  @Test
  void shouldGiveTheSameSnapshotWhateverOrderTheRowsArriveIn() throws Exception {
    List<Delta> log = log(12);
    TestDatabase.upsert(log);
    List<Snapshot> inOrder = assertEveryUserMatchesTheReplay(log, 20, 60);

    // Every row of every user in one shuffled transaction.
    TestDatabase.truncate();
    List<Delta> shuffled = new ArrayList<>(log);
    Collections.shuffle(shuffled, new Random(1));
    TestDatabase.upsert(shuffled);
    assertEquals(inOrder, assertEveryUserMatchesTheReplay(log, 20, 60));

    // Reversed, in small transactions, each replayed now and then: an older edit or reaction
    // written after a newer one, a delete before the message it deletes.
    TestDatabase.truncate();
    List<Delta> reversed = new ArrayList<>(log);
    Collections.reverse(reversed);
    Random r = new Random(2);
    for (int from = 0; from < reversed.size(); ) {
      int to = Math.min(reversed.size(), from + 1 + r.nextInt(30));
      List<Delta> batch = new ArrayList<>(reversed.subList(from, to));
      if (from > 0 && r.nextBoolean()) {
        batch.addAll(reversed.subList(Math.max(0, from - 1 - r.nextInt(40)), from));
      }
      Collections.shuffle(batch, r);
      TestDatabase.upsert(batch);
      from = to;
    }
    assertEquals(inOrder, assertEveryUserMatchesTheReplay(log, 20, 60));

    // The whole log once more (the sink rewound): nothing changes.
    TestDatabase.upsert(log);
    assertEquals(inOrder, assertEveryUserMatchesTheReplay(log, 20, 60));
  }

  @Test
  void shouldReflectExactlyTheChangesUpToPosWhileTheSinkWrites() throws Exception {
    // Partitions written in offset order, a batch a transaction, shuffled inside: a snapshot
    // taken between batches reflects the user's deltas up to its pos, changes included.
    List<Delta> log = log(13);
    Map<Integer, List<Delta>> partitions =
        LogPositions.byPartition(log, SnapshotServiceIT.PARTITIONS);
    Map<Long, List<Delta>> users = LogPositions.byUser(log);
    int[] written = new int[SnapshotServiceIT.PARTITIONS];
    Random r = new Random(4);
    int snapshotsTaken = 0;
    while (true) {
      List<Integer> open = new ArrayList<>();
      for (int p = 0; p < written.length; p++) {
        if (written[p] < partitions.get(p).size()) {
          open.add(p);
        }
      }
      if (open.isEmpty()) {
        break;
      }
      int p = open.get(r.nextInt(open.size()));
      List<Delta> part = partitions.get(p);
      int to = Math.min(part.size(), written[p] + 1 + r.nextInt(60));
      List<Delta> batch = new ArrayList<>(part.subList(written[p], to));
      Collections.shuffle(batch, r);
      TestDatabase.upsert(batch);
      written[p] = to;
      for (var e : users.entrySet()) {
        if (LogPositions.partition(e.getKey(), SnapshotServiceIT.PARTITIONS) != p) {
          continue;
        }
        Snapshot s = snapshots.snapshot(e.getKey(), 20, 10, -1, EPOCH);
        List<Delta> upToPos = SnapshotServiceIT.upTo(e.getValue(), s.getPos());
        assertEquals(
            SnapshotServiceIT.reference(e.getKey(), upToPos, 20, 10, -1),
            SnapshotServiceIT.withoutTime(s),
            "user " + e.getKey() + " at " + s.getPos());
        snapshotsTaken++;
      }
    }
    assertTrue(snapshotsTaken > 20, "snapshots: " + snapshotsTaken);
  }

  @Test
  void shouldIgnoreChangesOfMessagesSentWhileTheUserWasAway() throws Exception {
    // User 1 sees messages 1-3, is removed (4-6 are sent without them), added again, sees 7; then
    // a reaction and an edit of message 5 reach them (any member may react to any message).
    List<Delta> mine = new ArrayList<>();
    long[] pos = {0};
    java.util.function.BiConsumer<Long, DeltaBody> add =
        (ts, body) -> mine.add(new Delta(1, 100, ts, body).setPos(pos[0] += 2));
    add.accept(
        1000L, DeltaBody.threadCreated(new ThreadCreated(2, new ArrayList<>(List.of(1L, 2L)))));
    for (long id = 1; id <= 3; id++) {
      add.accept(1000 + id, DeltaBody.newMessage(new NewMessage(id, 2, "m" + id)));
    }
    add.accept(
        2000L,
        DeltaBody.participantsChanged(
            new ParticipantsChanged(2, List.of(), List.of(1L), new ArrayList<>(List.of(2L)))));
    add.accept(
        3000L,
        DeltaBody.participantsChanged(
            new ParticipantsChanged(2, List.of(1L), List.of(), new ArrayList<>(List.of(1L, 2L)))));
    add.accept(3007L, DeltaBody.newMessage(new NewMessage(7, 2, "m7")));
    add.accept(4000L, DeltaBody.reactionChanged(new ReactionChanged(5, 1).setEmoji("\u2764")));
    add.accept(4001L, DeltaBody.messageEdited(new MessageEdited(5, 2, "m5!")));
    add.accept(4002L, DeltaBody.reactionChanged(new ReactionChanged(7, 1).setEmoji("\u2764")));
    TestDatabase.upsert(mine);
    Snapshot s = snapshots.snapshot(1, 20, 20, -1, EPOCH);
    assertEquals(
        SnapshotServiceIT.reference(1, mine, 20, 20, -1), SnapshotServiceIT.withoutTime(s));
    List<Message> shown = s.getThreads().get(0).getLastMessages();
    assertEquals(List.of(1L, 2L, 3L, 7L), shown.stream().map(Message::getMessageId).toList());
    assertEquals("\u2764", shown.get(3).getMyReaction());
    assertEquals(1, TestDatabase.count("SELECT COUNT(*) FROM iris_message_changes"));
  }

  @Test
  void shouldShowNothingOfDeliveryUpdatesButCountTheirPositions() throws Exception {
    List<Delta> log =
        LogPositions.assign(
            MessageChanges.withDeliveryUpdates(
                MessageChanges.generate(14, USERS, THREADS, 400), 14),
            SnapshotServiceIT.PARTITIONS,
            14);
    long updates = log.stream().filter(d -> d.getBody().isSetDeliveryUpdate()).count();
    assertTrue(updates > 50, "delivery updates: " + updates);
    // Reversed, in small shuffled transactions: as for the other kinds, order must not matter.
    List<Delta> reversed = new ArrayList<>(log);
    Collections.reverse(reversed);
    Random r = new Random(5);
    for (int from = 0; from < reversed.size(); ) {
      int to = Math.min(reversed.size(), from + 1 + r.nextInt(30));
      List<Delta> batch = new ArrayList<>(reversed.subList(from, to));
      Collections.shuffle(batch, r);
      TestDatabase.upsert(batch);
      from = to;
    }
    assertEquals(
        updates,
        TestDatabase.count("SELECT COUNT(*) FROM iris_deltas WHERE kind = 'delivery_update'"));

    int lastIsAnUpdate = 0;
    for (int[] limits : new int[][] {{20, 60}, {2, 5}}) {
      assertEveryUserMatchesTheReplay(log, limits[0], limits[1]);
      for (var e : LogPositions.byUser(log).entrySet()) {
        long user = e.getKey();
        Snapshot s = snapshots.snapshot(user, limits[0], limits[1], -1, EPOCH);
        List<Delta> without =
            e.getValue().stream().filter(d -> !d.getBody().isSetDeliveryUpdate()).toList();
        // The same snapshot as of the deltas without the updates, at the pos of all of them.
        assertEquals(
            SnapshotServiceIT.reference(user, without, limits[0], limits[1], s.getPos()),
            SnapshotServiceIT.withoutTime(s),
            "user " + user);
        assertEquals(SnapshotServiceIT.last(e.getValue()), s.getPos());
        if (s.getPos() > SnapshotServiceIT.last(without)) {
          lastIsAnUpdate++;
        }
      }
    }
    assertTrue(lastIsAnUpdate > 0, "a user whose last delta is a delivery update");
  }
}
