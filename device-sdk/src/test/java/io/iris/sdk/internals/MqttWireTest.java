package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.sdk.internals.MqttWire.ConnAck;
import io.iris.sdk.internals.MqttWire.Connect;
import io.iris.sdk.internals.MqttWire.Disconnect;
import io.iris.sdk.internals.MqttWire.Packet;
import io.iris.sdk.internals.MqttWire.PingReq;
import io.iris.sdk.internals.MqttWire.PingResp;
import io.iris.sdk.internals.MqttWire.PubAck;
import io.iris.sdk.internals.MqttWire.Publish;
import io.iris.sdk.internals.MqttWire.SubAck;
import io.iris.sdk.internals.MqttWire.Subscribe;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The MQTT 3.1.1 codec: the bytes of each packet kind, the remaining length, and what it refuses.
 */
class MqttWireTest {
  private static final HexFormat HEX = HexFormat.ofDelimiter(" ");
  private static final int LIMIT = MqttWire.MAX_REMAINING_LENGTH;

  private static Packet roundTrip(Packet p) throws IOException {
    byte[] bytes = MqttWire.encode(p);
    ByteArrayInputStream in = new ByteArrayInputStream(bytes);
    Packet back = MqttWire.read(in, LIMIT);
    assertEquals(0, in.available(), "read exactly one packet");
    return back;
  }

