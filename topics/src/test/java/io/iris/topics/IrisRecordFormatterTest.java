package io.iris.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.SendMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/**
 * What the console formatter prints for records built by hand, as a broker would hand them over.
 */
class IrisRecordFormatterTest {
  static final long TS = 1_700_000_000_000L;

  static ConsumerRecord<byte[], byte[]> record(
      String topic, byte[] key, byte[] value, RecordHeaders headers) {
    return new ConsumerRecord<>(
        topic,
        2,
        17,
        TS,
        TimestampType.CREATE_TIME,
        key == null ? -1 : key.length,
        value == null ? -1 : value.length,
        key,
        value,
        headers,
        Optional.empty());
  }

  static byte[] longKey(long id) {
    return new LongSerializer().serialize(Topics.LOG.name(), id);
  }

  @Test
  void shouldPrintABinaryDeadLetterKeyAsBase64AndSaySo() {
    RecordHeaders headers = new RecordHeaders();
    headers.add(DeadLetters.REASON, "MALFORMED".getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetters.SOURCE_TOPIC, "iris.commands".getBytes(StandardCharsets.UTF_8));
    byte[] key = {0x00, (byte) 0xff, (byte) 0xfe, 0x10, (byte) 0x80};
    byte[] value = {0x01, 0x02, (byte) 0xc3};

    String json = IrisRecordFormatter.toJson(record(Topics.DLQ.name(), key, value, headers));

    assertEquals(
        "{\"topic\":\"iris.dlq\",\"partition\":2,\"offset\":\"17\",\"timestamp\":\"1700000000000\","
            + "\"key_base64\":\"AP/+EIA=\",\"value\":{\"base64\":\"AQLD\"},"
            + "\"headers\":{\"iris.dlq.reason\":\"MALFORMED\","
            + "\"iris.dlq.source.topic\":\"iris.commands\"}}",
        json);
  }

  @Test
  void shouldPrintADeadLetterKeyAsBase64EvenWhenItLooksLikeAnId() {
    // A dead letter's key is whatever the client sent; the registry does not decode it.
    String json =
        IrisRecordFormatter.toJson(
            record(Topics.SINK_DLQ.name(), longKey(42), new byte[] {1}, new RecordHeaders()));

    assertTrue(json.contains(",\"key_base64\":\"AAAAAAAAACo=\","), json);
    assertFalse(json.contains("\"key\":"), json);
  }

  @Test
  void shouldPrintAMissingKeyAsNull() {
    String json =
        IrisRecordFormatter.toJson(
            record(Topics.DLQ.name(), null, new byte[] {1}, new RecordHeaders()));

    assertTrue(json.contains(",\"key\":null,"), json);
  }

  @Test
  void shouldSayADeltaOfANewerKindIsNewerNotUndecodable() {
    // Before: {"undecodable":"Cannot write a TUnion with no set value!",...}
    byte[] value = io.iris.protocol.NewerWriterFrames.deltaOfAnUnknownKind();
    String json =
        IrisRecordFormatter.toJson(
            record(Topics.LOG.name(), longKey(42), value, new RecordHeaders()));
    assertTrue(json.contains("\"value\":{\"newerKind\":"), json);
    assertTrue(!json.contains("undecodable"), json);
  }

  @Test
  void shouldPrintALogRecordsUserIdKeyAndDelta() {
    Delta d = new Delta(42L, 9001L, TS, DeltaBody.newMessage(new NewMessage(3, 43L, "hi \"you\"")));
    byte[] value = FrameCodec.defaults().encode(d);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    new IrisRecordFormatter()
        .writeTo(
            record(Topics.LOG.name(), longKey(42), value, new RecordHeaders()),
            new PrintStream(bytes, true, StandardCharsets.UTF_8));

    String line = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(
        line.startsWith(
            "{\"topic\":\"iris.log\",\"partition\":2,\"offset\":\"17\","
                + "\"timestamp\":\"1700000000000\",\"key\":\"42\",\"value\":{\"userId\":\"42\","
                + "\"threadId\":\"9001\","),
        line);
    assertTrue(line.contains("\"text\":\"hi \\\"you\\\"\""), line);
    assertFalse(line.contains("headers"), line);
    assertEquals(1, line.lines().count(), line);
    assertTrue(line.endsWith("}" + System.lineSeparator()), line);
  }

