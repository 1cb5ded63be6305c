package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.embedded.Ports;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.testkit.Conversations;
import io.iris.testkit.FaultReport;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.Phone;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Bridges that share iris.log (issue 17): each owns the partitions the group iris-mqtt-bridge
 * assigns it, devices are sent to the owner of their user's partition, and a bridge added, stopped
 * cleanly or killed moves partitions without a device losing or repeating a delta.
 */
class BridgeOwnershipIT {
  private static final int PAIRS = 9;
  private static final FrameCodec CODEC = FrameCodec.defaults();

  /** Bridge {@code name} as an operator runs it ({@code iris bridge}), on its own ports. */
  private record ProcessBridge(String name, int port, Map<String, String> env, Path dir) {
    static ProcessBridge of(IrisStack shared, String name) {
      Path dir = TestStacks.newDataDir(name);
      int port = Ports.freePort();
      Map<String, String> env = new HashMap<>(LauncherProcess.env(shared, dir));
      env.put("IRIS_MQTT_PORT", Integer.toString(port));
      env.put("IRIS_OPS_PORT", Integer.toString(Ports.freePort()));
      env.put("IRIS_MQTT_BRIDGE_ID", name);
      return new ProcessBridge(name, port, env, dir);
    }

    String url() {
      return "tcp://127.0.0.1:" + port;
    }

    LauncherProcess start() throws Exception {
      LauncherProcess p = LauncherProcess.start(env, "bridge");
      p.awaitOutput("iris: up in", Duration.ofSeconds(90));
      return p;
    }
  }

