package io.iris.sdk.internals;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The MQTT 3.1.1 packets a device needs, both ways, as bytes: CONNECT, CONNACK, SUBSCRIBE, SUBACK,
 * PUBLISH (QoS 0 and 1), PUBACK, PINGREQ, PINGRESP and DISCONNECT (OASIS MQTT 3.1.1, chapters 2 and
 * 3). Nothing else is needed: the device keeps no MQTT session (clean session), subscribes once at
 * QoS 1 and never uses QoS 2, wills, retained messages or UNSUBSCRIBE.
 *
 * <p>Both directions decode, so that a test can play the server with the same codec. A packet that
 * breaks a rule of the standard (reserved flags, a QoS of 3, a remaining length of five bytes, a
 * string that runs past its packet or is not UTF-8, bytes left over) is refused with a {@link
 * ProtocolException}: the connection it came on cannot be trusted any more.
 *
 * <p>Internal to the SDK; not part of its API.
 */
public final class MqttWire {
  private MqttWire() {}

  public static final int CONNECT = 1;
  public static final int CONNACK = 2;
  public static final int PUBLISH = 3;
  public static final int PUBACK = 4;
  public static final int SUBSCRIBE = 8;
  public static final int SUBACK = 9;
  public static final int PINGREQ = 12;
  public static final int PINGRESP = 13;
  public static final int DISCONNECT = 14;

  /** The largest remaining length four bytes of the variable-length encoding can say (256 MiB). */
  public static final int MAX_REMAINING_LENGTH = 268_435_455;

  /** CONNACK return codes 4 and 5: the server refused the device itself (§3.2.2.3). */
  public static final int BAD_USER_NAME_OR_PASSWORD = 4;

  public static final int NOT_AUTHORIZED = 5;

  /** A SUBACK return code: the subscription was refused (§3.9.3). */
  public static final int SUBSCRIPTION_FAILED = 0x80;

  /** One MQTT control packet. */
  public sealed interface Packet
      permits Connect, ConnAck, Publish, PubAck, Subscribe, SubAck, PingReq, PingResp, Disconnect {}

  /** CONNECT, protocol level 4 ("MQTT"); a device sets user name and password, never a will. */
  public record Connect(
      String clientId, String userName, byte[] password, int keepAliveSeconds, boolean cleanSession)
      implements Packet {
    @Override
    public String toString() {
      return "Connect["
          + clientId
          + ", user "
          + userName
          + ", keep-alive "
          + keepAliveSeconds
          + "]";
    }
  }

  public record ConnAck(boolean sessionPresent, int returnCode) implements Packet {}

  /** PUBLISH; {@code packetId} is 0 at QoS 0 (it has none). */
  public record Publish(
      String topic, int qos, int packetId, boolean dup, boolean retain, byte[] payload)
      implements Packet {
    @Override
    public String toString() {
      return "Publish["
          + topic
          + ", qos "
          + qos
          + ", id "
          + packetId
          + ", "
          + payload.length
          + " bytes]";
    }
  }

  public record PubAck(int packetId) implements Packet {}

  /** SUBSCRIBE: topic filters with their requested QoS, in order. */
  public record Subscribe(int packetId, List<String> topics, List<Integer> qos) implements Packet {}

  public record SubAck(int packetId, List<Integer> returnCodes) implements Packet {}

  public record PingReq() implements Packet {}

  public record PingResp() implements Packet {}

  public record Disconnect() implements Packet {}

  // ------------------------------------------------------------------------------------------
  // Encoding
  // ------------------------------------------------------------------------------------------

