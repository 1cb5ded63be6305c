package io.iris.bridge.edge;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moquette.broker.Server;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * The gate's states over an embedded channel, with a stand-in for Moquette's handler: what it holds
 * back, when it lets it through, and that it frees every buffer it holds when it does not.
 */
class ConnackGateTest {
  private final Map<String, Channel> connections = new ConcurrentHashMap<>();
  private final List<Object> moquette = new ArrayList<>();
  private final EmbeddedChannel channel = new EmbeddedChannel();

  ConnackGateTest() {
    channel.pipeline().addLast(new ConnackGate.Installer(1024, connections));
    channel
        .pipeline()
        .addLast(
            "handler",
            new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                moquette.add(msg);
              }
            });
  }

  @Test
  void shouldTakeItsPlaceInEachPipeline() {
    assertTrue(channel.pipeline().get(ConnackGate.NAME) instanceof ConnackGate);
    assertEquals(List.of(ConnackGate.NAME, "handler"), names());
  }

  @Test
  void shouldHoldBackWhatFollowsTheConnectUntilTheConnectionIsOpen() {
    MqttMessage connect = connect();
    channel.writeInbound(connect);
    assertEquals(List.of(connect), moquette, "the CONNECT goes on at once");

    MqttMessage subscribe = subscribe();
    ByteBuf payload = Unpooled.copiedBuffer("command", StandardCharsets.UTF_8);
    MqttPublishMessage publish = publish(payload);
    channel.writeInbound(subscribe, publish);
    assertEquals(List.of(connect), moquette, "held back");
    assertFalse(channel.config().isAutoRead(), "reading stopped while packets wait");
    assertEquals(1, payload.refCnt());

    channel.writeOutbound(connAck(MqttConnectReturnCode.CONNECTION_ACCEPTED));
    assertEquals(List.of(connect), moquette, "accepted, but not yet open in Moquette");
    assertSame(channel, connections.get("42/phone"));

    // What Moquette does once the connection is open; the gate looks again every millisecond.
    channel.pipeline().addFirst(ConnackGate.OPEN_MARK, new ChannelDuplexHandler());
    await()
        .pollInSameThread()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> {
              channel.runPendingTasks();
              return channel.pipeline().get(ConnackGate.NAME) == null;
            });

    assertEquals(List.of(connect, subscribe, publish), moquette, "in order");
    assertEquals(1, payload.refCnt(), "handed on, not freed");
    assertTrue(channel.config().isAutoRead());
    assertNull(channel.pipeline().get(ConnackGate.NAME), "gone once open");
    channel.close();
    assertNull(connections.get("42/phone"), "forgotten once closed");
  }

  @Test
  void shouldOpenAsTheConnAckIsWrittenWhenMoquetteHasOpenedByThen() {
    channel.writeInbound(connect());
    channel.writeInbound(subscribe());
    channel.pipeline().addFirst(ConnackGate.OPEN_MARK, new ChannelDuplexHandler());
    channel.writeOutbound(connAck(MqttConnectReturnCode.CONNECTION_ACCEPTED));

    assertEquals(2, moquette.size(), "CONNECT, SUBSCRIBE: " + moquette);
    MqttMessage later = subscribe();
    channel.writeInbound(later);
    assertSame(later, moquette.get(2), "straight through once the gate is gone");
  }

  @Test
  void shouldOpenAtTheNextReadOnceMoquetteHasOpened() {
    MqttMessage connect = connect();
    MqttMessage first = subscribe();
    MqttMessage second = subscribe();
    channel.writeInbound(connect, first);
    channel.writeOutbound(connAck(MqttConnectReturnCode.CONNECTION_ACCEPTED));
    channel.pipeline().addFirst(ConnackGate.OPEN_MARK, new ChannelDuplexHandler());

    channel.writeInbound(second);

    assertEquals(List.of(connect, first, second), moquette);
    assertNull(channel.pipeline().get(ConnackGate.NAME));
  }

  @Test
  void shouldFreeWhatWaitsWhenTheConnectIsRefused() {
    channel.writeInbound(connect());
    ByteBuf held = Unpooled.copiedBuffer("held", StandardCharsets.UTF_8);
    channel.writeInbound(subscribe(), publish(held));

    channel.writeOutbound(connAck(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED));
    ByteBuf after = Unpooled.copiedBuffer("after", StandardCharsets.UTF_8);
    channel.writeInbound(publish(after));

    assertEquals(0, held.refCnt(), "freed");
    assertEquals(0, after.refCnt(), "what comes after the refusal too");
    assertEquals(1, moquette.size(), "only the CONNECT reached Moquette");
    assertNull(connections.get("42/phone"));
  }

  @Test
  void shouldFreeWhatWaitsWhenMoquetteDisconnects() {
    channel.writeInbound(connect());
    ByteBuf held = Unpooled.copiedBuffer("held", StandardCharsets.UTF_8);
    channel.writeInbound(publish(held));

    channel.writeOutbound(connAck(MqttConnectReturnCode.CONNECTION_ACCEPTED));
    channel.writeOutbound(new MqttMessage(fixed(MqttMessageType.DISCONNECT, MqttQoS.AT_MOST_ONCE)));
    channel.pipeline().addFirst(ConnackGate.OPEN_MARK, new ChannelDuplexHandler());
    channel.runPendingTasks();

    assertEquals(0, held.refCnt());
    assertEquals(1, moquette.size(), "only the CONNECT reached Moquette");
  }

  @Test
  void shouldFreeWhatWaitsWhenTheConnectionCloses() {
    channel.writeInbound(connect());
    ByteBuf held = Unpooled.copiedBuffer("held", StandardCharsets.UTF_8);
    channel.writeInbound(publish(held));

    channel.close();

    assertEquals(0, held.refCnt());
  }

  @Test
  void shouldCloseAConnectionThatSendsTooMuchBeforeItIsOpen() {
    channel.writeInbound(connect());
    List<ByteBuf> held = new ArrayList<>();
    for (int i = 0; i <= ConnackGate.MAX_PACKETS && channel.isActive(); i++) {
      ByteBuf b = Unpooled.copiedBuffer("command " + i, StandardCharsets.UTF_8);
      held.add(b);
      channel.writeInbound(publish(b));
    }

    assertFalse(channel.isActive(), "closed");
    assertEquals(ConnackGate.MAX_PACKETS + 1, held.size());
    assertTrue(held.stream().allMatch(b -> b.refCnt() == 0), "all freed");
  }

  @Test
  void shouldCloseAConnectionThatHoldsBackMoreBytesThanAllowed() {
    channel.writeInbound(connect());
    ByteBuf big = Unpooled.wrappedBuffer(new byte[1025]);
    channel.writeInbound(publish(big));

    assertFalse(channel.isActive());
    assertEquals(0, big.refCnt());
  }

  @Test
  void shouldCloseAConnectionWhoseFirstPacketIsNoConnect() {
    ByteBuf payload = Unpooled.copiedBuffer("early", StandardCharsets.UTF_8);
    channel.writeInbound(publish(payload));

    assertFalse(channel.isActive());
    assertEquals(0, payload.refCnt());
    assertEquals(List.of(), moquette);
  }

  @Test
  void shouldSayWhichFieldIsMissingWhenMoquetteIsNotLaidOutAsExpected() {
    // A Server never started has no acceptor.
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> ConnackGate.install(new Server(), 1024, connections));

    assertTrue(e.getMessage().contains("Server.acceptor"), e.getMessage());
    assertTrue(e.getMessage().contains("does not run without the gate"), e.getMessage());
  }

  @Test
  void shouldKnowTheMoquetteItWasBuiltFor() {
    assertEquals("0.17", ConnackGate.moquetteVersion());
  }

  private List<String> names() {
    List<String> names = new ArrayList<>(channel.pipeline().names());
    names.removeIf(n -> n.startsWith("DefaultChannelPipeline$TailContext"));
    return names;
  }

  private static MqttMessage connect() {
    return MqttMessageBuilders.connect()
        .clientId("42/phone")
        .username("42")
        .password("token".getBytes(StandardCharsets.UTF_8))
        .protocolVersion(io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1)
        .cleanSession(true)
        .build();
  }

  private static MqttMessage subscribe() {
    return MqttMessageBuilders.subscribe()
        .messageId(1)
        .addSubscription(MqttQoS.AT_LEAST_ONCE, "iris/42/phone/down")
        .build();
  }

  private static MqttPublishMessage publish(ByteBuf payload) {
    return new MqttPublishMessage(
        fixed(MqttMessageType.PUBLISH, MqttQoS.AT_LEAST_ONCE),
        new MqttPublishVariableHeader("iris/42/phone/up", 7),
        payload);
  }

  private static MqttMessage connAck(MqttConnectReturnCode code) {
    return MqttMessageBuilders.connAck().returnCode(code).sessionPresent(false).build();
  }

  private static MqttFixedHeader fixed(MqttMessageType type, MqttQoS qos) {
    return new MqttFixedHeader(type, false, qos, false, 0);
  }
}