  @Test
  void shouldPrintA63BitIdAsAStringThatJavaScriptReadsExactly() {
    // JSON numbers past 2^53 lose precision in JavaScript and jq: every int64 is a string.
    long id = Long.MAX_VALUE - 1;
    Delta d = new Delta(42L, id, TS, DeltaBody.newMessage(new NewMessage(3, 43L, "x")));

    String json =
        IrisRecordFormatter.toJson(
            record(
                Topics.LOG.name(),
                longKey(id),
                FrameCodec.defaults().encode(d),
                new RecordHeaders()));

    assertTrue(json.contains(",\"key\":\"9223372036854775806\","), json);
    assertTrue(json.contains("\"threadId\":\"9223372036854775806\""), json);
    assertTrue(json.contains("\"messageId\":\"3\""), json);
  }

  @Test
  void shouldPrintAStringKeyAsTextAndOneThatIsNotUtf8AsBase64() {
    String text =
        IrisRecordFormatter.toJson(
            record(
                Topics.DEVICE_POINTERS.name(),
                "42:phone".getBytes(StandardCharsets.UTF_8),
                null,
                new RecordHeaders()));
    String binary =
        IrisRecordFormatter.toJson(
            record(
                Topics.DEVICE_POINTERS.name(),
                new byte[] {'4', '2', ':', (byte) 0xff},
                null,
                new RecordHeaders()));

    assertTrue(text.contains(",\"key\":\"42:phone\","), text);
    assertTrue(binary.contains(",\"key_base64\":\"NDI6/w==\","), binary);
  }

  @Test
  void shouldPrintTheKeyOfATopicOutsideTheRegistryAsBase64() {
    String json =
        IrisRecordFormatter.toJson(
            record("someone.else", new byte[] {1, 2, (byte) 0xc3}, null, new RecordHeaders()));

    assertTrue(json.contains(",\"key_base64\":\"AQLD\","), json);
  }

  static String logJson(DeltaBody body) {
    Delta d = new Delta(42L, 9001L, TS, body);
    return IrisRecordFormatter.toJson(
        record(
            Topics.LOG.name(), longKey(42), FrameCodec.defaults().encode(d), new RecordHeaders()));
  }

  /** An attachment whose sha256 is 0x00..0x1f and whose preview is 300 bytes of 0xab. */
  static Attachment photo() {
    byte[] sha = new byte[32];
    for (int i = 0; i < sha.length; i++) {
      sha[i] = (byte) i;
    }
    byte[] preview = new byte[300];
    java.util.Arrays.fill(preview, (byte) 0xab);
    return new Attachment("image/jpeg", 51_200, java.nio.ByteBuffer.wrap(sha), "blob:7f3a")
        .setWidth(640)
        .setHeight(480)
        .setPreview(preview)
        .setName("cat.jpg");
  }

  static final String PHOTO_SHA256 =
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

  @Test
  void shouldPrintAnAttachmentsMetadataWithItsPreviewsSizeNeverItsBytes() {
    Attachment voice = new Attachment("audio/ogg", 0, java.nio.ByteBuffer.allocate(32), "blob:1");
    String json =
        logJson(
            DeltaBody.newMessage(
                new NewMessage(3, 43L, "")
                    .setAttachments(List.of(photo(), voice.setDurationMs(0)))));

    assertTrue(
        json.contains(
            "\"attachments\":[{\"contentType\":\"image/jpeg\",\"sizeBytes\":\"51200\","
                + "\"sha256\":\""
                + PHOTO_SHA256
                + "\",\"url\":\"blob:7f3a\",\"width\":640,\"height\":480,"
                + "\"preview\":{\"bytes\":300},\"name\":\"cat.jpg\"},"
                + "{\"contentType\":\"audio/ogg\",\"sizeBytes\":\"0\",\"sha256\":\""
                + "0".repeat(64)
                + "\",\"url\":\"blob:1\",\"durationMs\":0}]"),
        json);
    String previewBase64 = Base64.getEncoder().encodeToString(photo().getPreview());
    assertFalse(json.contains(previewBase64.substring(0, 16)), json);
    assertFalse(
        json.contains("\u00ab") || json.contains("\u00c2\u00ab") || json.contains("\ufffd"), json);
  }

