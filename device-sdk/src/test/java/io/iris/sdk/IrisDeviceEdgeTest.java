package io.iris.sdk;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.iris.bridge.edge.DeviceTopicPolicy;
import io.iris.bridge.edge.MqttEdge;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptPublishMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The device against the real MQTT edge: the bridge's embedded Moquette with its ConnackGate, which
 * takes a SUBSCRIBE and PUBLISHes sent behind the CONNECT (Moquette alone closes such a
 * connection). The test plays the rest of the bridge: it answers each sync request with nothing
 * newer, and confirms each command with the user's own delta.
 */
class IrisDeviceEdgeTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final FrameCodec CODEC = FrameCodec.defaults();
  private static final String E = "AAAAAAAAAAAAAAAAAAAAAA";
  private static final String DOWN = "iris/7/phone/down";

  private static final Bridge bridge = new Bridge();
  private static MqttEdge edge;
  private static String uri;

  @BeforeAll
  static void start() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    edge =
        new MqttEdge(
            new MqttEdge.Settings("127.0.0.1", port, 64 * 1024, null),
            (client, user, password) ->
                "7".equals(user) && "secret".equals(new String(password, StandardCharsets.UTF_8)),
            new DeviceTopicPolicy(),
            List.of(bridge));
    edge.start();
    uri = "tcp://127.0.0.1:" + port;
  }

  @AfterAll
  static void stop() {
    edge.close();
    bridge.answers.shutdownNow();
  }

  @BeforeEach
  void forget() {
    bridge.requests.clear();
  }

  private static IrisDevice.Builder device(IrisDeviceTransportTest.CountingSockets sockets) {
    return IrisDevice.builder()
        .serverUri(uri)
        .user(7)
        .device("phone")
        .token("secret")
        .lastPos(E, 10)
        .socketFactory(sockets);
  }

  @Test
  void shouldConnectSyncAndSendInOneFlightThroughTheRealEdge() throws Exception {
    IrisDeviceTransportTest.CountingSockets sockets = new IrisDeviceTransportTest.CountingSockets();
    try (IrisDevice d = device(sockets).build()) {
      CompletableFuture<Delta> sent = d.send(100, "early");

      d.connect(WAIT);

      Delta own = sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertEquals("early", own.getBody().getNewMessage().getText());
      await().atMost(WAIT).until(() -> bridge.requests.size() >= 2);
      assertEquals(
          List.of("command", "sync"),
          bridge.requests.subList(0, 2).stream()
              .map(r -> r.getBody().getSetField().getFieldName())
              .toList(),
          "the pending command before the sync");
      assertEquals(1, sockets.created.get(), "accepted at the first try");
    }
  }

  @Test
  void shouldReconnectInOneFlightOverAndOverWithoutBeingClosed() throws Exception {
    IrisDeviceTransportTest.CountingSockets sockets = new IrisDeviceTransportTest.CountingSockets();
    try (IrisDevice d = device(sockets).build()) {
      d.connect(WAIT);
      int reconnects = 20;
      for (int i = 1; i <= reconnects; i++) {
        int syncs = i + 1;
        d.networkChanged();
        await()
            .atMost(WAIT)
            .until(() -> d.isConnected() && syncsSeen() >= syncs && sockets.created.get() == syncs);
      }
      assertEquals(1 + reconnects, sockets.created.get(), "no connection closed by the edge");
    }
  }

  @Test
  void shouldNotRetryWhenTheEdgeRefusesTheToken() throws Exception {
    IrisDeviceTransportTest.CountingSockets sockets = new IrisDeviceTransportTest.CountingSockets();
    try (IrisDevice d = device(sockets).token("wrong").build()) {
      IrisDevice.ConnectionRefusedException e =
          assertThrows(IrisDevice.ConnectionRefusedException.class, () -> d.connect(WAIT));

      assertEquals(4, e.returnCode(), "bad user name or password");
      await()
          .during(Duration.ofSeconds(2))
          .atMost(WAIT)
          .until(() -> sockets.created.get() == 1 && bridge.requests.isEmpty());
    }
  }

  private static long syncsSeen() {
    return bridge.requests.stream().filter(r -> r.getBody().isSetSync()).count();
  }

  /** The bridge behind the edge, as far as these tests need it. */
  static final class Bridge extends AbstractInterceptHandler {
    final List<DeviceRequest> requests = new CopyOnWriteArrayList<>();
    final ExecutorService answers = Executors.newSingleThreadExecutor();

    @Override
    public String getID() {
      return "device-sdk-test-bridge";
    }

    @Override
    public void onSessionLoopError(Throwable error) {}

    @Override
    public void onPublish(InterceptPublishMessage msg) {
      byte[] payload;
      try {
        payload = new byte[msg.getPayload().readableBytes()];
        msg.getPayload().getBytes(msg.getPayload().readerIndex(), payload);
      } finally {
        msg.getPayload().release();
      }
      DeviceRequest r = CODEC.decode(payload, DeviceRequest::new);
      requests.add(r);
      answers.execute(() -> answer(r));
    }

    private void answer(DeviceRequest r) {
      if (r.getBody().isSetSync()) {
        long after = r.getBody().getSync().getAfterPos();
        edge.publish(
            DOWN,
            CODEC.encode(
                new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(), E, after)))
                    .setRequestId(r.getRequestId())));
      } else if (r.getBody().isSetCommand()) {
        String clientId = r.getBody().getCommand().getClientId();
        String text = r.getBody().getCommand().getBody().getSendMessage().getText();
        Delta d =
            new Delta(
                    7,
                    100,
                    0,
                    DeltaBody.newMessage(new NewMessage(11, 7, text).setClientId(clientId)))
                .setPos(11)
                .setPrevPos(10);
        edge.publish(
            DOWN,
            CODEC.encode(
                new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(d), E, 11)))));
      }
    }
  }
}