  private static Packet read(String hex) throws IOException {
    return MqttWire.read(new ByteArrayInputStream(HEX.parseHex(hex)), LIMIT);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Nested
  class EachPacketKind {
    @Test
    void shouldWriteConnectAsTheStandardSaysAndReadItBack() throws IOException {
      Connect c = new Connect("c", "u", utf8("p"), 30, true);
      // 10 = CONNECT; 13 = 19 bytes; "MQTT" level 4; flags c2 = user, password, clean session;
      // keep-alive 30; client id, user name, password, each with its 2-byte length.
      assertEquals(
          "10 13 00 04 4d 51 54 54 04 c2 00 1e 00 01 63 00 01 75 00 01 70",
          HEX.formatHex(MqttWire.encode(c)));

      Connect back = (Connect) roundTrip(c);
      assertEquals("c", back.clientId());
      assertEquals("u", back.userName());
      assertArrayEquals(utf8("p"), back.password());
      assertEquals(30, back.keepAliveSeconds());
      assertTrue(back.cleanSession());
    }

    @Test
    void shouldKeepTheTokenOutOfAConnectsToString() {
      assertTrue(!new Connect("7/phone", "7", utf8("s3cret"), 30, true).toString().contains("s3"));
    }

    @Test
    void shouldWriteAndReadConnAck() throws IOException {
      assertEquals("20 02 00 05", HEX.formatHex(MqttWire.encode(new ConnAck(false, 5))));
      assertEquals(new ConnAck(true, 0), roundTrip(new ConnAck(true, 0)));
      assertEquals(new ConnAck(false, 4), roundTrip(new ConnAck(false, 4)));
    }

    @Test
    void shouldWriteAndReadPublishAtQos1() throws IOException {
      Publish p = new Publish("a/b", 1, 7, false, false, new byte[] {1, 2, 3});
      assertEquals("32 0a 00 03 61 2f 62 00 07 01 02 03", HEX.formatHex(MqttWire.encode(p)));

      Publish back = (Publish) roundTrip(p);
      assertEquals("a/b", back.topic());
      assertEquals(1, back.qos());
      assertEquals(7, back.packetId());
      assertArrayEquals(new byte[] {1, 2, 3}, back.payload());
    }

    @Test
    void shouldWriteAndReadPublishAtQos0WithoutAPacketId() throws IOException {
      Publish p = new Publish("t", 0, 0, false, false, new byte[] {9});
      assertEquals("30 04 00 01 74 09", HEX.formatHex(MqttWire.encode(p)));
      Publish back = (Publish) roundTrip(p);
      assertEquals(0, back.qos());
      assertEquals(0, back.packetId());
      assertArrayEquals(new byte[] {9}, back.payload());
    }

    @Test
    void shouldReadTheDupAndRetainFlagsOfAPublish() throws IOException {
      Publish back = (Publish) read("3b 05 00 01 74 00 02"); // DUP, QoS 1, RETAIN
      assertTrue(back.dup());
      assertTrue(back.retain());
      assertEquals(2, back.packetId());
      assertEquals(0, back.payload().length);
    }

    @Test
    void shouldWriteAndReadPubAck() throws IOException {
      assertEquals("40 02 01 00", HEX.formatHex(MqttWire.encode(new PubAck(256))));
      assertEquals(new PubAck(65535), roundTrip(new PubAck(65535)));
    }

    @Test
    void shouldWriteSubscribeWithItsReservedFlagAndReadItBack() throws IOException {
      Subscribe s = new Subscribe(1, List.of("a"), List.of(1));
      assertEquals("82 06 00 01 00 01 61 01", HEX.formatHex(MqttWire.encode(s)));
      assertEquals(s, roundTrip(s));
      Subscribe two = new Subscribe(2, List.of("a", "b/c"), List.of(0, 1));
      assertEquals(two, roundTrip(two));
    }

    @Test
    void shouldWriteAndReadSubAck() throws IOException {
      SubAck s = new SubAck(1, List.of(1, MqttWire.SUBSCRIPTION_FAILED));
      assertEquals("90 04 00 01 01 80", HEX.formatHex(MqttWire.encode(s)));
      assertEquals(s, roundTrip(s));
    }

    @Test
    void shouldWriteAndReadPingsAndDisconnect() throws IOException {
      assertEquals("c0 00", HEX.formatHex(MqttWire.encode(new PingReq())));
      assertEquals("d0 00", HEX.formatHex(MqttWire.encode(new PingResp())));
      assertEquals("e0 00", HEX.formatHex(MqttWire.encode(new Disconnect())));
      assertInstanceOf(PingReq.class, roundTrip(new PingReq()));
      assertInstanceOf(PingResp.class, roundTrip(new PingResp()));
      assertInstanceOf(Disconnect.class, roundTrip(new Disconnect()));
    }

    @Test
    void shouldReadPacketsOneAfterAnotherFromOneStream() throws IOException {
      ByteArrayOutputStream flight = new ByteArrayOutputStream();
      flight.writeBytes(MqttWire.encode(new Connect("c", "u", utf8("p"), 30, true)));
      flight.writeBytes(MqttWire.encode(new Subscribe(1, List.of("d"), List.of(1))));
      flight.writeBytes(MqttWire.encode(new Publish("u", 1, 2, false, false, utf8("x"))));
      ByteArrayInputStream in = new ByteArrayInputStream(flight.toByteArray());

      assertInstanceOf(Connect.class, MqttWire.read(in, LIMIT));
      assertInstanceOf(Subscribe.class, MqttWire.read(in, LIMIT));
      assertInstanceOf(Publish.class, MqttWire.read(in, LIMIT));
      assertNull(MqttWire.read(in, LIMIT), "the end of the stream between packets");
    }
  }

  @Nested
  class RemainingLength {
    @ParameterizedTest
    @CsvSource({
      "0, 00",
      "127, 7f",
      "128, 80 01",
      "16383, ff 7f",
      "16384, 80 80 01",
      "2097151, ff ff 7f",
      "2097152, 80 80 80 01",
      "268435455, ff ff ff 7f"
    })
    void shouldUseOneByteMoreAtEachBoundary(int length, String hex) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      MqttWire.writeRemainingLength(out, length);
      assertEquals(hex, HEX.formatHex(out.toByteArray()));
    }

    @ParameterizedTest
    @ValueSource(ints = {127, 128, 16383, 16384})
    void shouldReadAPacketWhoseRemainingLengthIsOnABoundary(int remaining) throws IOException {
      // A QoS 1 PUBLISH to "t": topic (3 bytes) and packet id (2) before the payload.
      byte[] payload = new byte[remaining - 5];
      payload[payload.length - 1] = 42;
      byte[] bytes = MqttWire.encode(new Publish("t", 1, 3, false, false, payload));
      int header = remaining < 128 ? 2 : remaining < 16384 ? 3 : 4;
      assertEquals(header + remaining, bytes.length);

      Publish back = (Publish) MqttWire.read(new ByteArrayInputStream(bytes), LIMIT);
      assertArrayEquals(payload, back.payload());
    }

    @Test
    void shouldRefuseToWriteALengthBeyondFourBytes() {
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.writeRemainingLength(new ByteArrayOutputStream(), LIMIT + 1));
    }

