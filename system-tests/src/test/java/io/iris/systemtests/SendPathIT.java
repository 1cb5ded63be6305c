package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.bridge.up.SendPath;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.DeadLetters;
import io.iris.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * A device's commands reach iris.commands with the sender from its connection; bad frames are
 * answered.
 */
class SendPathIT {
  private static final long USER = UserIds.next();
  private static final long FRIEND = UserIds.next();

  @Test
  void shouldAcceptCommandsAnswerBadFramesAndStayConnected() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), USER, "phone");
    TestStacks.awaitRegistered(stack, before + 1);
    BlockingQueue<ServerFrame> frames = new LinkedBlockingQueue<>();
    MqttClient device =
        new MqttClient(StockMqtt.url(stack), USER + "/phone", new MemoryPersistence());
    device.connect(StockMqtt.options(USER, token));
    device.subscribe(
        "iris/" + USER + "/phone/down",
        1,
        (topic, m) -> frames.add(FrameCodec.defaults().decode(m.getPayload(), ServerFrame::new)));

    send(
        device,
        new DeviceRequest(
            "r1",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "c-create",
                    0,
                    CommandBody.createThread(
                        new CreateThread(List.of(FRIEND)).setName("send path"))))));
    ServerFrame created = next(frames, f -> !f.getBody().isSetDeltas());
    assertTrue(created != null && created.getBody().isSetSendResult(), String.valueOf(created));
    assertEquals("r1", created.getRequestId());
    assertTrue(created.getBody().getSendResult().isAccepted());

    long thread = SendPath.derivedThreadId(USER, "c-create");
    send(
        device,
        new DeviceRequest(
            "r2",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "c-msg",
                    thread,
                    CommandBody.sendMessage(new SendMessage("hello from the edge"))))));
    // Pushed deltas (one hop: they can beat the answer) are not what this test waits for.
    ServerFrame sent = next(frames, f -> !f.getBody().isSetDeltas());
    assertTrue(sent != null && sent.getBody().getSendResult().isAccepted(), String.valueOf(sent));

    long rejectedBefore = stack.sendPath().count("rejected-unsupported-version");
    byte[] junk = {9, 9, 9};
    device.publish("iris/" + USER + "/phone/up", junk, 1, false);
    ServerFrame error = next(frames, f -> !f.getBody().isSetDeltas());
    assertTrue(error != null && error.getBody().isSetError(), String.valueOf(error));
    assertEquals(ErrorCode.UNSUPPORTED_VERSION, error.getBody().getError().getCode());
    assertTrue(device.isConnected(), "a bad frame does not cost the connection");
    assertEquals(rejectedBefore + 1, stack.sendPath().count("rejected-unsupported-version"));

    send(
        device,
        new DeviceRequest(
            "r3",
            DeviceRequestBody.command(
                new DeviceCommand(
                    "c-msg-2", thread, CommandBody.sendMessage(new SendMessage("still here"))))));
    ServerFrame after = next(frames, f -> !f.getBody().isSetDeltas());
    assertTrue(
        after != null && after.getBody().getSendResult().isAccepted(), String.valueOf(after));
    device.disconnect();
    device.close();

    // Through the streams app: the sender's own delta confirms the send; the sender is the
    // connection's.
    Delta confirmation = awaitConfirmation(stack, USER, "c-msg", Duration.ofSeconds(60));
    assertEquals(
        USER, confirmation.getBody().getNewMessage().getSenderUserId(), "the connection's sender");
    awaitDeadLetter(stack, junk, Duration.ofSeconds(30));
  }

  static void send(MqttClient device, DeviceRequest request) throws Exception {
    device.publish("iris/" + USER + "/phone/up", FrameCodec.defaults().encode(request), 1, false);
  }

  /**
   * Through the streams app: the first delta of {@code user} on iris.log that confirms the message
   * sent with {@code clientId} (the sender's own delta).
   */
  static Delta awaitConfirmation(IrisStack stack, long user, String clientId, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "send-path-it");
    List<Delta> found = new ArrayList<>();
    try (KafkaConsumer<Long, byte[]> c =
        new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(Topics.LOG.name()));
      Waits.await(
          "the send " + clientId + " on iris.log",
          timeout,
          () -> {
            for (ConsumerRecord<Long, byte[]> r : c.poll(Duration.ofMillis(500))) {
              if (found.isEmpty() && r.key() == user) {
                Delta d = FrameCodec.defaults().decode(r.value(), Delta::new);
                if (d.getBody().isSetNewMessage()
                    && clientId.equals(d.getBody().getNewMessage().getClientId())) {
                  found.add(d);
                }
              }
            }
            return !found.isEmpty();
          });
    }
    return found.get(0);
  }

  /** Waits until iris.dlq holds {@code value}, set aside by the MQTT bridge. */
  static void awaitDeadLetter(IrisStack stack, byte[] value, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "send-path-it-dlq");
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      c.subscribe(List.of(Topics.DLQ.name()));
      boolean[] found = {false};
      Waits.await(
          "the bad frame's bytes in iris.dlq",
          timeout,
          () -> {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
              var by = r.headers().lastHeader(DeadLetters.REJECTED_BY);
              if (java.util.Arrays.equals(value, r.value())
                  && by != null
                  && new String(by.value(), StandardCharsets.UTF_8).equals("mqtt-bridge")) {
                found[0] = true;
              }
            }
            return found[0];
          });
    }
  }

  /** The next frame that matches, within 30 s; null when none came. */
  private static ServerFrame next(
      java.util.concurrent.BlockingQueue<ServerFrame> frames,
      java.util.function.Predicate<ServerFrame> wanted)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      ServerFrame f = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (f == null || wanted.test(f)) {
        return f;
      }
    }
    return null;
  }
}
