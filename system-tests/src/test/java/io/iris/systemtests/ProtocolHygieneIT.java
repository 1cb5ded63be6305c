package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.NewerWriterFrames;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.Phone;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Issue 16 against the real edge (Moquette) and the real log: a frame above the limit is answered
 * and the connection stays (Moquette used to cut it off, and the SDK's resend rule then looped on
 * it); a delta of a kind newer than the whole stack travels from iris.log through the bridge to a
 * device, which applies its position and shows nothing of it, live and when catching up.
 */
class ProtocolHygieneIT {
  private static final long USER = UserIds.next();
  private static final long PARTNER = UserIds.next();
  private static final FrameCodec CODEC = FrameCodec.defaults();

  @Test
  void shouldAnswerAFrameAboveTheLimitAndKeepTheConnection() throws Exception {
    IrisStack stack = TestStacks.shared();
    long user = UserIds.next();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), user, "big");
    TestStacks.awaitRegistered(stack, before + 1);
    BlockingQueue<ServerFrame> frames = new LinkedBlockingQueue<>();
    MqttClient c = new MqttClient(StockMqtt.url(stack), user + "/big", new MemoryPersistence());
    StockMqtt.connectAndSubscribe(
        c,
        user,
        token,
        "iris/" + user + "/big/down",
        (t, m) -> frames.add(CODEC.decode(m.getPayload(), ServerFrame::new)));
    try {
      long rejectedBefore = stack.sendPath().count("rejected-frame-too-large");
      byte[] big =
          CODEC.encode(
              new DeviceRequest(
                  "r-big",
                  DeviceRequestBody.command(
                      new DeviceCommand(
                          "c-big",
                          7,
                          CommandBody.sendMessage(new SendMessage("x".repeat(100_000)))))));
      c.publish("iris/" + user + "/big/up", big, 1, false);

      ServerFrame answer = frames.poll(30, TimeUnit.SECONDS);
      assertTrue(answer != null && answer.getBody().isSetError(), "answered: " + answer);
      assertEquals("r-big", answer.getRequestId());
      assertEquals(ErrorCode.FRAME_TOO_LARGE, answer.getBody().getError().getCode());
      assertEquals("c-big", answer.getBody().getError().getClientId());
      assertEquals(1, stack.sendPath().count("rejected-frame-too-large") - rejectedBefore);
      assertTrue(c.isConnected(), "the connection stays up");

      c.publish(
          "iris/" + user + "/big/up",
          CODEC.encode(
              new DeviceRequest("r-next", DeviceRequestBody.sync(new SyncRequest("", -1)))),
          1,
          false);
      ServerFrame next = frames.poll(30, TimeUnit.SECONDS);
      assertTrue(next != null && "r-next".equals(next.getRequestId()), "then served: " + next);

      // Beyond what the network layer reads (960 KiB), the connection is closed, as documented.
      // Paho's synchronous publish waits for the write without limit by default, and the edge may
      // close the connection in the middle of it: bounded, and either outcome of the write is fine.
      c.setTimeToWait(10_000);
      try {
        c.publish("iris/" + user + "/big/up", new byte[1 << 20], 0, false);
      } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
        // the connection closed under the write
      }
      Waits.await("the connection closed", Duration.ofSeconds(30), () -> !c.isConnected());
    } finally {
      if (c.isConnected()) {
        c.disconnect();
      }
      c.close();
    }
  }

  @Test
  void shouldCarryADeltaOfANewerKindToTheDeviceWhichAppliesItsPositionOnly() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), USER, "phone");
    String tablet = DeviceRegistry.register(stack.bootstrapServers(), USER, "tablet");
    DeviceRegistry.register(stack.bootstrapServers(), PARTNER, "phone");
    TestStacks.awaitRegistered(stack, before + 3);
    Phone phone = Phone.open(stack, USER, "phone", token);
    try {
      long thread =
          phone
              .device
              .createThread(List.of(PARTNER), "newer")
              .get(30, TimeUnit.SECONDS)
              .getThreadId();
      Phone.sendAll(phone, thread, "before", 1);
      Waits.await("2 deltas", () -> phone.applied.size() == 2);
      long beforePos = phone.applied.get(1).getPos();

      // A newer streams app writes a delta of a kind nothing in this build knows.
      long newerPos;
      try (KafkaProducer<Long, byte[]> p =
          new KafkaProducer<>(
              Map.of(
                  ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  stack.bootstrapServers(),
                  ProducerConfig.ACKS_CONFIG,
                  "all"),
              new LongSerializer(),
              new ByteArraySerializer())) {
        newerPos =
            p.send(
                    new ProducerRecord<>(
                        Topics.LOG.name(),
                        USER,
                        NewerWriterFrames.deltaOfAnUnknownKind(USER, thread)))
                .get(30, TimeUnit.SECONDS)
                .offset();
      }
      Waits.await(
          "the newer delta's position applied",
          Duration.ofSeconds(20),
          () -> phone.device.position().lastPos() >= newerPos);
      Phone.sendAll(phone, thread, "after", 1);
      Waits.await("3 deltas shown", () -> phone.applied.size() == 3);

      Delta after = phone.applied.get(2);
      assertEquals(newerPos, after.getPrevPos(), "the chain runs through the newer delta");
      assertEquals(1, phone.device.unknownKindsSkipped());
      assertTrue(phone.applied.stream().allMatch(d -> d.getBody().getSetField() != null));

      // Catching up over it (memory or log tier): the same.
      Phone behind =
          Phone.open(
              stack,
              USER,
              "tablet",
              tablet,
              new IrisDevice.Position(stack.bridge().layout().epoch(), beforePos));
      try {
        Waits.await(
            "the tablet past the newer delta",
            Duration.ofSeconds(20),
            () -> behind.device.position().lastPos() >= after.getPos());
        assertEquals(List.of(after.getPos()), behind.applied.stream().map(Delta::getPos).toList());
        assertEquals(1, behind.device.unknownKindsSkipped());
      } finally {
        behind.device.close();
      }
    } finally {
      phone.device.close();
    }
  }
}