  @Test
  void shouldPrintTheAttachmentsOfASendCommandTheSameWay() {
    ClientCommand c =
        new ClientCommand(
            43L,
            "phone",
            "c1",
            9001L,
            TS,
            CommandBody.sendMessage(new SendMessage("look").setAttachments(List.of(photo()))));
    String json =
        IrisRecordFormatter.toJson(
            record(
                Topics.COMMANDS.name(),
                longKey(9001),
                FrameCodec.defaults().encode(c),
                new RecordHeaders()));

    assertTrue(json.contains("\"preview\":{\"bytes\":300}"), json);
    assertTrue(json.contains("\"sha256\":\"" + PHOTO_SHA256 + "\""), json);
  }

  @Test
  void shouldPrintTheNewKindsByName() {
    assertTrue(
        logJson(DeltaBody.messageEdited(new MessageEdited(3, 43L, "fixed").setClientId("c7")))
            .contains(
                "\"body\":{\"messageEdited\":{\"messageId\":\"3\",\"senderUserId\":\"43\","
                    + "\"text\":\"fixed\",\"clientId\":\"c7\"}}"));
    assertTrue(
        logJson(DeltaBody.messageDeleted(new MessageDeleted(3, 43L)))
            .contains(
                "\"body\":{\"messageDeleted\":{\"messageId\":\"3\","
                    + "\"deletedByUserId\":\"43\"}}"));
    assertTrue(
        logJson(DeltaBody.reactionChanged(new ReactionChanged(3, 44L).setEmoji("\uD83D\uDC4D")))
            .contains(
                "\"body\":{\"reactionChanged\":{\"messageId\":\"3\",\"reactorUserId\":\"44\","
                    + "\"emoji\":\"\uD83D\uDC4D\"}}"));
    assertTrue(
        logJson(DeltaBody.reactionChanged(new ReactionChanged(3, 44L)))
            .contains(
                "\"body\":{\"reactionChanged\":{\"messageId\":\"3\","
                    + "\"reactorUserId\":\"44\"}}"),
        "a removal: no emoji");
    assertTrue(
        logJson(
                DeltaBody.commandRejected(
                    new CommandRejected("c8", ErrorCode.UNAUTHORISED, "not yours")
                        .setRule("NOT_THE_SENDER")))
            .contains("\"rule\":\"NOT_THE_SENDER\""));
  }

  @Test
  void shouldPrintADeliveryUpdateWithEachDevicesMarkByName() {
    String json =
        logJson(
            DeltaBody.deliveryUpdate(
                new DeliveryUpdate(
                    List.of(
                        new DeviceDelivery(43L, "phone", 17L),
                        new DeviceDelivery(44L, "lap\"top", 9_007_199_254_740_993L)))));

    assertTrue(
        json.contains(
            "\"body\":{\"deliveryUpdate\":{\"deliveries\":["
                + "{\"userId\":\"43\",\"deviceId\":\"phone\",\"upToMessageId\":\"17\"},"
                + "{\"userId\":\"44\",\"deviceId\":\"lap\\\"top\","
                + "\"upToMessageId\":\"9007199254740993\"}]}}"),
        json);
    assertTrue(
        logJson(DeltaBody.deliveryUpdate(new DeliveryUpdate(List.of())))
            .contains("\"body\":{\"deliveryUpdate\":{\"deliveries\":[]}}"));
  }

  @Test
  void shouldPrintTheMarkDeliveredCommandTheBridgeWrites() {
    ClientCommand c =
        new ClientCommand(
            43L,
            "phone",
            "dlv:9001:17",
            9001L,
            TS,
            CommandBody.markDelivered(new MarkDelivered(17L)));
    String json =
        IrisRecordFormatter.toJson(
            record(
                Topics.COMMANDS.name(),
                longKey(9001),
                FrameCodec.defaults().encode(c),
                new RecordHeaders()));

    assertTrue(json.contains("\"clientId\":\"dlv:9001:17\""), json);
    assertTrue(json.contains("\"body\":{\"markDelivered\":{\"upToMessageId\":\"17\"}}"), json);
  }
}
