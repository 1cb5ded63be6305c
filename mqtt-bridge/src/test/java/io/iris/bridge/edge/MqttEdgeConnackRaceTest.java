package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A device that waits for its CONNACK and subscribes at once. Moquette 0.17 marks the connection
 * open in a listener of the CONNACK's write that its session loop attaches only after the write was
 * started; a SUBSCRIBE read before that listener has run closes the connection, about once in 100
 * to 150 immediate reconnects. Played many times, fresh and taking over the device's previous
 * connection, against the real Moquette of {@link MqttEdge}: with its {@link ConnackGate} none is
 * lost.
 */
class MqttEdgeConnackRaceTest {
  private static final String CLIENT = "42/phone";
  private static final String DOWN = "iris/42/phone/down";
  private static final int ROUNDS = 600;

  @Test
  void shouldAnswerASubscribeSentTheMomentTheConnAckIsRead() throws Exception {
    MqttEdge edge = MqttWire.startedEdge();
    List<String> lost = new ArrayList<>();
    Socket previous = null;
    try {
      for (int round = 0; round < ROUNDS; round++) {
        // Every other round takes over the connection still open from the round before.
        boolean takeover = round % 2 == 1;
        if (!takeover && previous != null) {
          previous.close();
        }
        Socket s = MqttWire.open(edge.settings().port());
        s.getOutputStream().write(MqttWire.connect(CLIENT, "42"));
        MqttWire.expectConnAck(s);
        s.getOutputStream().write(MqttWire.subscribe(round + 1, DOWN));
        try {
          MqttWire.Packet p = MqttWire.read(s);
          if (p.type() != MqttWire.SUBACK || p.packetId() != round + 1) {
            lost.add("round " + round + ": packet type " + p.type());
          }
        } catch (IOException closed) {
          lost.add("round " + round + (takeover ? " (takeover)" : "") + ": " + closed);
        }
        if (previous != null) {
          previous.close();
        }
        previous = s;
      }
    } finally {
      if (previous != null) {
        previous.close();
      }
      edge.close();
    }
    assertEquals(List.of(), lost, lost.size() + " of " + ROUNDS + " subscribes lost");
  }
}
