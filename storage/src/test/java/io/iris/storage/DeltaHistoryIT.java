package io.iris.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ThreadCreated;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A user's stored deltas read back by position from a real MariaDB. */
class DeltaHistoryIT {
  DeltaHistory history;

  @BeforeEach
  void setUp() throws Exception {
    TestDatabase.truncate();
    history = new DeltaHistory(TestDatabase.get());
  }

  static Delta created(long user, long pos, long thread, List<Long> members) {
    return new Delta(
            user,
            thread,
            1000 + pos,
            DeltaBody.threadCreated(
                new ThreadCreated(members.get(0), new ArrayList<>(members)).setName("t" + thread)))
        .setPos(pos);
  }

  static Delta message(long user, long pos, long thread, long id) {
    return new Delta(
            user, thread, 1000 + pos, DeltaBody.newMessage(new NewMessage(id, 2, "m" + id)))
        .setPos(pos);
  }

  static Delta served(Delta d, long prevPos) {
    return d.deepCopy().setPrevPos(prevPos);
  }

  /** User 1 at 10, 13 and 40; users 2 and 3 of the same partition in between, and at 0. */
  static List<Delta> sample() {
    return List.of(
        message(3, 0, 300, 1),
        created(1, 10, 100, List.of(2L, 1L)),
        created(2, 11, 100, List.of(2L, 1L)),
        message(2, 12, 100, 1),
        message(1, 13, 100, 1),
        message(2, 39, 100, 2),
        message(1, 40, 100, 2),
        message(2, 41, 100, 3));
  }

  @Test
  void shouldServeNonContiguousPositionsWithPrevPosChained() throws Exception {
    List<Delta> s = sample();
    TestDatabase.upsert(s);
    Delta at10 = s.get(1);
    Delta at13 = s.get(4);
    Delta at40 = s.get(6);
    assertEquals(
        List.of(served(at10, -1), served(at13, 10), served(at40, 13)),
        history.range(1, -1, -1, 100),
        "everything: the first's prevPos is afterPos");
    assertEquals(List.of(served(at13, 11)), history.range(1, 11, 39, 100), "(11, 39]");
    assertEquals(List.of(served(at13, 10)), history.range(1, 10, 13, 100), "through is inclusive");
    assertEquals(List.of(served(at10, 5), served(at13, 10)), history.range(1, 5, -1, 2), "a page");
    assertEquals(List.of(served(at40, 13)), history.range(1, 13, -1, 2), "the next page");
    assertEquals(List.of(), history.range(1, 40, -1, 100));
    assertEquals(List.of(), history.range(1, 13, 39, 100), "nothing of user 1 in (13, 39]");
    assertEquals(List.of(served(s.get(0), -1)), history.range(3, -1, 0, 100), "0 is a position");

    assertEquals(3, history.countAfter(1, -1));
    assertEquals(2, history.countAfter(1, 10));
    assertEquals(1, history.countAfter(1, 39));
    assertEquals(0, history.countAfter(1, 40));
    assertEquals(0, history.countAfter(9, -1));

    assertEquals(40, history.maxPosition(1));
    assertEquals(41, history.maxPosition(2));
    assertEquals(0, history.maxPosition(3));
    assertEquals(-1, history.maxPosition(9), "no rows");

    assertEquals(List.of(2L, 1L), history.membersIfMember(1, 100));
    assertEquals(List.of(), history.membersIfMember(3, 300), "a message without its creation");
  }

  @Test
  void shouldForgetAMemberWhoLeft() throws Exception {
    TestDatabase.upsert(
        List.of(
            created(1, 10, 100, List.of(2L, 1L, 3L)),
            new Delta(
                    1,
                    100,
                    2000,
                    DeltaBody.participantsChanged(
                        new ParticipantsChanged(2, List.of(), List.of(1L), List.of(2L, 3L))))
                .setPos(17)));
    assertEquals(List.of(), history.membersIfMember(1, 100));
  }

  @Test
  void shouldPageAUsersHistoryInPositionOrder() throws Exception {
    List<Delta> log =
        LogPositions.assign(Conversations.generate(5, 4, 4, 200), SnapshotServiceIT.PARTITIONS, 5);
    TestDatabase.upsert(log);
    long user = log.get(0).getUserId();
    List<Delta> mine = LogPositions.byUser(log).get(user);
    long after = mine.get(4).getPos();
    List<Delta> page = history.range(user, after, -1, 3);
    assertEquals(
        List.of(
            served(mine.get(5), after),
            served(mine.get(6), mine.get(5).getPos()),
            served(mine.get(7), mine.get(6).getPos())),
        page);
    assertEquals(
        page.subList(0, 2),
        history.range(user, after, mine.get(6).getPos(), 100),
        "a gap repair asks for exactly a range");
    assertEquals(mine.size() - 5, history.countAfter(user, after));
    assertEquals(mine.get(mine.size() - 1).getPos(), history.maxPosition(user));
    List<Delta> all = new ArrayList<>();
    long last = -1;
    while (true) {
      List<Delta> next = history.range(user, last, -1, 7);
      if (next.isEmpty()) {
        break;
      }
      assertEquals(last, next.get(0).getPrevPos());
      all.addAll(next);
      last = next.get(next.size() - 1).getPos();
    }
    List<Delta> expected = new ArrayList<>();
    long prev = -1;
    for (Delta d : mine) {
      expected.add(served(d, prev));
      prev = d.getPos();
    }
    assertEquals(expected, all);
  }