  @Test
  void shouldMovePartitionsWithoutLosingOrRepeatingADeltaWhenBridgesComeAndGo() throws Exception {
    IrisStack shared = TestStacks.shared();
    String sharedId = shared.bridge().bridgeId();
    ProcessBridge b = ProcessBridge.of(shared, "bridge-b");
    ProcessBridge c = ProcessBridge.of(shared, "bridge-c");
    ProcessBridge d = ProcessBridge.of(shared, "bridge-d");
    LauncherProcess pb = b.start();
    LauncherProcess pc = c.start();
    LauncherProcess pd = null;
    String[] everyBridge = {StockMqtt.url(shared), b.url(), c.url(), d.url()};
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, shared.bootstrapServers()))) {
      int partitions = shared.bridge().layout().partitions();
      awaitOwners(admin, partitions, Set.of(sharedId, "bridge-b", "bridge-c"));
      try (Conversations talk =
          new Conversations(
              shared,
              UserIds.block(2 * PAIRS),
              PAIRS,
              // Each device starts at some bridge and is sent to its owner from there.
              i -> new String[] {everyBridge[i % 3], everyBridge[0]})) {
        for (int r = 0; r < 10; r++) {
          talk.round();
          Thread.sleep(100);
        }
        pb.terminate(); // a clean stop: leaves the group at once
        for (int r = 0; r < 10; r++) {
          talk.round();
          Thread.sleep(100);
        }
        pc.kill(); // kill -9: its partitions move after the session timeout
        long killedAt = System.nanoTime();
        for (int r = 0; r < 10; r++) {
          talk.round();
          Thread.sleep(100);
        }
        pd = d.start(); // a bridge added
        for (int r = 0; r < 10; r++) {
          talk.round();
          Thread.sleep(100);
        }
        Map<String, List<Integer>> owners =
            awaitOwners(admin, partitions, Set.of(sharedId, "bridge-d"));
        long movedInMs = (System.nanoTime() - killedAt) / 1_000_000;
        // Once settled, every partition stays with exactly one live bridge.
        Waits.holds(
            "each partition owned by exactly one live bridge",
            Duration.ofSeconds(3),
            () -> owners.equals(owned(admin)));
        talk.check(shared);
        int redirected = 0;
        for (Phone p : talk.phones) {
          redirected += (int) p.device.redirects();
        }
        assertTrue(redirected > 0, "devices were sent to their owners");
        FaultReport.row(
            "bridges share iris.log: one stopped, one killed (SIGKILL), one added",
            String.format(
                "%d devices in %d pairs over 3 then 2 bridges; %,d messages; %d redirects",
                2 * PAIRS, PAIRS, talk.messages(), redirected),
            "SIGTERM of B after 10 rounds, SIGKILL of C after 20, D started after 30",
            "0 (each device = iris.log = MySQL)",
            "0 (position chains unbroken at every device)",
            "partitions owned by exactly one live bridge "
                + movedInMs
                + " ms after the kill: "
                + owners);
      }
    } finally {
      pb.close();
      pc.close();
      if (pd != null) {
        pd.close();
      }
      TestStacks.delete(b.dir());
      TestStacks.delete(c.dir());
      TestStacks.delete(d.dir());
    }
  }

  @Test
  void shouldRedirectAStockClientToTheBridgeThatOwnsItsUser() throws Exception {
    IrisStack shared = TestStacks.shared();
    ProcessBridge b = ProcessBridge.of(shared, "bridge-r");
    LauncherProcess pb = b.start();
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, shared.bootstrapServers()))) {
      int partitions = shared.bridge().layout().partitions();
      String sharedId = shared.bridge().bridgeId();
      Map<String, List<Integer>> owners =
          awaitOwners(admin, partitions, Set.of(sharedId, "bridge-r"));
      // A user whose partition bridge-r owns, connecting to the shared stack's bridge.
      long user = UserIds.next();
      while (!owners.get("bridge-r").contains(shared.bridge().layout().partitionOf(user))) {
        user = UserIds.next();
      }
      int before = shared.devices().size();
      String token = DeviceRegistry.register(shared.bootstrapServers(), user, "stock");
      TestStacks.awaitRegistered(shared, before + 1);
      Waits.await(
          "the shared bridge knows bridge-r's partitions",
          () -> !shared.bridge().routes().ownerOf(owners.get("bridge-r").get(0)).isEmpty());

      BlockingQueue<ServerFrame> frames = new LinkedBlockingQueue<>();
      MqttClient wrong =
          new MqttClient(StockMqtt.url(shared), user + "/stock", new MemoryPersistence());
      StockMqtt.connectAndSubscribe(
          wrong,
          user,
          token,
          "iris/" + user + "/stock/down",
          (t, m) -> frames.add(CODEC.decode(m.getPayload(), ServerFrame::new)));
      ServerFrame f = frames.poll(30, TimeUnit.SECONDS);
      assertTrue(f != null && f.getBody().isSetRedirect(), "redirected: " + f);
      Redirect r = f.getBody().getRedirect();
      assertEquals(List.of(b.url()), r.getServerUris());
      assertEquals(shared.bridge().layout().partitionOf(user), r.getPartition());
      Waits.await("the wrong bridge closes the connection", () -> !wrong.isConnected());
      wrong.close();

      MqttClient right = new MqttClient(b.url(), user + "/stock", new MemoryPersistence());
      BlockingQueue<ServerFrame> served = new LinkedBlockingQueue<>();
      long u = user;
      // bridge-r learns of the new device from iris.devices a moment later than the shared one.
      Waits.await(
          "bridge-r accepts the device",
          () -> {
            try {
              StockMqtt.connectAndSubscribe(
                  right,
                  u,
                  token,
                  "iris/" + u + "/stock/down",
                  (t, m) -> served.add(CODEC.decode(m.getPayload(), ServerFrame::new)));
              return true;
            } catch (org.eclipse.paho.client.mqttv3.MqttSecurityException e) {
              return false;
            }
          });
      right.publish(
          "iris/" + user + "/stock/up",
          CODEC.encode(new DeviceRequest("s1", DeviceRequestBody.sync(new SyncRequest("", -1)))),
          1,
          false);
      ServerFrame answer = served.poll(30, TimeUnit.SECONDS);
      assertTrue(answer != null && answer.getBody().isSetDeltas(), "served there: " + answer);
      assertEquals("s1", answer.getRequestId());
      right.disconnect();
      right.close();

      // The SDK follows the same redirect by itself.
      Phone phone = Phone.open(shared, user, "stock", token, Phone.start(shared));
      try {
        Waits.await("the SDK redirected", () -> phone.device.redirects() >= 1);
        Waits.await("the SDK connected to the owner", phone.device::isConnected);
      } finally {
        phone.device.close();
      }
    } finally {
      pb.close();
      TestStacks.delete(b.dir());
    }
  }

  /** Bridge id to the partitions of iris.log its member owns, from the group's own description. */
  private static Map<String, List<Integer>> owned(Admin admin) throws Exception {
    ConsumerGroupDescription g =
        admin
            .describeConsumerGroups(List.of(Names.BRIDGE_GROUP))
            .describedGroups()
            .get(Names.BRIDGE_GROUP)
            .get(10, TimeUnit.SECONDS);
    Map<String, List<Integer>> out = new HashMap<>();
    for (MemberDescription m : g.members()) {
      List<Integer> ps = new ArrayList<>();
      for (TopicPartition tp : m.assignment().topicPartitions()) {
        if (tp.topic().equals(Topics.LOG.name())) {
          ps.add(tp.partition());
        }
      }
      ps.sort(null);
      out.put(m.groupInstanceId().orElse(m.consumerId()), ps);
    }
    return out;
  }

  /**
   * Waits until exactly {@code bridges} are the group's members and their assignments cover every
   * partition once.
   */
  private static Map<String, List<Integer>> awaitOwners(
      Admin admin, int partitions, Set<String> bridges) {
    Map<String, List<Integer>>[] last = new Map[1];
    Waits.await(
        "partitions owned once each by " + bridges,
        Duration.ofSeconds(90),
        () -> {
          Map<String, List<Integer>> o = owned(admin);
          last[0] = o;
          if (!o.keySet().equals(bridges)) {
            return false;
          }
          Set<Integer> seen = new HashSet<>();
          int n = 0;
          for (List<Integer> ps : o.values()) {
            seen.addAll(ps);
            n += ps.size();
          }
          return seen.size() == partitions && n == partitions;
        });
    return last[0];
  }
}
