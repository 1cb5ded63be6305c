package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.Phone;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * A bridge that starts owning a partition after a user's last delta (it resumes where the group got
 * to) holds nothing of the user in memory. A device that lacks that last delta must still get it
 * when it syncs, from the log or MySQL, chained to its position. (Under v1 a restarted bridge took
 * the head from its last persisted bookmark and told such a device it was current.) Since the
 * bridge that joins gets some of the partitions, one user per partition talks first, and the case
 * is played for a user of a partition it got.
 */
class RestartedBridgeHeadIT {
  private static final long PARTNER = UserIds.next();

  @Test
  void shouldServeTheLastDeltaAfterABridgeRestartWithoutNewDeltas() throws Exception {
    IrisStack a = TestStacks.shared();
    int partitions = a.bridge().layout().partitions();
    // One user per partition of iris.log.
    long[] users = new long[partitions];
    for (int found = 0; found < partitions; ) {
      long u = UserIds.next();
      int p = a.bridge().layout().partitionOf(u);
      if (users[p] == 0) {
        users[p] = u;
        found++;
      }
    }
    int before = a.devices().size();
    List<Map.Entry<Long, String>> ids = new java.util.ArrayList<>();
    for (long u : users) {
      ids.add(Map.entry(u, "phone"));
    }
    ids.add(Map.entry(PARTNER, "phone"));
    List<String> tokens = DeviceRegistry.registerAll(a.bootstrapServers(), ids);
    TestStacks.awaitRegistered(a, before + partitions + 1);

    // Each: 1 thread created + 6 messages, 7 deltas.
    Map<Long, List<Long>> positions = new java.util.HashMap<>();
    for (int i = 0; i < partitions; i++) {
      Phone sender = Phone.open(a, users[i], "phone", tokens.get(i));
      long thread =
          sender
              .device
              .createThread(List.of(PARTNER), "head")
              .get(30, TimeUnit.SECONDS)
              .getThreadId();
      Phone.sendAll(sender, thread, "m", 6);
      Waits.await("the sender with 7 deltas", () -> sender.applied.size() == 7);
      sender.device.close();
      positions.put(users[i], sender.applied.stream().map(Delta::getPos).toList());
      awaitBridgeGroupPast(a, users[i], positions.get(users[i]).get(6));
    }

    Path dir = TestStacks.newDataDir("bridge-restarted");
    try (IrisStack b = TestStacks.bridgeBeside(a, dir)) {
      Waits.await(
          "the new bridge owns partitions",
          () -> !b.bridge().pushPath().ownedPartitions().isEmpty());
      int partition = b.bridge().pushPath().ownedPartitions().iterator().next();
      long user = users[partition];
      String token = tokens.get(partition);
      List<Long> mine = positions.get(user);
      assertTrue(
          b.userLogs().readThrough(partition) > mine.get(6),
          "the new bridge starts reading after the user's last delta");
      IrisDevice.Position sixth = new IrisDevice.Position(a.bridge().layout().epoch(), mine.get(5));
      Phone behind = Phone.open(null, user, token, sixth, StockMqtt.url(b), StockMqtt.url(a));
      try {
        Waits.await(
            "the device at the last delta",
            Duration.ofSeconds(20),
            () -> behind.last() >= mine.get(6));
        assertEquals(List.of(mine.get(6)), behind.applied.stream().map(Delta::getPos).toList());
        assertTrue(behind.applied.get(0).getPrevPos() <= mine.get(5));
      } finally {
        behind.device.close();
      }
    } finally {
      TestStacks.delete(dir);
    }
  }

  /**
   * Waits until the bridge group committed past {@code pos}: otherwise a new bridge would replay
   * the user's deltas into its memory and not show the case.
   */
  private static void awaitBridgeGroupPast(IrisStack a, long user, long pos) {
    TopicPartition tp =
        new TopicPartition(Topics.LOG.name(), a.bridge().layout().partitionOf(user));
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrapServers()))) {
      Waits.await(
          "the bridge group past the user's deltas",
          () -> {
            try {
              OffsetAndMetadata o =
                  admin
                      .listConsumerGroupOffsets(Names.BRIDGE_GROUP)
                      .partitionsToOffsetAndMetadata()
                      .get()
                      .get(tp);
              return o != null && o.offset() > pos;
            } catch (Exception e) {
              return false;
            }
          });
    }
  }
}
