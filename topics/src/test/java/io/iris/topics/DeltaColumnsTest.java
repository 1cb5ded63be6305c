package io.iris.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Deltas of the kinds of issue 20 (delivery receipts included) through a row and back. */
class DeltaColumnsTest {
  static Delta delta(DeltaBody body) {
    return new Delta(42L, 1001L, 1_700_000_000_000L, body).setPos(77);
  }

  static Map<String, Object> row(Delta d) {
    Map<String, Object> row = new LinkedHashMap<>();
    DeltaColumns.write(d, row::put);
    row.put(DeltaColumns.POSITION, d.getPos());
    return row;
  }

  static Delta roundTrip(Delta d) {
    return DeltaColumns.read(row(d)::get);
  }

  /** Every field set, the binary ones with every byte value, an image's preview. */
  static Attachment full() {
    byte[] sha = new byte[32];
    byte[] preview = new byte[256];
    for (int i = 0; i < preview.length; i++) {
      preview[i] = (byte) i;
    }
    System.arraycopy(preview, 224, sha, 0, 32);
    return new Attachment("image/jpeg", Long.MAX_VALUE, ByteBuffer.wrap(sha), "https://x/\"a\"\\b")
        .setWidth(4032)
        .setHeight(0)
        .setDurationMs(Integer.MAX_VALUE)
        .setPreview(preview)
        .setName("ünïcødé \uD83D\uDCF7\n.jpg");
  }

  /** Only the required fields: the optionals stay unset, not 0 or empty. */
  static Attachment bare() {
    return new Attachment("", 0, ByteBuffer.allocate(0), "u");
  }

