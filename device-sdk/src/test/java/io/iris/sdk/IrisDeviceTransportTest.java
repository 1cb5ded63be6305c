package io.iris.sdk;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.DeliveredMark;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.FakeBridge.Conn;
import io.iris.sdk.FakeBridge.Seen;
import io.iris.sdk.internals.MqttWire.ConnAck;
import io.iris.sdk.internals.MqttWire.Connect;
import io.iris.sdk.internals.MqttWire.Disconnect;
import io.iris.sdk.internals.MqttWire.PingReq;
import io.iris.sdk.internals.MqttWire.PubAck;
import io.iris.sdk.internals.MqttWire.Publish;
import io.iris.sdk.internals.MqttWire.SubAck;
import io.iris.sdk.internals.MqttWire.Subscribe;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The device's own MQTT transport against a scripted bridge on a local port ({@link FakeBridge}):
 * the one-flight connect, refusals, dead-connection detection on send and by keep-alive, the
 * network-changed signal, redirects and failover. Timeouts are generous: the machine is busy.
 */
class IrisDeviceTransportTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String E = "AAAAAAAAAAAAAAAAAAAAAA";
  private static final long THREAD = 100;

  private FakeBridge bridge;
  private final List<IrisDevice> devices = new ArrayList<>();
  private final List<Boolean> connectionEvents = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws IOException {
    bridge = new FakeBridge();
  }

  @AfterEach
  void stop() throws IOException {
    devices.forEach(IrisDevice::close);
    bridge.close();
  }

  private IrisDevice.Builder device() {
    return IrisDevice.builder()
        .serverUri(bridge.uri())
        .user(7)
        .device("phone")
        .token("secret")
        .lastPos(E, 10)
        .listener(
            new IrisDevice.Listener() {
              @Override
              public void onConnection(boolean up) {
                connectionEvents.add(up);
              }
            });
  }

  private IrisDevice build(IrisDevice.Builder b) {
    IrisDevice d = b.build();
    devices.add(d);
    return d;
  }

  /** Connects in the background: connect() returns only after the CONNACK. */
  private static CompletableFuture<Void> connectLater(IrisDevice d) {
    return CompletableFuture.runAsync(
        () -> {
          try {
            d.connect(WAIT);
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  private static String text(DeviceRequest r) {
    return r.getBody().getCommand().getBody().getSendMessage().getText();
  }

  /** The user's own delta at {@code pos} confirming the command of {@code clientId}. */
  private static ServerFrame own(long pos, long prevPos, String clientId) {
    Delta d =
        new Delta(
                7,
                THREAD,
                0,
                DeltaBody.newMessage(new NewMessage(pos, 7, "mine").setClientId(clientId)))
            .setPos(pos)
            .setPrevPos(prevPos);
    return new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(d), E, pos)));
  }

  // ------------------------------------------------------------------------------------------
  // One flight
  // ------------------------------------------------------------------------------------------

  @Test
  void shouldSendConnectSubscribePendingCommandsThenTheSyncInOneFlightBeforeTheConnAck()
      throws Exception {
    bridge.holdConnAck = true;
    CountingSockets sockets = new CountingSockets();
    IrisDevice d = build(device().socketFactory(sockets));
    d.send(THREAD, "first");
    d.send(THREAD, "second");

    CompletableFuture<Void> connecting = connectLater(d);
    Conn c = bridge.next(WAIT);

    Connect connect = c.expect(Connect.class, WAIT);
    assertEquals("7/phone", connect.clientId());
    assertEquals("7", connect.userName());
    assertArrayEquals("secret".getBytes(StandardCharsets.UTF_8), connect.password());
    assertTrue(connect.cleanSession());
    assertEquals(30, connect.keepAliveSeconds(), "the foreground keep-alive");
    Subscribe subscribe = c.expect(Subscribe.class, WAIT);
    assertEquals(List.of("iris/7/phone/down"), subscribe.topics());
    assertEquals(List.of(1), subscribe.qos());
    assertEquals("first", text(c.request(WAIT)), "the pending commands, in the order sent");
    assertEquals("second", text(c.request(WAIT)));
    DeviceRequest sync = c.request(WAIT);
    assertEquals(
        new SyncRequest(E, 10).setMaxDeltas(500).setForce(false), sync.getBody().getSync());

    for (Seen s : c.seen) {
      assertFalse(s.afterConnAck(), "all of the flight arrived before any CONNACK: " + s);
    }
    assertEquals(1, sockets.writes.get(), "one write: the whole flight flushed once");
    assertFalse(connecting.isDone(), "connect() waits for the CONNACK");
    assertFalse(d.isConnected());

    c.send(new ConnAck(false, 0), new SubAck(subscribe.packetId(), List.of(1)));
    connecting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(d.isConnected());
    assertEquals(List.of(true), connectionEvents);
  }

  @Test
  void shouldAskForASnapshotLastInTheFlightWithoutAPosition() throws Exception {
    bridge.holdConnAck = true;
    IrisDevice d = build(device().lastPos(null, -1));
    d.send(THREAD, "early");

    connectLater(d);
    Conn c = bridge.next(WAIT);

    c.expect(Connect.class, WAIT);
    c.expect(Subscribe.class, WAIT);
    assertEquals("early", text(c.request(WAIT)));
    assertTrue(c.request(WAIT).getBody().isSetSnapshot(), "then the snapshot request");
    assertTrue(c.seen.stream().noneMatch(Seen::afterConnAck));
  }

  // ------------------------------------------------------------------------------------------
  // Failures of the connect
  // ------------------------------------------------------------------------------------------

  @Test
  void shouldNotRetryAConnectionRefusedForTheDevice() throws Exception {
    bridge.connAckCode = 5; // not authorized: a revoked device
    IrisDevice d = build(device());

    IrisDevice.ConnectionRefusedException e =
        assertThrows(IrisDevice.ConnectionRefusedException.class, () -> d.connect(WAIT));
    assertEquals(5, e.returnCode());

    d.networkChanged(); // not even on a new network
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(10))
        .until(() -> bridge.count() == 1 && !d.isConnected());
  }

  @Test
  void shouldRetryAnyOtherFailureAndSendTheWholeFlightAgain() throws Exception {
    bridge.holdConnAck = true;
    IrisDevice d = build(device());
    d.send(THREAD, "pending");
    CompletableFuture<Void> connecting = connectLater(d);

    Conn first = bridge.next(WAIT);
    first.expect(Connect.class, WAIT);
    first.expect(Subscribe.class, WAIT);
    String clientId = first.request(WAIT).getRequestId();
    first.request(WAIT); // the sync
    first.reset(); // the flight is lost with the connection

    Conn second = bridge.next(WAIT);
    second.expect(Connect.class, WAIT);
    second.expect(Subscribe.class, WAIT);
    assertEquals(clientId, second.request(WAIT).getRequestId(), "the same command again");
    assertTrue(second.request(WAIT).getBody().isSetSync());
    second.send(new ConnAck(false, 0));
    connecting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(d.isConnected());
  }

  @Test
  void shouldRetryAConnectionTheServerCannotTakeNow() throws Exception {
    bridge.connAckCode = 3; // server unavailable: not the device's fault
    IrisDevice d = build(device());

    assertThrows(SocketTimeoutException.class, () -> d.connect(Duration.ofMillis(200)));
    await().atMost(WAIT).until(() -> bridge.count() >= 2);
    bridge.connAckCode = 0;
    await().atMost(WAIT).until(d::isConnected);
  }

  @Test
  void shouldTryTheNextServerUriWhenTheFirstCannotBeReached() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    IrisDevice d = build(device().serverUris("tcp://127.0.0.1:" + closedPort, bridge.uri()));

    d.connect(WAIT);

    assertTrue(d.isConnected());
    assertTrue(d.connection().startsWith(bridge.uri() + " up"), d.connection());
  }

  // ------------------------------------------------------------------------------------------
  // Dead connections
  // ------------------------------------------------------------------------------------------

  @Test
  void shouldRaceASecondConnectionWhenTheServerGoesSilentAfterASendAndGoOnThere() throws Exception {
    IrisDevice d = build(device().deadConnectionAfter(Duration.ofSeconds(1)));
    d.connect(WAIT);
    Conn first = bridge.next(WAIT);
    await().atMost(WAIT).until(() -> first.seen.size() >= 3); // CONNECT, SUBSCRIBE, sync
    first.silent = true;

    long sentAt = System.nanoTime();
    CompletableFuture<io.iris.protocol.thrift.Delta> sent = d.send(THREAD, "hello");
    String clientId = first.request("command", WAIT).getRequestId();
    Conn second = bridge.next(WAIT);
    long after = System.nanoTime() - sentAt;

    assertTrue(after >= TimeUnit.MILLISECONDS.toNanos(900), "not before 1 s: " + after / 1e6);
    assertTrue(after < TimeUnit.SECONDS.toNanos(10), "within 1 s and a margin: " + after / 1e6);
    second.expect(Connect.class, WAIT);
    second.expect(Subscribe.class, WAIT);
    assertEquals(clientId, second.request(WAIT).getRequestId(), "the unanswered command again");
    assertTrue(second.request(WAIT).getBody().isSetSync(), "then the sync");
    await("the silent connection closed").atMost(WAIT).until(first::ended);
    assertTrue(d.isConnected());
    assertEquals(List.of(true), connectionEvents, "the app saw no interruption");

    int id = second.push(own(11, 10, clientId));
    assertEquals(
        clientId,
        sent.get(WAIT.toSeconds(), TimeUnit.SECONDS).getBody().getNewMessage().getClientId(),
        "confirmed over the second connection");
    await()
        .atMost(WAIT)
        .until(
            () ->
                second.seen.stream()
                    .anyMatch(s -> s.packet() instanceof PubAck a && a.packetId() == id));
    assertEquals(11, d.lastPos());
  }

  @Test
  void shouldKeepTheSilentConnectionWhenItAnswersBeforeTheSecondIsAccepted() throws Exception {
    IrisDevice d = build(device().deadConnectionAfter(Duration.ofSeconds(1)));
    d.connect(WAIT);
    Conn first = bridge.next(WAIT);
    await().atMost(WAIT).until(() -> first.seen.size() >= 3);
    first.silent = true;
    bridge.holdConnAck = true;

    d.send(THREAD, "hello");
    Publish command = first.publish("command", WAIT);
    Conn second = bridge.next(WAIT);
    second.expect(Connect.class, WAIT);
    second.expect(Subscribe.class, WAIT);
    String clientId = second.request(WAIT).getRequestId();
    second.request(WAIT); // its sync
    first.silent = false;
    first.send(new PubAck(command.packetId())); // late, but before any CONNACK on the second

    await("the second connection given up").atMost(WAIT).until(second::ended);
    assertEquals(clientId, first.request("command", WAIT).getRequestId(), "sent again here");
    first.request("sync", WAIT);
    assertFalse(first.ended());
    assertTrue(d.isConnected());
    assertEquals(2, bridge.count());
  }

  @Test
  void shouldDeclareAConnectionDeadWhenItsPingIsNotAnswered() throws Exception {
    bridge.answerPings = false;
    IrisDevice d =
        build(
            device().keepAlive(Duration.ofSeconds(1)).deadConnectionAfter(Duration.ofSeconds(60)));
    d.connect(WAIT);
    Conn first = bridge.next(WAIT);
    assertEquals(1, first.expect(Connect.class, WAIT).keepAliveSeconds());

    await()
        .atMost(WAIT)
        .until(() -> first.seen.stream().anyMatch(s -> s.packet() instanceof PingReq));
    long pingAt =
        first.seen.stream().filter(s -> s.packet() instanceof PingReq).findFirst().get().atNanos();
    await("closed by the device").atMost(WAIT).until(first::ended);
    long silentFor = first.endedAtNanos - pingAt;

    assertTrue(silentFor >= TimeUnit.MILLISECONDS.toNanos(1300), "1.5 s: " + silentFor / 1e6);
    bridge.answerPings = true;
    Conn second = bridge.next(WAIT);
    second.expect(Connect.class, WAIT);
    await().atMost(WAIT).until(d::isConnected);
  }

  @Test
  void shouldKeepAConnectionWhosePingsAreAnswered() throws Exception {
    IrisDevice d = build(device().keepAlive(Duration.ofSeconds(1)));
    d.connect(WAIT);
    Conn c = bridge.next(WAIT);

    await()
        .during(Duration.ofSeconds(4))
        .atMost(WAIT)
        .until(() -> !c.ended() && bridge.count() == 1 && d.isConnected());
    assertTrue(c.seen.stream().filter(s -> s.packet() instanceof PingReq).count() >= 2);
  }

  @Test
  void shouldDropTheConnectionAndReconnectAtOnceWhenTheNetworkChanges() throws Exception {
    IrisDevice d = build(device());
    d.connect(WAIT);
    Conn first = bridge.next(WAIT);

    d.networkChanged();

    Conn second = bridge.next(WAIT);
    second.expect(Connect.class, WAIT);
    await("the old connection dropped").atMost(WAIT).until(first::ended);
    await().atMost(WAIT).until(d::isConnected);
    assertEquals(List.of(true, false, true), connectionEvents);
  }

  @Test
  void shouldReconnectWithoutTheBackoffWhenTheNetworkChanges() throws Exception {
    bridge.connAckCode = 3; // server unavailable, five times: the next try waits 2 to 4 s
    IrisDevice d = build(device().maxReconnectDelay(Duration.ofSeconds(60)));
    assertThrows(SocketTimeoutException.class, () -> d.connect(Duration.ofMillis(100)));
    await().atMost(WAIT).until(() -> bridge.count() == 5);
    Conn fifth = bridge.connections.get(4);
    await().atMost(WAIT).until(fifth::ended); // refused, and closed by the device
    bridge.connAckCode = 0;

    long changedAt = System.nanoTime();
    d.networkChanged();

    await().atMost(WAIT).until(() -> bridge.count() == 6);
    Conn sixth = bridge.connections.get(5);
    sixth.expect(Connect.class, WAIT);
    long took = sixth.acceptedAtNanos - changedAt;
    assertTrue(took < TimeUnit.MILLISECONDS.toNanos(1900), "at once, not in 2 s: " + took / 1e6);
    await().atMost(WAIT).until(d::isConnected);
  }

  // ------------------------------------------------------------------------------------------
  // Frames, redirects, closing
  // ------------------------------------------------------------------------------------------

  @Test
  void shouldAcknowledgeWhatIsPushedAndEndWithTheLastAckAndADisconnect() throws Exception {
    List<Delta> applied = new CopyOnWriteArrayList<>();
    IrisDevice d =
        build(
            device()
                .ackEvery(50, Duration.ofMinutes(1))
                .listener(
                    new IrisDevice.Listener() {
                      @Override
                      public void onDeltas(List<Delta> deltas) {
                        applied.addAll(deltas);
                      }
                    }));
    d.connect(WAIT);
    Conn c = bridge.next(WAIT);

    int id = c.push(own(11, 10, "someone's"));
    await().atMost(WAIT).until(() -> applied.size() == 1);
    await()
        .atMost(WAIT)
        .until(
            () ->
                c.seen.stream()
                    .anyMatch(s -> s.packet() instanceof PubAck a && a.packetId() == id));
    d.close();

    DeviceRequest ack = c.request("ack", WAIT);
    assertEquals(11, ack.getBody().getAck().getPos());
    assertInstanceOf(Disconnect.class, c.next(WAIT), "DISCONNECT right after the last ack");
    await().atMost(WAIT).until(c::ended);
    assertFalse(d.isConnected());
  }

  /** Message {@code messageId} of {@code sender} in {@code thread}, pushed at {@code pos}. */
  private static ServerFrame message(
      long thread, long sender, long messageId, long pos, long prevPos) {
    Delta d =
        new Delta(7, thread, 0, DeltaBody.newMessage(new NewMessage(messageId, sender, "m")))
            .setPos(pos)
            .setPrevPos(prevPos);
    return new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(List.of(d), E, pos)));
  }

  @Test
  void shouldPutDeliveredMarksOfOtherUsersMessagesInTheAckItSendsAnyway() throws Exception {
    IrisDevice d = build(device().ackEvery(2, Duration.ofMinutes(1)));
    d.connect(WAIT);
    Conn c = bridge.next(WAIT);

    c.push(message(THREAD, 8, 5, 11, 10));
    c.push(message(200, 7, 6, 12, 11)); // the device's own user's

    Ack ack = c.request("ack", WAIT).getBody().getAck();
    assertEquals(12, ack.getPos());
    assertEquals(List.of(new DeliveredMark(THREAD, 5)), ack.getDelivered());
  }

  @Test
  void shouldSendNoDeliveredMarksWhenReceiptsAreOff() throws Exception {
    IrisDevice d = build(device().ackEvery(1, Duration.ofMinutes(1)).deliveryReceipts(false));
    d.connect(WAIT);
    Conn c = bridge.next(WAIT);

    c.push(message(THREAD, 8, 5, 11, 10));

    Ack ack = c.request("ack", WAIT).getBody().getAck();
    assertEquals(11, ack.getPos());
    assertFalse(ack.isSetDelivered());
  }

  @Test
  void shouldSendTheMarksOfAnAckWithoutPubAckAgainOnTheNextConnection() throws Exception {
    IrisDevice d = build(device().ackEvery(1, Duration.ofMinutes(1)));
    d.connect(WAIT);
    Conn first = bridge.next(WAIT);
    first.expect(Connect.class, WAIT);
    first.expect(Subscribe.class, WAIT);
    first.silent = true; // the test answers from here on

    first.push(message(THREAD, 8, 5, 11, 10));
    Publish arrived = first.publish("ack", WAIT);
    first.send(new PubAck(arrived.packetId()));
    first.push(message(200, 8, 7, 12, 11)); // read after that PUBACK
    first.publish("ack", WAIT); // no PUBACK: maybe lost
    first.reset();

    Conn second = bridge.next(WAIT);
    second.request("sync", WAIT);
    second.push(message(300, 8, 2, 13, 12));

    Ack ack = second.request("ack", WAIT).getBody().getAck();
    assertEquals(13, ack.getPos());
    assertEquals(
        List.of(new DeliveredMark(200, 7), new DeliveredMark(300, 2)),
        ack.getDelivered(),
        "the mark of the ack without PUBACK again; not the one that arrived");
  }

  @Test
  void shouldFollowARedirectToTheBridgeNamed() throws Exception {
    try (FakeBridge owner = new FakeBridge()) {
      IrisDevice d = build(device());
      d.connect(WAIT);
      Conn wrong = bridge.next(WAIT);
      wrong.expect(Connect.class, WAIT);
      wrong.expect(Subscribe.class, WAIT);

      wrong.push(
          new ServerFrame(
              ServerFrameBody.redirect(new Redirect(List.of(owner.uri()), "moved", 3))));

      Conn right = owner.next(WAIT);
      right.expect(Connect.class, WAIT);
      right.expect(Subscribe.class, WAIT);
      assertTrue(right.request(WAIT).getBody().isSetSync(), "catching up there");
      await()
          .atMost(WAIT)
          .until(() -> wrong.seen.stream().anyMatch(s -> s.packet() instanceof Disconnect));
      await().atMost(WAIT).until(d::isConnected);
      assertEquals(1, d.redirects());
      assertTrue(d.connection().startsWith(owner.uri() + " up"), d.connection());
    }
  }

  /** Plain sockets that count themselves and the writes made to them: a flight is one. */
  static final class CountingSockets extends SocketFactory {
    final AtomicInteger created = new AtomicInteger();
    final AtomicInteger writes = new AtomicInteger();

    @Override
    public Socket createSocket() {
      created.incrementAndGet();
      return new Socket() {
        @Override
        public OutputStream getOutputStream() throws IOException {
          return new FilterOutputStream(super.getOutputStream()) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              writes.incrementAndGet();
              out.write(b, off, len);
            }

            @Override
            public void write(int b) throws IOException {
              writes.incrementAndGet();
              out.write(b);
            }
          };
        }
      };
    }

    @Override
    public Socket createSocket(String host, int port) {
      throw new UnsupportedOperationException("the device makes its sockets unconnected");
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException();
    }
  }
}
