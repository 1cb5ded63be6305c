package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * A device that reconnects while its previous connection still acknowledges deltas: Moquette 0.17
 * purges the old session (releasing its in-flight deltas) and then, if a PUBACK of the old
 * connection is read before that connection closes, releases the same delta a second time. With a
 * payload that counts its references the second release throws in Moquette's session loop, which
 * ends the loop: every device bound to it is never served again. The race is played over raw MQTT
 * sockets against the real Moquette of {@link MqttEdge}, many times, at varied delays.
 */
class MqttEdgeTakeoverTest {
  private static final String USER = "42";
  private static final String CLIENT = "42/phone";
  private static final String DOWN = "iris/42/phone/down";
  private static final int DELTAS = 10;

  @Test
  void shouldKeepItsSessionLoopsAliveWhenADeviceTakesOverItsOwnConnectionWhileAcknowledging()
      throws Exception {
    MqttEdge edge = MqttWire.startedEdge();
    try {
      int port = edge.settings().port();
      int takeovers = 0;
      Socket old = connect(port);
      for (int round = 0; round < 200 && edge.deadSessionLoops() == null; round++) {
        List<Integer> inFlight = subscribeAndReceive(edge, old);
        Socket next = new Socket("127.0.0.1", port);
        next.setTcpNoDelay(true);
        next.getOutputStream().write(MqttWire.connect(CLIENT, USER));
        next.getOutputStream().flush();
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(0, 3_000_000));
        acknowledgeUntilClosed(old, inFlight);
        old.close();
        MqttWire.expectConnAck(next);
        takeovers++;
        old = next;
      }
      old.close();
      assertNull(edge.deadSessionLoops(), "after " + takeovers + " takeovers");
      assertTrue(takeovers >= 200, "all rounds played: " + takeovers);
    } finally {
      edge.close();
    }
  }

  /** Subscribes {@code socket} to its topic, publishes deltas and reads them without acking. */
  private static List<Integer> subscribeAndReceive(MqttEdge edge, Socket socket)
      throws IOException {
    socket.getOutputStream().write(MqttWire.subscribe(1, DOWN));
    DataInputStream in = new DataInputStream(socket.getInputStream());
    expectType(in, 0x90); // SUBACK
    for (int i = 0; i < DELTAS; i++) {
      edge.publish(DOWN, ("delta " + i).getBytes(StandardCharsets.UTF_8));
    }
    List<Integer> ids = new ArrayList<>();
    while (ids.size() < DELTAS) {
      int header = in.readUnsignedByte();
      byte[] body = in.readNBytes(MqttWire.remainingLength(in));
      if ((header & 0xF0) == 0x30) {
        int topicLength = ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
        ids.add(((body[2 + topicLength] & 0xFF) << 8) | (body[3 + topicLength] & 0xFF));
      }
    }
    return ids;
  }

  /** PUBACKs every delta, again and again, until the broker has closed the connection. */
  private static void acknowledgeUntilClosed(Socket socket, List<Integer> ids) {
    ByteArrayOutputStream acks = new ByteArrayOutputStream();
    for (int id : ids) {
      acks.writeBytes(new byte[] {0x40, 2, (byte) (id >> 8), (byte) id});
    }
    try {
      OutputStream out = socket.getOutputStream();
      for (int i = 0; i < 300; i++) {
        out.write(acks.toByteArray());
        out.flush();
      }
    } catch (IOException closedByTheBroker) {
      // what ends the loop
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setTcpNoDelay(true);
    s.getOutputStream().write(MqttWire.connect(CLIENT, USER));
    MqttWire.expectConnAck(s);
    return s;
  }

  private static byte[] expectType(DataInputStream in, int type) throws IOException {
    int header = in.readUnsignedByte();
    byte[] body = in.readNBytes(MqttWire.remainingLength(in));
    assertEquals(type, header & 0xF0, "packet type");
    return body;
  }

  private static int freePort() throws IOException {
    return MqttWire.freePort();
  }
}