  static List<Delta> newKinds() {
    return List.of(
        delta(
            DeltaBody.newMessage(
                new NewMessage(5L, 43L, "")
                    .setClientId("c1")
                    .setAttachments(new ArrayList<>(List.of(full(), bare()))))),
        delta(
            DeltaBody.newMessage(
                new NewMessage(6L, 43L, "empty list").setAttachments(new ArrayList<>()))),
        delta(DeltaBody.messageEdited(new MessageEdited(5L, 43L, "fixed").setClientId("c2"))),
        delta(DeltaBody.messageEdited(new MessageEdited(5L, 43L, ""))),
        delta(DeltaBody.messageDeleted(new MessageDeleted(5L, 43L).setClientId("c3"))),
        delta(DeltaBody.messageDeleted(new MessageDeleted(5L, 43L))),
        delta(
            DeltaBody.reactionChanged(
                new ReactionChanged(5L, 44L)
                    .setEmoji("\uD83D\uDC4D\uD83C\uDFFD")
                    .setClientId("c4"))),
        delta(DeltaBody.reactionChanged(new ReactionChanged(5L, 44L))),
        delta(DeltaBody.reactionChanged(new ReactionChanged(5L, 44L).setEmoji(""))),
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c5", ErrorCode.UNAUTHORISED, "not yours")
                    .setRule("NOT_THE_SENDER"))),
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c6", ErrorCode.NOT_A_MEMBER, "a rejection of before"))));
  }

  @Test
  void shouldRoundTripEveryNewBodyExactly() {
    for (Delta d : newKinds()) {
      assertEquals(d, roundTrip(d), row(d).toString());
    }
  }

  @Test
  void shouldWriteTheNewColumnsOnlyForTheirKinds() {
    List<Delta> kinds = newKinds();
    Map<String, Object> edit = row(kinds.get(2));
    assertEquals("message_edited", edit.get(DeltaColumns.KIND));
    assertEquals(43L, edit.get(DeltaColumns.ACTOR_USER_ID));
    assertEquals(5L, edit.get(DeltaColumns.MESSAGE_ID));
    assertEquals("fixed", edit.get(DeltaColumns.TEXT));
    assertNull(edit.get(DeltaColumns.ATTACHMENTS));
    Map<String, Object> delete = row(kinds.get(4));
    assertEquals("message_deleted", delete.get(DeltaColumns.KIND));
    assertEquals(43L, delete.get(DeltaColumns.ACTOR_USER_ID));
    assertNull(delete.get(DeltaColumns.TEXT));
    Map<String, Object> react = row(kinds.get(6));
    assertEquals("reaction_changed", react.get(DeltaColumns.KIND));
    assertEquals(44L, react.get(DeltaColumns.ACTOR_USER_ID));
    assertEquals("\uD83D\uDC4D\uD83C\uDFFD", react.get(DeltaColumns.EMOJI));
    assertTrue(row(kinds.get(7)).containsKey(DeltaColumns.EMOJI));
    assertNull(row(kinds.get(7)).get(DeltaColumns.EMOJI), "removed: NULL");
    assertEquals("NOT_THE_SENDER", row(kinds.get(9)).get(DeltaColumns.RULE));
    assertNull(row(kinds.get(10)).get(DeltaColumns.RULE));
    assertNull(
        row(delta(DeltaBody.newMessage(new NewMessage(7L, 43L, "plain"))))
            .get(DeltaColumns.ATTACHMENTS),
        "NULL when none");
  }

  @Test
  void shouldWriteAttachmentsAsThriftJsonThatNamesFieldsByTheirIds() {
    String json = DeltaColumns.attachments(List.of(bare().setWidth(7)));
    assertEquals(
        "[\"rec\",1,{\"1\":{\"str\":\"\"},\"2\":{\"i64\":0},\"3\":{\"str\":\"\"},"
            + "\"4\":{\"str\":\"u\"},\"5\":{\"i32\":7}}]",
        json);
    assertEquals(List.of(bare().setWidth(7)), DeltaColumns.attachments(json));
    assertEquals(List.of(), DeltaColumns.attachments(DeltaColumns.attachments(List.of())));
    assertNull(DeltaColumns.attachments((String) null));
  }

  @Test
  void shouldSayWhyAttachmentsDoNotDecode() {
    DeltaColumns.MappingException e =
        assertThrows(
            DeltaColumns.MappingException.class,
            () -> DeltaColumns.attachments("[\"rec\",1,{\"1\":{\"str\":\"x\"}}]"));
    assertTrue(e.getMessage().contains("attachments do not decode"), e.getMessage());
  }

  /** Marks of several devices, one of them the recipient's own; ids at their extremes. */
  static List<DeviceDelivery> marks() {
    return new ArrayList<>(
        List.of(
            new DeviceDelivery(43L, "phone", 17L),
            new DeviceDelivery(44L, "ünï \"tab\"\t\\ \uD83D\uDCF1", Long.MAX_VALUE),
            new DeviceDelivery(42L, "laptop", 1L),
            new DeviceDelivery(Long.MIN_VALUE, "", 0L)));
  }

  @Test
  void shouldRoundTripADeliveryUpdateExactlyAndInOrder() {
    for (Delta d :
        List.of(
            delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(marks()))),
            delta(
                DeltaBody.deliveryUpdate(
                    new DeliveryUpdate(new ArrayList<>(List.of(marks().get(2)))))),
            delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(new ArrayList<>()))))) {
      assertEquals(d, roundTrip(d), row(d).toString());
    }
  }

  @Test
  void shouldWriteADeliveryUpdatesListInTheDeliveriesColumnAndNothingElse() {
    Map<String, Object> row = row(delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(marks()))));
    assertEquals("delivery_update", row.get(DeltaColumns.KIND));
    assertEquals(marks(), DeltaColumns.deliveries((String) row.get(DeltaColumns.DELIVERIES)));
    for (var e : row.entrySet()) {
      if (!List.of(
              DeltaColumns.USER_ID,
              DeltaColumns.THREAD_ID,
              DeltaColumns.SERVER_TS_MS,
              DeltaColumns.KIND,
              DeltaColumns.DELIVERIES,
              DeltaColumns.POSITION)
          .contains(e.getKey())) {
        assertNull(e.getValue(), e.getKey());
      }
    }
    for (Delta d : newKinds()) {
      assertTrue(row(d).containsKey(DeltaColumns.DELIVERIES));
      assertNull(row(d).get(DeltaColumns.DELIVERIES), d.toString());
    }
  }

  @Test
  void shouldWriteDeliveriesAsThriftJsonThatNamesFieldsByTheirIds() {
    String json = DeltaColumns.deliveries(List.of(new DeviceDelivery(43L, "phone", 17L)));
    assertEquals(
        "[\"rec\",1,{\"1\":{\"i64\":43},\"2\":{\"str\":\"phone\"},\"3\":{\"i64\":17}}]", json);
    assertEquals(List.of(new DeviceDelivery(43L, "phone", 17L)), DeltaColumns.deliveries(json));
    assertEquals("[\"rec\",0]", DeltaColumns.deliveries(List.of()));
    assertEquals(List.of(), DeltaColumns.deliveries("[\"rec\",0]"));
    assertNull(DeltaColumns.deliveries((String) null));
  }

  @Test
  void shouldSayWhyDeliveriesDoNotDecode() {
    DeltaColumns.MappingException e =
        assertThrows(
            DeltaColumns.MappingException.class,
            () -> DeltaColumns.deliveries("[\"rec\",1,{\"1\":{\"i64\":43}}]"));
    assertTrue(e.getMessage().contains("deliveries do not decode"), e.getMessage());
    Map<String, Object> row = row(delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(marks()))));
    row.put(DeltaColumns.DELIVERIES, null);
    DeltaColumns.MappingException none =
        assertThrows(DeltaColumns.MappingException.class, () -> DeltaColumns.read(row::get));
    assertTrue(none.getMessage().contains("without deliveries"), none.getMessage());
    DeltaColumns.MappingException unset =
        assertThrows(
            DeltaColumns.MappingException.class,
            () -> row(delta(DeltaBody.deliveryUpdate(new DeliveryUpdate()))));
    assertTrue(unset.getMessage().contains("no list of deliveries"), unset.getMessage());
  }
}
