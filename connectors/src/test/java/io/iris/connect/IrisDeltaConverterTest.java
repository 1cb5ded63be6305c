package io.iris.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
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
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.topics.DeltaColumns;
import java.io.InputStream;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.storage.Converter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IrisDeltaConverterTest {
  IrisDeltaConverter converter;

  @BeforeEach
  void setUp() {
    converter = new IrisDeltaConverter();
    converter.configure(Map.of(), false);
  }

  static Delta delta(DeltaBody body) {
    return new Delta(42L, 1001L, 1_700_000_000_000L, body);
  }

  static List<Delta> everyKind() {
    return List.of(
        delta(
            DeltaBody.newMessage(
                new NewMessage(5L, 43L, "hello").setClientId("c1").setSenderDeviceId("phone"))),
        delta(DeltaBody.newMessage(new NewMessage(6L, 44L, "no client id"))),
        delta(
            DeltaBody.threadCreated(
                new ThreadCreated(43L, new ArrayList<>(List.of(42L, 43L))).setName("lunch"))),
        delta(
            DeltaBody.participantsChanged(
                new ParticipantsChanged(
                        43L,
                        new ArrayList<>(List.of(45L)),
                        new ArrayList<>(),
                        new ArrayList<>(List.of(42L, 43L, 45L)))
                    .setThreadName("lunch"))),
        delta(DeltaBody.readReceipt(new ReadReceipt(44L, 5L).setClientId("c9"))),
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c2", ErrorCode.NOT_A_MEMBER, "not a member"))),
        delta(
            DeltaBody.newMessage(
                new NewMessage(7L, 43L, "")
                    .setClientId("c3")
                    .setAttachments(new ArrayList<>(List.of(photo(), file()))))),
        delta(DeltaBody.messageEdited(new MessageEdited(5L, 43L, "hello!").setClientId("c4"))),
        delta(DeltaBody.messageDeleted(new MessageDeleted(7L, 43L))),
        delta(
            DeltaBody.reactionChanged(
                new ReactionChanged(5L, 44L).setEmoji("\uD83C\uDF89").setClientId("c5"))),
        delta(DeltaBody.reactionChanged(new ReactionChanged(5L, 44L))),
        delta(
            DeltaBody.commandRejected(
                new CommandRejected("c6", ErrorCode.INVALID_ARGUMENT, "window passed")
                    .setRule("EDIT_WINDOW_PASSED"))),
        delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(marks()))),
        delta(DeltaBody.deliveryUpdate(new DeliveryUpdate(new ArrayList<>()))));
  }

  /** Device marks in the order the thread's task received them, the recipient's own included. */
  static List<DeviceDelivery> marks() {
    return new ArrayList<>(
        List.of(
            new DeviceDelivery(44L, "phone", 7L),
            new DeviceDelivery(42L, "t\u00e4blet", Long.MAX_VALUE),
            new DeviceDelivery(44L, "laptop", 5L)));
  }

  /** An image with every optional field, binary fields holding every byte value. */
  static Attachment photo() {
    byte[] preview = new byte[256];
    for (int i = 0; i < preview.length; i++) {
      preview[i] = (byte) i;
    }
    return new Attachment(
            "image/png", 9000, ByteBuffer.wrap(java.util.Arrays.copyOf(preview, 32)), "blob:1")
        .setWidth(10)
        .setHeight(20)
        .setDurationMs(0)
        .setPreview(preview)
        .setName("p.png");
  }

  /** The required fields only. */
  static Attachment file() {
    return new Attachment("application/pdf", 0, ByteBuffer.wrap(new byte[32]), "blob:2");
  }

  @Test
  void shouldRoundTripEveryKindThroughAFlatStruct() {
    for (Delta d : everyKind()) {
      byte[] frame = FrameCodec.defaults().encode(d);
      SchemaAndValue sv = converter.toConnectData("iris.log", frame);
      assertEquals(DeltaSchema.SCHEMA, sv.schema());
      Struct s = (Struct) sv.value();
      s.validate();
      assertEquals(42L, s.getInt64("user_id"));
      assertNull(s.schema().field("position"), "the sink's transform adds the position");
      assertNull(s.schema().field("seq"), "version 1's seq is gone");
      assertEquals(d, DeltaSchema.fromStruct(s), s.toString());
      assertEquals(
          Arrays.toString(frame),
          Arrays.toString(converter.fromConnectData("iris.log", sv.schema(), s)));
    }
  }

  @Test
  void shouldFlattenTheUnionIntoTypedColumns() {
    Struct m =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(0)))
                .value();
    assertEquals("new_message", m.getString("kind"));
    assertEquals(43L, m.getInt64("actor_user_id"));
    assertEquals(5L, m.getInt64("message_id"));
    assertEquals("hello", m.getString("text"));
    assertNull(m.getString("participant_ids"));
    Struct c =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(3)))
                .value();
    assertEquals("participants_changed", c.getString("kind"));
    assertEquals("42,43,45", c.getString("participant_ids"));
    assertEquals("45", c.getString("added_ids"));
    assertEquals("", c.getString("removed_ids"));
    Struct a =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(6)))
                .value();
    assertEquals(List.of(photo(), file()), DeltaColumns.attachments(a.getString("attachments")));
    assertTrue(a.getString("attachments").startsWith("[\"rec\",2,{"), a.getString("attachments"));
    Struct r =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(9)))
                .value();
    assertEquals("reaction_changed", r.getString("kind"));
    assertEquals(44L, r.getInt64("actor_user_id"));
    assertEquals("\uD83C\uDF89", r.getString("emoji"));
    assertNull(r.getString("attachments"));
    Struct removed =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(10)))
                .value();
    assertNull(removed.getString("emoji"));
    Struct rejected =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(11)))
                .value();
    assertEquals("EDIT_WINDOW_PASSED", rejected.getString("rule"));
    assertNull(rejected.getString("deliveries"));
    Struct delivered =
        (Struct)
            converter
                .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(12)))
                .value();
    assertEquals("delivery_update", delivered.getString("kind"));
    assertEquals(marks(), DeltaColumns.deliveries(delivered.getString("deliveries")));
    assertTrue(
        delivered
            .getString("deliveries")
            .startsWith("[\"rec\",3,{\"1\":{\"i64\":44},\"2\":{\"str\":\"phone\"},"),
        delivered.getString("deliveries"));
    assertNull(delivered.getInt64("actor_user_id"));
    assertNull(delivered.getInt64("message_id"));
    assertNull(delivered.getString("text"));
    assertEquals(
        "[\"rec\",0]",
        ((Struct)
                converter
                    .toConnectData("iris.log", FrameCodec.defaults().encode(everyKind().get(13)))
                    .value())
            .getString("deliveries"));
    assertNull(m.getString("deliveries"));
  }

  @Test
  void shouldBeVersionFourWithDeliveriesAsTheLastOptionalColumn() {
    assertEquals(4, DeltaSchema.SCHEMA.version());
    List<org.apache.kafka.connect.data.Field> fields = DeltaSchema.SCHEMA.fields();
    org.apache.kafka.connect.data.Field last = fields.get(fields.size() - 1);
    assertEquals("deliveries", last.name());
    assertEquals(org.apache.kafka.connect.data.Schema.OPTIONAL_STRING_SCHEMA, last.schema());
  }

  @Test
  void shouldHaveExactlyTheColumnsDeltaColumnsWrites() {
    for (Delta d : everyKind()) {
      List<String> columns = new ArrayList<>();
      DeltaColumns.write(d, (name, value) -> columns.add(name));
      assertEquals(
          columns, DeltaSchema.SCHEMA.fields().stream().map(f -> f.name()).toList(), d.toString());
    }
  }

  @Test
  void shouldTurnATombstoneIntoNull() {
    assertEquals(SchemaAndValue.NULL, converter.toConnectData("iris.log", null));
    assertNull(converter.fromConnectData("iris.log", null, null));
  }

  @Test
  void shouldSayWhatIsWrongWithBytesThatAreNotADelta() {
    byte[] frame = FrameCodec.defaults().encode(everyKind().get(0));
    frame[0] = 7;
    DataException e =
        assertThrows(DataException.class, () -> converter.toConnectData("iris.log", frame));
    assertTrue(e.getMessage().contains("UNSUPPORTED_VERSION"), e.getMessage());
    assertTrue(e.getMessage().contains("value.converter"), e.getMessage());
    DataException junk =
        assertThrows(
            DataException.class,
            () -> converter.toConnectData("iris.log", new byte[] {FrameCodec.VERSION, 2, 3}));
    assertTrue(junk.getMessage().contains("MALFORMED"), junk.getMessage());
  }

  @Test
  void shouldRefuseAVersionOneDeltaLeftInTheLog() {
    // A record written before the upgrade: the sink sets it aside (iris.sink-dlq), saying why.
    byte[] frame = FrameCodec.defaults().encode(everyKind().get(0));
    frame[0] = FrameCodec.VERSION_1;
    DataException e =
        assertThrows(DataException.class, () -> converter.toConnectData("iris.log", frame));
    assertTrue(e.getMessage().contains("RETIRED_VERSION"), e.getMessage());
  }

  @Test
  void shouldRefuseFramesAboveTheConfiguredLimit() {
    IrisDeltaConverter small = new IrisDeltaConverter();
    small.configure(Map.of(IrisDeltaConverterConfig.MAX_FRAME_BYTES_CONFIG, "16"), false);
    byte[] frame = FrameCodec.defaults().encode(everyKind().get(0));
    DataException e =
        assertThrows(DataException.class, () -> small.toConnectData("iris.log", frame));
    assertTrue(e.getMessage().contains("FRAME_TOO_LARGE"), e.getMessage());
  }

  @Test
  void shouldBeListedForServiceLoadingAsPluginDiscoveryServiceLoadNeeds() throws Exception {
    // Only this module's own entry: Debezium's (also on the test classpath) need the worker.
    String name = "META-INF/services/" + Converter.class.getName();
    List<String> ours = new ArrayList<>();
    for (URL url : Collections.list(getClass().getClassLoader().getResources(name))) {
      if (url.getProtocol().equals("file")) {
        try (InputStream in = url.openStream()) {
          new String(in.readAllBytes(), StandardCharsets.UTF_8)
              .lines()
              .map(String::trim)
              .filter(l -> !l.isEmpty() && !l.startsWith("#"))
              .forEach(ours::add);
        }
      }
    }
    assertEquals(List.of(IrisDeltaConverter.class.getName()), ours);
    for (String className : ours) {
      assertTrue(
          Converter.class.isInstance(
              Class.forName(className).getDeclaredConstructor().newInstance()));
    }
    assertTrue(
        converter.config().names().contains(IrisDeltaConverterConfig.MAX_FRAME_BYTES_CONFIG));
  }
}