    @Test
    void shouldRefuseAFifthLengthByte() {
      assertThrows(ProtocolException.class, () -> read("30 ff ff ff ff 01"));
    }

    @Test
    void shouldRefuseALengthAboveTheCallersLimitBeforeReadingIt() {
      ProtocolException e =
          assertThrows(
              ProtocolException.class,
              () -> MqttWire.read(new ByteArrayInputStream(HEX.parseHex("30 80 80 01")), 16383));
      assertTrue(e.getMessage().contains("16384"), e.getMessage());
    }
  }

  @Nested
  class Malformed {
    @Test
    void shouldTellTheEndOfTheStreamBeforeAPacketFromOneWithinIt() throws IOException {
      assertNull(read(""));
      assertThrows(EOFException.class, () -> read("30"), "within the fixed header");
      assertThrows(EOFException.class, () -> read("30 80"), "within the remaining length");
      assertThrows(EOFException.class, () -> read("32 0a 00 03 61 2f 62"), "within the body");
    }

    @ParameterizedTest
    @CsvSource(
        delimiter = '|',
        value = {
          "36 05 00 01 74 00 01      | a PUBLISH of QoS 3",
          "38 03 00 01 74            | DUP at QoS 0",
          "32 03 00 01 74            | a packet id missing",
          "32 05 00 01 74 00 00      | packet id 0",
          "32 05 00 05 74 00 01      | a topic running past the packet",
          "30 04 00 02 c3 28         | a topic that is not UTF-8",
          "30 04 00 02 61 00         | a topic holding U+0000",
          "41 02 00 01               | reserved flags of PUBACK",
          "40 02 00 00               | PUBACK of packet id 0",
          "40 03 00 01 00            | bytes left over in a PUBACK",
          "80 06 00 01 00 01 61 01   | SUBSCRIBE without its reserved flag",
          "82 02 00 01               | SUBSCRIBE without a filter",
          "82 06 00 01 00 01 61 03   | SUBSCRIBE asking QoS 3",
          "90 03 00 01 03            | SUBACK return code 3",
          "90 02 00 01               | SUBACK without a return code",
          "20 02 02 00               | reserved CONNACK flags",
          "20 03 00 00 00            | a CONNACK of three bytes",
          "20 01 00                  | a CONNACK of one byte",
          "c0 01 00                  | a PINGREQ with a body",
          "d1 00                     | reserved flags of PINGRESP",
          "e0 01 00                  | a DISCONNECT with a body",
          "00 00                     | packet type 0",
          "f0 00                     | packet type 15",
          "60 02 00 01               | PUBREL, never used by a device",
          "10 0d 00 04 4d 51 54 54 03 02 00 1e 00 01 63 | CONNECT of protocol level 3",
          "10 0d 00 04 4d 51 54 54 04 03 00 1e 00 01 63 | the reserved CONNECT flag",
          "10 10 00 04 4d 51 54 54 04 42 00 1e 00 01 63 00 01 70 | a password without a user",
        })
    void shouldRefuse(String hex, String what) {
      assertThrows(ProtocolException.class, () -> read(hex), what);
    }

    @Test
    void shouldRefuseToWriteWhatItCannotReadBack() {
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.encode(new Publish("t", 2, 1, false, false, new byte[0])),
          "QoS 2");
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.encode(new Publish("t", 1, 0, false, false, new byte[0])),
          "packet id 0");
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.encode(new PubAck(65536)),
          "packet id above 65535");
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.encode(new Connect("c", null, utf8("p"), 30, true)),
          "a password without a user name");
      assertThrows(
          IllegalArgumentException.class,
          () -> MqttWire.encode(new Subscribe(1, List.of(), List.of())),
          "no filter");
    }
  }
}
