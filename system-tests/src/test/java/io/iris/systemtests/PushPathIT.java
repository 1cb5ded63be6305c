package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.bridge.up.SendPath;
import io.iris.launcher.IrisStack;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.SendMessage;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Two users on three devices: deltas are pushed at once to every device of their user; acks move
 * pointers.
 */
class PushPathIT {
  private static final long ANA = UserIds.next();
  private static final long BEN = UserIds.next();

  @Test
  void shouldPushEveryDeltaToEveryDeviceOfItsUser() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String aPhone = DeviceRegistry.register(stack.bootstrapServers(), ANA, "phone");
    String aTablet = DeviceRegistry.register(stack.bootstrapServers(), ANA, "tablet");
    String bPhone = DeviceRegistry.register(stack.bootstrapServers(), BEN, "phone");
    TestStacks.awaitRegistered(stack, before + 3);
    StockMqtt.Device a1 = StockMqtt.connect(stack, ANA, "phone", aPhone);
    StockMqtt.Device a2 = StockMqtt.connect(stack, ANA, "tablet", aTablet);
    StockMqtt.Device b = StockMqtt.connect(stack, BEN, "phone", bPhone);
    Waits.await(
        "the three devices subscribed at the push path",
        Duration.ofSeconds(10),
        () -> subscribed(stack, ANA, "phone", "tablet") && subscribed(stack, BEN, "phone"));

    StockMqtt.send(
        a1,
        new DeviceRequest(
            "r1",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "push-create",
                    0,
                    CommandBody.createThread(new CreateThread(List.of(BEN)).setName("push"))))));
    for (StockMqtt.Device d : List.of(a1, a2, b)) {
      Delta created = d.deltas().poll(30, TimeUnit.SECONDS);
      assertTrue(
          created != null && created.getBody().isSetThreadCreated(), String.valueOf(created));
    }
    long thread = SendPath.derivedThreadId(ANA, "push-create");
    StockMqtt.send(
        a1,
        new DeviceRequest(
            "r2",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "push-hello", thread, CommandBody.sendMessage(new SendMessage("hello b"))))));
    Delta atB = b.deltas().poll(30, TimeUnit.SECONDS);
    assertTrue(atB != null && atB.getBody().isSetNewMessage(), String.valueOf(atB));
    assertEquals("hello b", atB.getBody().getNewMessage().getText());
    assertNull(
        atB.getBody().getNewMessage().getClientId(),
        "only the sender's delta carries the client id");
    assertTrue(atB.getPrevPos() < atB.getPos(), "served with its position and prevPos");
    String epoch = stack.bridge().layout().epoch();
    for (StockMqtt.Device d : List.of(a1, a2)) {
      Delta own = d.deltas().poll(30, TimeUnit.SECONDS);
      assertTrue(own != null && own.getBody().isSetNewMessage(), String.valueOf(own));
      assertEquals(
          "push-hello", own.getBody().getNewMessage().getClientId(), "the sender's confirmation");
    }

    StockMqtt.send(b, new DeviceRequest("r3", DeviceRequestBody.ack(new Ack(atB.getPos(), epoch))));
    assertEquals(atB.getPos(), pointer(stack, BEN + ":phone", Duration.ofSeconds(30)));
    for (StockMqtt.Device d : List.of(a1, a2, b)) {
      d.client().disconnect();
      d.client().close();
    }
  }

  /** Whether the bridge's push path has each of {@code devices} of {@code user} subscribed. */
  static boolean subscribed(IrisStack stack, long user, String... devices) {
    Set<DeviceTopics.DeviceId> here = stack.pushPath().devicesOf(user);
    return here != null
        && Stream.of(devices).allMatch(d -> here.contains(new DeviceTopics.DeviceId(user, d)));
  }

  static long pointer(IrisStack stack, String key, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "push-it-pointers");
    long[] pos = {-1};
    try (KafkaConsumer<String, byte[]> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(Topics.DEVICE_POINTERS.name()));
      Waits.await(
          "a pointer of " + key + " on " + Topics.DEVICE_POINTERS.name(),
          timeout,
          () -> {
            for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
              if (key.equals(r.key())) {
                pos[0] = FrameCodec.defaults().decode(r.value(), DevicePointer::new).getAckedPos();
              }
            }
            return pos[0] >= 0;
          });
    }
    return pos[0];
  }
}