  @Test
  void shouldRefuseToStoreADeltaWithoutItsPosition() throws Exception {
    List<Delta> s = new ArrayList<>(sample());
    s.set(3, s.get(3).deepCopy().setPos(0));
    s.get(3).unsetPos();
    try (Connection c = TestDatabase.get().getConnection()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> DeltaRows.upsert(c, s, 100));
      assertTrue(e.getMessage().contains("has no pos"), e.getMessage());
      assertTrue(e.getMessage().contains("offset"), e.getMessage());
    }
    assertEquals(0, TestDatabase.count("SELECT COUNT(*) FROM iris_deltas"), "nothing written");
  }

  @Test
  void shouldServeTheNewKindsExactlyAsTheyWereWritten() throws Exception {
    List<Delta> log =
        LogPositions.assign(
            MessageChanges.generate(21, 4, 2, 300), SnapshotServiceIT.PARTITIONS, 21);
    TestDatabase.upsert(log);
    for (var e : LogPositions.byUser(log).entrySet()) {
      List<Delta> expected = new ArrayList<>();
      long prev = -1;
      for (Delta d : e.getValue()) {
        expected.add(served(d, prev));
        prev = d.getPos();
      }
      assertEquals(expected, history.range(e.getKey(), -1, -1, 10_000), "user " + e.getKey());
    }
    for (String kind :
        List.of("message_edited", "message_deleted", "reaction_changed", "command_rejected")) {
      assertTrue(
          TestDatabase.count("SELECT COUNT(*) FROM iris_deltas WHERE kind = '" + kind + "'") > 0,
          kind);
    }
    assertTrue(
        TestDatabase.count("SELECT COUNT(*) FROM iris_deltas WHERE attachments IS NOT NULL") > 0);
    assertTrue(TestDatabase.count("SELECT COUNT(*) FROM iris_deltas WHERE rule IS NOT NULL") > 0);
    // A data engineer reads the attachments' JSON with MySQL's own functions.
    assertTrue(
        TestDatabase.count(
                "SELECT COUNT(*) FROM iris_deltas WHERE JSON_VALUE(attachments, '$[2].\"4\".str')"
                    + " LIKE 'blob:%'")
            > 0);
  }

  @Test
  void shouldServeDeliveryUpdatesExactlyAsTheyWereWritten() throws Exception {
    List<Delta> log =
        LogPositions.assign(
            MessageChanges.withDeliveryUpdates(MessageChanges.generate(22, 4, 2, 300), 22),
            SnapshotServiceIT.PARTITIONS,
            22);
    // And one of a big thread: more than TEXT's 64 KiB of marks, ids at their extremes.
    List<DeviceDelivery> many = new ArrayList<>();
    for (int i = 0; i < 1500; i++) {
      many.add(new DeviceDelivery(1000 + i, "device-" + "x".repeat(60) + i, Long.MAX_VALUE - i));
    }
    long after = log.stream().mapToLong(Delta::getPos).max().orElseThrow();
    List<Delta> all = new ArrayList<>(log);
    all.add(
        new Delta(1, 9, 1_900_000_000_000L, DeltaBody.deliveryUpdate(new DeliveryUpdate(many)))
            .setPos(after + 1));
    TestDatabase.upsert(all);
    assertTrue(
        TestDatabase.count(
                "SELECT MAX(LENGTH(deliveries)) FROM iris_deltas WHERE kind = 'delivery_update'")
            > 65_535);
    for (var e : LogPositions.byUser(all).entrySet()) {
      List<Delta> expected = new ArrayList<>();
      long prev = -1;
      for (Delta d : e.getValue()) {
        expected.add(served(d, prev));
        prev = d.getPos();
      }
      assertEquals(expected, history.range(e.getKey(), -1, -1, 10_000), "user " + e.getKey());
    }
    long updates = all.stream().filter(d -> d.getBody().isSetDeliveryUpdate()).count();
    assertTrue(updates > 20, "delivery updates: " + updates);
    assertEquals(
        updates,
        TestDatabase.count(
            "SELECT COUNT(*) FROM iris_deltas WHERE kind = 'delivery_update' AND deliveries IS NOT"
                + " NULL AND actor_user_id IS NULL AND message_id IS NULL"));
    assertEquals(
        0,
        TestDatabase.count(
            "SELECT COUNT(*) FROM iris_deltas WHERE kind <> 'delivery_update' AND deliveries IS"
                + " NOT NULL"));
    // A data engineer reads the marks with MySQL's own JSON functions: the first device's mark.
    assertEquals(
        Long.MAX_VALUE,
        TestDatabase.count(
            "SELECT JSON_VALUE(deliveries, '$[2].\"3\".i64') FROM iris_deltas"
                + " WHERE user_id = 1 AND position = "
                + (after + 1)));
  }
}
