package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.bridge.down.LogIndex;
import io.iris.bridge.down.UserLogs;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.protocol.thrift.Delta;
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
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * A bridge that starts after a user's last delta only knows a lower bound of the user's head (its
 * last persisted bookmark); the deltas after it lie before where the bridge group resumes. A device
 * between that bookmark and the true head must still get the rest when it syncs: before the fix it
 * was told it was current (0 deltas, head = the bookmark) and silently missed the newest deltas
 * until the user's next one.
 */
class RestartedBridgeHeadIT {
  private static final long USER = UserIds.next();
  private static final long PARTNER = UserIds.next();

  @Test
  void shouldServeTheTrueHeadAfterABridgeRestartWithoutNewDeltas() throws Exception {
    IrisStack a = TestStacks.shared();
    int before = a.devices().size();
    String token = DeviceRegistry.register(a.bootstrapServers(), USER, "phone");
    DeviceRegistry.register(a.bootstrapServers(), PARTNER, "phone");
    TestStacks.awaitRegistered(a, before + 2);

    // 1 thread created + 6 messages: seqs 1..7. The shared stack bookmarks every 4 seqs (1, 5),
    // so a bridge restored from the index believes the head is 5.
    Phone sender = Phone.open(a, USER, "phone", token, 0);
    long thread =
        sender
            .device
            .createThread(List.of(PARTNER), "head")
            .get(30, TimeUnit.SECONDS)
            .getThreadId();
    Phone.sendAll(sender, thread, "m", 6);
    Waits.await("the sender at seq 7", () -> sender.last() == 7);
    sender.device.close();
    awaitBookmarkAndCommit(a, 5);

    Path dir = TestStacks.newDataDir("bridge-restarted");
    try (IrisStack b = TestStacks.bridgeBeside(a, dir)) {
      assertEquals(
          5, b.userLogs().head(USER), "the new bridge knows only the restored bookmark's seq");
      Phone behind = Phone.open(null, USER, token, 6, StockMqtt.url(b));
      try {
        Waits.await(
            "the device at the true head", Duration.ofSeconds(20), () -> behind.last() == 7);
        assertEquals(List.of(7L), behind.applied.stream().map(Delta::getSeq).toList());
      } finally {
        behind.device.close();
      }
    } finally {
      TestStacks.delete(dir);
    }
  }

  /**
   * Waits until the index holds the user's bookmark at {@code seq} and the bridge group committed
   * past the user's deltas: otherwise a new bridge would replay them and not show the defect.
   */
  private static void awaitBookmarkAndCommit(IrisStack a, long seq) {
    TopicPartition tp =
        new TopicPartition(
            Topics.LOG.name(), a.userLogs().bookmarkAtOrBefore(USER, Long.MAX_VALUE).partition());
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrapServers()))) {
      Waits.await(
          "bookmark at seq " + seq + " in iris.log-index",
          () -> {
            UserLogs restored = new UserLogs(0, 10, 4, 8, b -> {});
            LogIndex.restore(a.bootstrapServers(), List.of(tp), restored);
            UserLogs.Bookmark bm = restored.bookmarkAtOrBefore(USER, Long.MAX_VALUE);
            return bm != null && bm.seq() == seq;
          });
      Waits.await(
          "the bridge group past the user's deltas",
          () -> {
            try {
              long end =
                  admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
              OffsetAndMetadata o =
                  admin
                      .listConsumerGroupOffsets(Names.BRIDGE_GROUP)
                      .partitionsToOffsetAndMetadata()
                      .get()
                      .get(tp);
              return o != null && o.offset() >= end - 1;
            } catch (Exception e) {
              return false;
            }
          });
    }
  }
}
