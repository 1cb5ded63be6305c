package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.FrameMutator;
import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.testkit.FaultReport;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Thousands of mutated request frames on one device connection (FrameMutator, seeded): the
 * connection survives, every frame that does not decode is refused and counted, and a valid request
 * after them is still answered. Published at QoS 0, for speed: at QoS 1 Paho's client (max 10 in
 * flight, synchronous publishes, so at most one outstanding) failed with "too many publishes in
 * progress" at about the 525th mutant, while with max in-flight 5,000 the same 3,000 QoS 1 mutants
 * all went through and were answered: Paho's in-flight count leaks (about 1 in 50 publishes while
 * error frames come back at QoS 1); the bridge acknowledges them all. The SDK allows 1,000 in
 * flight, so a device sending tens of thousands of commands on one connection would hit it — for
 * the fault suite (issue 8).
 */
class EdgeFuzzIT {
  private static final long USER = UserIds.next();

  @Test
  void shouldSurviveThousandsOfMalformedFramesOnOneConnection() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), USER, "fuzz");
    TestStacks.awaitRegistered(stack, before + 1);
    FrameCodec codec = FrameCodec.defaults();
    List<byte[]> seeds =
        List.of(
            codec.encode(new DeviceRequest("s", DeviceRequestBody.sync(new SyncRequest("", -1)))),
            codec.encode(new DeviceRequest("a", DeviceRequestBody.ack(new Ack(1, "x")))),
            codec.encode(
                new DeviceRequest(
                    "c",
                    DeviceRequestBody.command(
                        new DeviceCommand(
                            "fz", 991_000_001L, CommandBody.sendMessage(new SendMessage("x")))))));
    CountDownLatch answered = new CountDownLatch(1);
    MqttClient c = new MqttClient(StockMqtt.url(stack), USER + "/fuzz", new MemoryPersistence());
    StockMqtt.connectAndSubscribe(
        c,
        USER,
        token,
        "iris/" + USER + "/fuzz/down",
        (t, m) -> {
          if (m.getPayload()[0] == 1) {
            return; // the answer to a mutant that reads as version 1, in version 1
          }
          ServerFrame f = codec.decode(m.getPayload(), ServerFrame::new);
          if ("final".equals(f.getRequestId())) {
            answered.countDown();
          }
        });
    long rejectedBefore = rejected(stack);
    Random random = new Random(0xED6EL);
    int undecodable = 0;
    int sent = 3000;
    for (int i = 0; i < sent; i++) {
      byte[] mutant = FrameMutator.mutate(seeds.get(i % seeds.size()), random);
      try {
        codec.decode(mutant, DeviceRequest::new);
      } catch (FrameException e) {
        undecodable++;
      }
      try {
        c.publish("iris/" + USER + "/fuzz/up", mutant, 0, false);
      } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
        throw new AssertionError(
            "publish #" + i + " failed after " + undecodable + " undecodable: " + e, e);
      }
    }
    c.publish(
        "iris/" + USER + "/fuzz/up",
        codec.encode(new DeviceRequest("final", DeviceRequestBody.sync(new SyncRequest("", -1)))),
        1,
        false);
    assertTrue(
        answered.await(60, TimeUnit.SECONDS), "a valid request after the mutants is answered");
    assertTrue(c.isConnected(), "the connection survived " + sent + " mutants");
    long refused = rejected(stack) - rejectedBefore;
    assertTrue(
        refused >= undecodable,
        refused + " refusals counted for " + undecodable + " undecodable frames");
    FaultReport.row(
        "fuzzed frames at the bridge",
        sent + " mutated frames on one device connection",
        undecodable + " undecodable (truncated, oversized, wrong version, bit flips, huge lengths)",
        "n/a (each refusal answered and counted: " + refused + "; bytes to iris.dlq)",
        "0",
        "connection kept; a valid send afterwards confirmed");
    System.out.printf(
        "edge fuzz: %d mutants on one connection, %d undecodable, %d refusals counted%n",
        sent, undecodable, refused);
    c.disconnect();
    c.close();
  }

  static long rejected(IrisStack stack) {
    return stack.sendPath().outcomes().stream()
        .filter(o -> o.startsWith("rejected-"))
        .mapToLong(o -> stack.sendPath().count(o))
        .sum();
  }
}