  /** The bytes of {@code p}: fixed header, remaining length, variable header, payload. */
  public static byte[] encode(Packet p) {
    Body b = new Body();
    int type;
    int flags = 0;
    if (p instanceof Connect c) {
      type = CONNECT;
      b.string("MQTT");
      b.u8(4); // protocol level of 3.1.1
      int connectFlags = c.cleanSession() ? 0x02 : 0;
      if (c.userName() != null) {
        connectFlags |= 0x80;
      }
      if (c.password() != null) {
        if (c.userName() == null) {
          throw new IllegalArgumentException("a password needs a user name [MQTT-3.1.2-22]");
        }
        connectFlags |= 0x40;
      }
      b.u8(connectFlags);
      b.u16(c.keepAliveSeconds());
      b.string(c.clientId());
      if (c.userName() != null) {
        b.string(c.userName());
      }
      if (c.password() != null) {
        b.binary(c.password());
      }
    } else if (p instanceof ConnAck c) {
      type = CONNACK;
      b.u8(c.sessionPresent() ? 1 : 0);
      b.u8(c.returnCode());
    } else if (p instanceof Publish m) {
      type = PUBLISH;
      if (m.qos() < 0 || m.qos() > 1) {
        throw new IllegalArgumentException("QoS 0 or 1 only: " + m.qos());
      }
      flags = (m.dup() ? 0x08 : 0) | m.qos() << 1 | (m.retain() ? 1 : 0);
      b.string(m.topic());
      if (m.qos() > 0) {
        b.u16(packetId(m.packetId()));
      }
      b.writeBytes(m.payload());
    } else if (p instanceof PubAck a) {
      type = PUBACK;
      b.u16(packetId(a.packetId()));
    } else if (p instanceof Subscribe s) {
      type = SUBSCRIBE;
      flags = 0x02; // reserved, as the standard wants it [MQTT-3.8.1-1]
      if (s.topics().isEmpty() || s.topics().size() != s.qos().size()) {
        throw new IllegalArgumentException("one QoS per topic filter, at least one filter");
      }
      b.u16(packetId(s.packetId()));
      for (int i = 0; i < s.topics().size(); i++) {
        b.string(s.topics().get(i));
        b.u8(s.qos().get(i));
      }
    } else if (p instanceof SubAck s) {
      type = SUBACK;
      b.u16(packetId(s.packetId()));
      for (int code : s.returnCodes()) {
        b.u8(code);
      }
    } else if (p instanceof PingReq) {
      type = PINGREQ;
    } else if (p instanceof PingResp) {
      type = PINGRESP;
    } else {
      type = DISCONNECT;
    }
    byte[] body = b.toByteArray();
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 5);
    out.write(type << 4 | flags);
    writeRemainingLength(out, body.length);
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** The variable-length encoding of a remaining length: 1 to 4 bytes, 7 bits each (§2.2.3). */
  public static void writeRemainingLength(ByteArrayOutputStream out, int length) {
    if (length < 0 || length > MAX_REMAINING_LENGTH) {
      throw new IllegalArgumentException("remaining length out of range: " + length);
    }
    do {
      int digit = length & 0x7F;
      length >>>= 7;
      out.write(length > 0 ? digit | 0x80 : digit);
    } while (length > 0);
  }

  private static int packetId(int id) {
    if (id < 1 || id > 0xFFFF) {
      throw new IllegalArgumentException("a packet id is 1 to 65535: " + id);
    }
    return id;
  }

  /** A packet's body being written. */
  private static final class Body extends ByteArrayOutputStream {
    void u8(int v) {
      write(v);
    }

    void u16(int v) {
      write(v >>> 8);
      write(v);
    }

    void string(String s) {
      binary(s.getBytes(StandardCharsets.UTF_8));
    }

