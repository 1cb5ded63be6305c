package io.iris.bridge.edge;

import static io.iris.bridge.edge.MqttWire.CONNACK;
import static io.iris.bridge.edge.MqttWire.PUBACK;
import static io.iris.bridge.edge.MqttWire.SUBACK;
import static io.iris.bridge.edge.MqttWire.connect;
import static io.iris.bridge.edge.MqttWire.expect;
import static io.iris.bridge.edge.MqttWire.expectConnAck;
import static io.iris.bridge.edge.MqttWire.flight;
import static io.iris.bridge.edge.MqttWire.publish;
import static io.iris.bridge.edge.MqttWire.subscribe;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptPublishMessage;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A device that sends its SUBSCRIBE and PUBLISHes right behind its CONNECT, in one flight, without
 * waiting for CONNACK: played over raw sockets against the real Moquette of {@link MqttEdge}, whose
 * {@link ConnackGate} holds the packets until the connection is open.
 */
class MqttEdgeFlightTest {
  private static final String CLIENT = "42/phone";
  private static final String USER = "42";
  private static final String UP = "iris/42/phone/up";
  private static final String DOWN = "iris/42/phone/down";

  /** The user the edge refuses. */
  private static final String REFUSED = "41";

  private static final Publishes publishes = new Publishes();
  private static MqttEdge edge;
  private static int port;

  @BeforeAll
  static void start() throws Exception {
    edge =
        new MqttEdge(
            new MqttEdge.Settings("127.0.0.1", MqttWire.freePort(), 64 * 1024, null),
            (client, user, password) -> !REFUSED.equals(user),
            new DeviceTopicPolicy(),
            List.of(publishes));
    edge.start();
    port = edge.settings().port();
  }

  @AfterAll
  static void stop() {
    edge.close();
  }

  @BeforeEach
  void forgetPublishes() {
    publishes.seen.clear();
  }

  @Test
  void shouldAnswerASubscribeSentWithTheConnect() throws Exception {
    try (Socket s = MqttWire.open(port)) {
      s.getOutputStream().write(flight(connect(CLIENT, USER), subscribe(1, DOWN)));

      expectConnAck(s);
      assertEquals(1, expect(s, SUBACK).packetId());
    }
  }

  @Test
  void shouldAcknowledgeAndInterceptAPublishSentWithTheConnect() throws Exception {
    // Many devices at once: without the gate Moquette loses such a publish only when its session
    // loop has not bound the client yet, which is most of the time, not all of it.
    List<Socket> devices = new ArrayList<>();
    List<String> expected = new ArrayList<>();
    try {
      for (int user = 100; user < 120; user++) {
        String client = user + "/phone";
        String up = "iris/" + client + "/up";
        Socket s = MqttWire.open(port);
        devices.add(s);
        s.getOutputStream()
            .write(
                flight(
                    connect(client, Integer.toString(user)),
                    publish(7, up, bytes("command " + user))));
        expected.add(client + " " + up + " command " + user);
      }
      for (Socket s : devices) {
        expectConnAck(s);
        assertEquals(7, expect(s, PUBACK).packetId());
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> publishes.seen.size() >= expected.size());
      // A later round trip: a second delivery of a publish would have been seen by now.
      Socket last = devices.get(devices.size() - 1);
      last.getOutputStream().write(MqttWire.pingreq());
      expect(last, MqttWire.PINGRESP);
      List<String> seen = new ArrayList<>(publishes.seen);
      Collections.sort(seen);
      assertEquals(expected, seen, "each publish seen once");
    } finally {
      for (Socket s : devices) {
        s.close();
      }
    }
  }

  @Test
  void shouldAnswerAWholeFlightInOrder() throws Exception {
    try (Socket s = MqttWire.open(port)) {
      s.getOutputStream()
          .write(
              flight(
                  connect(CLIENT, USER),
                  subscribe(1, DOWN),
                  publish(2, UP, bytes("pending command")),
                  publish(3, UP, bytes("sync request"))));

      expectConnAck(s);
      assertEquals(1, expect(s, SUBACK).packetId());
      assertEquals(2, expect(s, PUBACK).packetId());
      assertEquals(3, expect(s, PUBACK).packetId());
      await().atMost(Duration.ofSeconds(10)).until(() -> publishes.seen.size() >= 2);
      assertEquals(
          List.of(CLIENT + " " + UP + " pending command", CLIENT + " " + UP + " sync request"),
          publishes.seen);
      // And the subscription is in place: a delta reaches the device.
      edge.publish(DOWN, bytes("delta"));
      assertTrue(
          new String(expect(s, MqttWire.PUBLISH).body(), StandardCharsets.UTF_8).endsWith("delta"));
    }
  }

  @Test
  void shouldCloseARefusedConnectionAndDropWhatFollowedItsConnectQuietly() throws Exception {
    try (LogCapture logs = new LogCapture();
        Socket s = MqttWire.open(port)) {
      s.getOutputStream()
          .write(
              flight(
                  connect("41/phone", REFUSED),
                  subscribe(1, "iris/41/phone/down"),
                  publish(2, "iris/41/phone/up", bytes("not for a refused device"))));

      byte[] connack = expect(s, CONNACK).body();
      assertEquals(4, connack[1], "refused: bad user name or password");
      assertTrue(MqttWire.closedByBroker(s), "closed after the refusal");
      // Moquette logs what reaches it of a refused connection at once; nothing does.
      await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(5))
          .until(() -> logs.lines().isEmpty());
      assertTrue(edge.refusedConnects() >= 1);
      assertEquals(List.of(), publishes.seen);
    }
  }

  @Test
  void shouldCloseAConnectionThatConnectsAgainWithoutAnswering() throws Exception {
    long refused = edge.refusedConnects();
    try (Socket s = MqttWire.open(port)) {
      s.getOutputStream().write(flight(connect(CLIENT, USER), subscribe(1, DOWN)));
      expectConnAck(s);
      expect(s, SUBACK);

      // A CONNECT that comes through no gate: closed unanswered, the way a connection accepted
      // before the gate was installed is.
      s.getOutputStream().write(connect(CLIENT, USER));

      assertTrue(MqttWire.closedByBroker(s), "closed, with no CONNACK");
      assertEquals(refused, edge.refusedConnects(), "not refused: the device is not at fault");
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** What the broker hands on of devices' publishes: client, topic and payload. */
  static final class Publishes extends AbstractInterceptHandler {
    final List<String> seen = new CopyOnWriteArrayList<>();

    @Override
    public String getID() {
      return "test-publishes";
    }

    @Override
    public void onSessionLoopError(Throwable error) {}

    @Override
    public void onPublish(InterceptPublishMessage msg) {
      try {
        seen.add(
            msg.getClientID()
                + " "
                + msg.getTopicName()
                + " "
                + msg.getPayload().toString(StandardCharsets.UTF_8));
      } finally {
        msg.getPayload().release();
      }
    }
  }
}
