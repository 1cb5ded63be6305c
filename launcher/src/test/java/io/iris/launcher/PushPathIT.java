package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.DeviceRegistry;
import io.iris.bridge.SendPath;
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
import io.iris.protocol.thrift.ServerFrame;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Two users on three devices: deltas are pushed at once to every device of their user; acks move
 * pointers.
 */
class PushPathIT {

  record Device(MqttClient client, BlockingQueue<Delta> deltas, String up) {}

  static Device connect(IrisStack stack, long user, String name, String token) throws Exception {
    BlockingQueue<Delta> deltas = new LinkedBlockingQueue<>();
    MqttClient c =
        new MqttClient(DeviceAuthIT.url(stack), user + "/" + name, new MemoryPersistence());
    connectAndSubscribe(c, user, token, "iris/" + user + "/" + name + "/down", deltas);
    return new Device(c, deltas, "iris/" + user + "/" + name + "/up");
  }

  /**
   * Connects and subscribes, again if the edge dropped the connection in between (Moquette 0.17
   * sends CONNACK before it marks the connection connected; see IrisDevice.connect).
   */
  static void connectAndSubscribe(
      MqttClient c, long user, String token, String down, BlockingQueue<Delta> deltas)
      throws Exception {
    connectAndSubscribe(
        c,
        user,
        token,
        down,
        (t, m) -> {
          ServerFrame f = FrameCodec.defaults().decode(m.getPayload(), ServerFrame::new);
          if (f.getBody().isSetDeltas()) {
            deltas.addAll(f.getBody().getDeltas().getDeltas());
          }
        });
  }

  /** The same, with any listener for the down topic's frames. */
  static void connectAndSubscribe(
      MqttClient c,
      long user,
      String token,
      String down,
      org.eclipse.paho.client.mqttv3.IMqttMessageListener listener)
      throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        c.connect(DeviceAuthIT.options(user, token));
        c.subscribe(down, 1, listener);
        return;
      } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
        if (attempt == 5) {
          throw e;
        }
        if (c.isConnected()) {
          c.disconnectForcibly();
        }
        Thread.sleep(100L * attempt);
      }
    }
  }

  static void send(Device d, DeviceRequest r) throws Exception {
    d.client().publish(d.up(), FrameCodec.defaults().encode(r), 1, false);
  }

  @Test
  void shouldPushEveryDeltaToEveryDeviceOfItsUser() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String aPhone = DeviceRegistry.register(stack.bootstrapServers(), 701, "phone");
    String aTablet = DeviceRegistry.register(stack.bootstrapServers(), 701, "tablet");
    String bPhone = DeviceRegistry.register(stack.bootstrapServers(), 702, "phone");
    DeviceAuthIT.awaitRegistered(stack, before + 3);
    Device a1 = connect(stack, 701, "phone", aPhone);
    Device a2 = connect(stack, 701, "tablet", aTablet);
    Device b = connect(stack, 702, "phone", bPhone);
    Thread.sleep(500);

    send(
        a1,
        new DeviceRequest(
            "r1",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "push-create",
                    0,
                    CommandBody.createThread(new CreateThread(List.of(702L)).setName("push"))))));
    for (Device d : List.of(a1, a2, b)) {
      Delta created = d.deltas().poll(30, TimeUnit.SECONDS);
      assertTrue(
          created != null && created.getBody().isSetThreadCreated(), String.valueOf(created));
    }
    long thread = SendPath.derivedThreadId(701, "push-create");
    send(
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
    assertEquals(atB.getPrevSeq() + 1, atB.getSeq());
    for (Device d : List.of(a1, a2)) {
      Delta own = d.deltas().poll(30, TimeUnit.SECONDS);
      assertTrue(own != null && own.getBody().isSetNewMessage(), String.valueOf(own));
      assertEquals(
          "push-hello", own.getBody().getNewMessage().getClientId(), "the sender's confirmation");
    }

    send(b, new DeviceRequest("r3", DeviceRequestBody.ack(new Ack(atB.getSeq()))));
    assertEquals(atB.getSeq(), pointer(stack, "702:phone", Duration.ofSeconds(30)));
    for (Device d : List.of(a1, a2, b)) {
      d.client().disconnect();
      d.client().close();
    }
  }

  static long pointer(IrisStack stack, String key, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "push-it-pointers");
    long seq = -1;
    try (KafkaConsumer<String, byte[]> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(Topics.DEVICE_POINTERS.name()));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (seq < 0 && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          if (key.equals(r.key())) {
            seq = FrameCodec.defaults().decode(r.value(), DevicePointer::new).getAckedSeq();
          }
        }
      }
    }
    return seq;
  }
}