    void binary(byte[] b) {
      if (b.length > 0xFFFF) {
        throw new IllegalArgumentException("longer than 65535 bytes: " + b.length);
      }
      u16(b.length);
      writeBytes(b);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Decoding
  // ------------------------------------------------------------------------------------------

  /**
   * Reads one packet, blocking until all of it has arrived. Returns null when the stream ends
   * before a packet starts (the peer closed the connection); an end within a packet is an {@link
   * EOFException}. A remaining length above {@code maxRemainingLength} is refused before anything
   * is allocated for it.
   */
  public static Packet read(InputStream in, int maxRemainingLength) throws IOException {
    int first = in.read();
    if (first < 0) {
      return null;
    }
    int length = 0;
    for (int i = 0, shift = 0; ; i++, shift += 7) {
      if (i == 4) {
        throw new ProtocolException("a remaining length of more than four bytes");
      }
      int digit = in.read();
      if (digit < 0) {
        throw new EOFException("the connection ended within a fixed header");
      }
      length |= (digit & 0x7F) << shift;
      if ((digit & 0x80) == 0) {
        break;
      }
    }
    if (length > maxRemainingLength) {
      throw new ProtocolException(
          "a packet of " + length + " bytes, above the limit of " + maxRemainingLength);
    }
    byte[] body = in.readNBytes(length);
    if (body.length < length) {
      throw new EOFException("the connection ended within a packet");
    }
    return decode(first, body);
  }

  /** The packet of fixed-header byte {@code first} and remaining bytes {@code body}. */
  public static Packet decode(int first, byte[] body) throws ProtocolException {
    int type = first >>> 4 & 0x0F;
    int flags = first & 0x0F;
    Reader r = new Reader(body);
    Packet p;
    switch (type) {
      case CONNECT -> {
        noFlags(type, flags);
        if (!"MQTT".equals(r.string()) || r.u8() != 4) {
          throw new ProtocolException("not MQTT 3.1.1");
        }
        int cf = r.u8();
        if ((cf & 0x01) != 0) {
          throw new ProtocolException("reserved CONNECT flag set [MQTT-3.1.2-3]");
        }
        if ((cf & 0x04) != 0 || (cf & 0x38) != 0) {
          throw new ProtocolException("a will, which this codec does not carry");
        }
        if ((cf & 0x40) != 0 && (cf & 0x80) == 0) {
          throw new ProtocolException("a password without a user name [MQTT-3.1.2-22]");
        }
        int keepAlive = r.u16();
        String clientId = r.string();
        String user = (cf & 0x80) != 0 ? r.string() : null;
        byte[] password = (cf & 0x40) != 0 ? r.binary() : null;
        p = new Connect(clientId, user, password, keepAlive, (cf & 0x02) != 0);
      }
      case CONNACK -> {
        noFlags(type, flags);
        int ack = r.u8();
        if ((ack & 0xFE) != 0) {
          throw new ProtocolException("reserved CONNACK flags set");
        }
        p = new ConnAck(ack == 1, r.u8());
      }
      case PUBLISH -> {
        int qos = flags >>> 1 & 0x03;
        boolean dup = (flags & 0x08) != 0;
        if (qos == 3) {
          throw new ProtocolException("a PUBLISH of QoS 3 [MQTT-3.3.1-4]");
        }
        if (qos == 0 && dup) {
          throw new ProtocolException("DUP set at QoS 0 [MQTT-3.3.1-2]");
        }
        String topic = r.string();
        int id = qos > 0 ? r.packetId() : 0;
        p = new Publish(topic, qos, id, dup, (flags & 0x01) != 0, r.rest());
      }
      case PUBACK -> {
        noFlags(type, flags);
        p = new PubAck(r.packetId());
      }
      case SUBSCRIBE -> {
        if (flags != 0x02) {
          throw new ProtocolException("SUBSCRIBE flags must be 0010 [MQTT-3.8.1-1]");
        }
        int id = r.packetId();
        List<String> topics = new ArrayList<>();
        List<Integer> qos = new ArrayList<>();
        while (r.remaining() > 0) {
          topics.add(r.string());
          int q = r.u8();
          if (q > 2) {
            throw new ProtocolException("a requested QoS of " + q + " [MQTT-3.8.3-4]");
          }
          qos.add(q);
        }
        if (topics.isEmpty()) {
          throw new ProtocolException("a SUBSCRIBE without a topic filter [MQTT-3.8.3-3]");
        }
        p = new Subscribe(id, List.copyOf(topics), List.copyOf(qos));
      }
      case SUBACK -> {
        noFlags(type, flags);
        int id = r.packetId();
        List<Integer> codes = new ArrayList<>();
        while (r.remaining() > 0) {
          int code = r.u8();
          if (code > 2 && code != SUBSCRIPTION_FAILED) {
            throw new ProtocolException("a SUBACK return code of " + code + " [MQTT-3.9.3-2]");
          }
          codes.add(code);
        }
        if (codes.isEmpty()) {
          throw new ProtocolException("a SUBACK without a return code");
        }
        p = new SubAck(id, List.copyOf(codes));
      }
      case PINGREQ -> {
        noFlags(type, flags);
        p = new PingReq();
      }
      case PINGRESP -> {
        noFlags(type, flags);
        p = new PingResp();
      }
      case DISCONNECT -> {
        noFlags(type, flags);
        p = new Disconnect();
      }
      default -> throw new ProtocolException("a packet of type " + type + ", not handled here");
    }
    if (r.remaining() != 0) {
      throw new ProtocolException(r.remaining() + " bytes left over in a packet of type " + type);
    }
    return p;
  }

  private static void noFlags(int type, int flags) throws ProtocolException {
    if (flags != 0) {
      throw new ProtocolException("reserved flags set in a packet of type " + type);
    }
  }

  /** Reads a packet's body, refusing to run past its end. */
  private static final class Reader {
    private final ByteBuffer buf;

    Reader(byte[] body) {
      this.buf = ByteBuffer.wrap(body);
    }

    int remaining() {
      return buf.remaining();
    }

    int u8() throws ProtocolException {
      need(1);
      return buf.get() & 0xFF;
    }

    int u16() throws ProtocolException {
      need(2);
      return buf.getShort() & 0xFFFF;
    }

    int packetId() throws ProtocolException {
      int id = u16();
      if (id == 0) {
        throw new ProtocolException("a packet id of 0 [MQTT-2.3.1-1]");
      }
      return id;
    }

    byte[] binary() throws ProtocolException {
      int n = u16();
      need(n);
      byte[] b = new byte[n];
      buf.get(b);
      return b;
    }

    /** A UTF-8 string: invalid UTF-8 and U+0000 are refused [MQTT-1.5.3-1, MQTT-1.5.3-2]. */
    String string() throws ProtocolException {
      String s;
      try {
        s =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(binary()))
                .toString();
      } catch (CharacterCodingException e) {
        throw new ProtocolException("a string that is not UTF-8");
      }
      if (s.indexOf('\0') >= 0) {
        throw new ProtocolException("a string holding U+0000");
      }
      return s;
    }

    byte[] rest() {
      byte[] b = new byte[buf.remaining()];
      buf.get(b);
      return b;
    }

    private void need(int n) throws ProtocolException {
      if (buf.remaining() < n) {
        throw new ProtocolException("a field runs past the end of its packet");
      }
    }
  }
}
