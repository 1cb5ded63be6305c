package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** MQTT 3.1.1 packets as bytes, for raw sockets against the real Moquette of {@link MqttEdge}. */
final class MqttWire {
  static final int CONNACK = 0x20;
  static final int PUBLISH = 0x30;
  static final int PUBACK = 0x40;
  static final int SUBACK = 0x90;
  static final int PINGRESP = 0xD0;

  private MqttWire() {}

  /** A packet read: its type (the high nibble of its first byte) and what follows its length. */
  record Packet(int type, byte[] body) {
    /** The packet id of a PUBACK or SUBACK. */
    int packetId() {
      return ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
    }
  }

  /** A CONNECT with user name and password, clean session, keep-alive 60 s. */
  static byte[] connect(String clientId, String user) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    string(v, "MQTT");
    v.write(4); // 3.1.1
    v.write(0xC2); // user name, password, clean session
    v.write(0);
    v.write(60); // keep-alive
    string(v, clientId);
    string(v, user);
    string(v, "token");
    return packet(0x10, v.toByteArray());
  }

  /** A SUBSCRIBE to {@code topic} at QoS 1. */
  static byte[] subscribe(int packetId, String topic) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    v.write(packetId >> 8);
    v.write(packetId);
    string(v, topic);
    v.write(1); // QoS 1
    return packet(0x82, v.toByteArray());
  }

  /** A PUBLISH at QoS 1. */
  static byte[] publish(int packetId, String topic, byte[] payload) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    string(v, topic);
    v.write(packetId >> 8);
    v.write(packetId);
    v.writeBytes(payload);
    return packet(0x32, v.toByteArray());
  }

  static byte[] pingreq() {
    return new byte[] {(byte) 0xC0, 0};
  }

  /** The packets one after the other: for one {@code write()}. */
  static byte[] flight(byte[]... packets) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : packets) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  static Socket open(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setTcpNoDelay(true);
    s.setSoTimeout(10_000); // generous: a busy machine; a broken connection ends sooner
    return s;
  }

  static Packet read(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int header = in.readUnsignedByte();
    return new Packet(header & 0xF0, in.readNBytes(remainingLength(in)));
  }

  static Packet expect(Socket s, int type) throws IOException {
    Packet p = read(s);
    assertEquals(type, p.type(), "packet type");
    return p;
  }

  /** Reads an accepted CONNACK. */
  static void expectConnAck(Socket s) throws IOException {
    assertEquals(0, expect(s, CONNACK).body()[1], "CONNACK accepted");
  }

  /** Whether the broker has closed {@code s}: its next read is the end of the stream. */
  static boolean closedByBroker(Socket s) {
    try {
      return s.getInputStream().read() < 0;
    } catch (IOException reset) {
      return true;
    }
  }

  static int remainingLength(DataInputStream in) throws IOException {
    int value = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in.readUnsignedByte();
      value |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
  }

  private static void string(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.write(b.length >> 8);
    out.write(b.length);
    out.writeBytes(b);
  }

  static byte[] packet(int header, byte[] body) {
    ByteArrayOutputStream p = new ByteArrayOutputStream();
    p.write(header);
    int length = body.length;
    do {
      int b = length & 0x7F;
      length >>= 7;
      p.write(length > 0 ? b | 0x80 : b);
    } while (length > 0);
    p.writeBytes(body);
    return p.toByteArray();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A started edge on a free port that lets every device in, with the devices' topic policy. */
  static MqttEdge startedEdge() throws IOException {
    MqttEdge edge =
        new MqttEdge(
            new MqttEdge.Settings("127.0.0.1", freePort(), 64 * 1024, null),
            (client, user, password) -> true,
            new DeviceTopicPolicy(),
            java.util.List.of());
    edge.start();
    return edge;
  }
}
