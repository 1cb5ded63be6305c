package io.iris.bridge.down;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.CapturingSender;
import io.iris.bridge.PacedMockConsumer;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.topics.Topics;
import io.moquette.broker.subscriptions.Subscription;
import io.moquette.broker.subscriptions.Topic;
import io.moquette.interception.messages.InterceptConnectionLostMessage;
import io.moquette.interception.messages.InterceptDisconnectMessage;
import io.moquette.interception.messages.InterceptSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PushPathTest {
  private static final String LOG = Topics.LOG.name();
  private static final TopicPartition P0 = new TopicPartition(LOG, 0);
  private static final TopicPartition P1 = new TopicPartition(LOG, 1);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final FrameCodec CODEC = FrameCodec.defaults();
  private static final DeviceId PHONE = new DeviceId(42, "phone");
  private static final DeviceId TABLET = new DeviceId(42, "tablet");
  private static final DeviceId OTHER = new DeviceId(43, "laptop");

  /** Offsets committed with commitSync(offsets), as the group would keep them. */
  private final List<Map<TopicPartition, OffsetAndMetadata>> commits =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private final PacedMockConsumer<Long, byte[]> consumer =
      new PacedMockConsumer<>("latest") {
        @Override
        public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
          commits.add(Map.copyOf(offsets));
          super.commitSync(offsets);
        }
      };
  private final UserLogs logs = new UserLogs(16, 100);
  private final CapturingSender devices = new CapturingSender();

  /** Two partitions: users 42 and 43 are on the ones {@link LogLayout#partitionOf} says. */
  private static final LogLayout LAYOUT = new LogLayout(DownFixtures.EPOCH, 2);

  private final List<String> claims = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<String> closed = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final io.iris.bridge.edge.Redirects redirects =
      new io.iris.bridge.edge.Redirects(
          LAYOUT::partitionOf,
          partition -> List.of("tcp://owner-" + partition + ":1883"),
          devices,
          id -> () -> closed.add(id),
          device -> false);
  private final PushPath push = pushPath(() -> consumer, 2, 64 * 1024);

  private PushPath pushPath(
      java.util.function.Supplier<PacedMockConsumer<Long, byte[]>> c, int batch, int maxBytes) {
    return new PushPath(
        c,
        batch,
        maxBytes,
        devices,
        logs,
        LAYOUT,
        (owned, generation) -> claims.add(new java.util.TreeSet<>(owned) + "@" + generation),
        redirects);
  }

  /** Starts {@code p}, the group assigning it both partitions in its first poll. */
  private static void startOwning(
      PushPath p, PacedMockConsumer<Long, byte[]> c, TopicPartition... partitions) {
    c.schedulePollTask(() -> c.rebalance(List.of(partitions)));
    p.start(WAIT);
  }

  private void startOwningAll() {
    startOwning(push, consumer, P0, P1);
  }

  PushPathTest() {
    consumer.updatePartitions(
        LOG,
        List.of(
            new PartitionInfo(LOG, 0, null, null, null),
            new PartitionInfo(LOG, 1, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
    consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));
  }

  @AfterEach
  void close() {
    push.close();
    redirects.close();
  }

  private static byte[] delta(long user, long n) {
    return CODEC.encode(
        new Delta(user, 7, 1L, DeltaBody.newMessage(new NewMessage(n, user, "m" + n))));
  }

  private static ConsumerRecord<Long, byte[]> record(
      TopicPartition tp, long offset, Long key, byte[] value) {
    return new ConsumerRecord<>(tp.topic(), tp.partition(), offset, key, value);
  }

  /** Records that one poll of iris.log returns. */
  @SafeVarargs
  private void nextPollBrings(ConsumerRecord<Long, byte[]>... records) {
    consumer.schedulePollTask(
        () -> {
          for (ConsumerRecord<Long, byte[]> r : records) {
            consumer.addRecord(r);
          }
        });
  }

  private void subscribe(DeviceId device, String topic) {
    push.onSubscribe(
        new InterceptSubscribeMessage(
            new Subscription(device.clientId(), Topic.asTopic(topic), MqttQoS.AT_LEAST_ONCE),
            Long.toString(device.userId())));
  }

  private static List<List<Long>> batches(List<ServerFrame> frames) {
    List<List<Long>> out = new ArrayList<>();
    for (ServerFrame f : frames) {
      List<Long> positions = new ArrayList<>();
      f.getBody().getDeltas().getDeltas().forEach(d -> positions.add(d.getPos()));
      out.add(positions);
    }
    return out;
  }

  @Test
  void shouldPushTheDeltasOfAPollToEverySubscribedDeviceInBatchesOfAtMostBatchSize() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.down());

    // User 42's deltas at 0, 3, 4, 9, 12; user 43's in between.
    nextPollBrings(
        record(P0, 0, 42L, delta(42, 1)),
        record(P0, 1, 43L, delta(43, 1)),
        record(P0, 2, 43L, delta(43, 2)),
        record(P0, 3, 42L, delta(42, 2)),
        record(P0, 4, 42L, delta(42, 3)),
        record(P0, 9, 42L, delta(42, 4)),
        record(P0, 12, 42L, delta(42, 5)));

    await().atMost(WAIT).until(() -> push.pushed() == 10);
    assertEquals(7, push.recordsRead(), "every record read, other users' too");
    assertEquals(
        7 * Long.BYTES + 5 * delta(42, 1).length + 2 * delta(43, 1).length,
        push.bytesRead(),
        "keys and frames");
    for (DeviceId d : List.of(PHONE, TABLET)) {
      List<ServerFrame> frames = devices.to(d);
      assertEquals(List.of(List.of(0L, 3L), List.of(4L, 9L), List.of(12L)), batches(frames));
      List<Long> prev = new ArrayList<>();
      for (ServerFrame f : frames) {
        DeltaBatch b = f.getBody().getDeltas();
        f.getBody().getDeltas().getDeltas().forEach(x -> prev.add(x.getPrevPos()));
        assertEquals(DownFixtures.EPOCH, b.getEpoch());
        assertEquals(
            b.getDeltas().get(b.getDeltasSize() - 1).getPos(),
            b.getThroughPos(),
            "a pushed batch covers up to its last delta");
        assertFalse(b.isSetTier(), "pushed live, not a catch-up answer");
        assertFalse(f.isSetRequestId());
      }
      assertEquals(
          List.of(-1L, 0L, 3L, 4L, 9L),
          prev,
          "each delta chained to the user's previous one this reader read, the first to its start");
    }
  }

  @Test
  void shouldPushOnlyToDevicesSubscribedToTheirDownTopicHereButRememberEveryUsersDeltas() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.up()); // not its down topic
    subscribe(OTHER, PHONE.down()); // not its own down topic
    assertEquals(1, push.connectedDevices());
    assertEquals(Set.of(PHONE), push.devicesOf(42));
    assertNull(push.devicesOf(43));

    nextPollBrings(record(P1, 0, 43L, delta(43, 1)), record(P0, 0, 42L, delta(42, 1)));

    await().atMost(WAIT).until(() -> push.pushed() == 1);
    assertEquals(1, devices.to(PHONE).size());
    assertEquals(1, devices.size());
    await().atMost(WAIT).until(() -> logs.readThrough(1) == 1);
    assertEquals(1, logs.recent(43, 1, -1, -1, 10).entries().size(), "kept for catch-up");
  }

  @Test
  void shouldSkipAndCountRecordsThatAreNotDeltas() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());

    nextPollBrings(
        record(P0, 0, null, delta(42, 1)),
        record(P0, 1, 42L, new byte[] {1, 2, 3}),
        record(P0, 2, 42L, new byte[0]),
        record(P0, 3, 42L, delta(42, 1)));

    await().atMost(WAIT).until(() -> push.pushed() == 1);
    assertEquals(3, push.skipped());
    assertEquals(List.of(List.of(3L)), batches(devices.to(PHONE)));
    assertEquals(
        -1,
        devices.to(PHONE).get(0).getBody().getDeltas().getDeltas().get(0).getPrevPos(),
        "what is not a delta is no delta of the user");
  }

  @Test
  void shouldForgetADeviceThatDisconnectsOrIsLost() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.down());
    subscribe(OTHER, OTHER.down());

    push.onDisconnect(new InterceptDisconnectMessage(PHONE.clientId(), "42"));
    assertEquals(Set.of(TABLET), push.devicesOf(42));
    push.onConnectionLost(new InterceptConnectionLostMessage(TABLET.clientId(), "42"));
    push.onDisconnect(new InterceptDisconnectMessage("not-a-device", "x"));

    assertNull(push.devicesOf(42));
    assertEquals(1, push.connectedDevices());
    assertEquals(2, push.disconnects());
    assertEquals(1, push.connectionsLost());

    nextPollBrings(record(P0, 0, 42L, delta(42, 1)), record(P1, 0, 43L, delta(43, 1)));
    await().atMost(WAIT).until(() -> push.pushed() == 1);
    assertEquals(1, devices.to(OTHER).size());
    assertEquals(1, devices.size());
  }

  @Test
  void shouldCommitTheOffsetsItHasPushed() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());

    nextPollBrings(record(P0, 0, 42L, delta(42, 1)), record(P0, 1, 42L, delta(42, 2)));

    await()
        .atMost(WAIT)
        .until(
            () -> {
              OffsetAndMetadata o = consumer.committed(Set.of(P0)).get(P0);
              return o != null && o.offset() == 2;
            });
  }

  @Test
  void shouldResumeFromTheGroupsOffsetOrElseFromTheEnd() {
    PacedMockConsumer<Long, byte[]> resuming = new PacedMockConsumer<>("latest");
    resuming.updatePartitions(LOG, consumer.partitionsFor(LOG));
    resuming.updateEndOffsets(Map.of(P0, 10L, P1, 7L));
    PushPath resumed = pushPath(() -> resuming, 2, 64 * 1024);

    startOwning(resumed, resuming, P0, P1);
    try {
      assertEquals(Set.of(P0, P1), resuming.assignment(), "what the group assigned");
      assertEquals(10, resuming.position(P0), "the end, the first time (else the group's offset)");
      assertEquals(10, logs.readThrough(0), "memory starts where the reader starts");
      assertEquals(7, logs.readThrough(1));
      assertEquals(9, logs.append(42, 0, 12, new byte[1]), "the first delta read chains to 9");
    } finally {
      resumed.close();
    }
  }

  @Test
  void shouldSayWhyItDiedAndStopRunningWhenTheConsumerFails() {
    startOwningAll();
    assertTrue(push.running());
    KafkaException broken = new KafkaException("fenced");

    consumer.setPollException(broken);

    await().atMost(WAIT).until(() -> !push.running());
    assertSame(broken, push.failure());
    await().atMost(WAIT).until(consumer::closed);
  }

  @Test
  void shouldStopCleanlyOnClose() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());
    nextPollBrings(record(P0, 0, 42L, delta(42, 1)));
    await().atMost(WAIT).until(() -> push.pushed() == 1);

    push.close();
    push.close();

    assertFalse(push.running());
    assertNull(push.failure(), "a clean stop is not a failure");
    assertTrue(consumer.closed());
  }

  @Test
  void shouldCloseQuietlyWhenNeverStarted() {
    push.close();

    assertFalse(push.running());
    assertNull(push.consumer());
  }

  @Test
  void shouldCutABatchAtTheFrameLimitInBytes() {
    PushPath small = pushPath(() -> consumer, 50, 4096);
    try {
      startOwning(small, consumer, P0, P1);
      small.onSubscribe(
          new InterceptSubscribeMessage(
              new Subscription(
                  PHONE.clientId(), Topic.asTopic(PHONE.down()), MqttQoS.AT_LEAST_ONCE),
              "42"));
      List<ConsumerRecord<Long, byte[]>> records = new ArrayList<>();
      for (long o = 0; o < 7; o++) {
        records.add(
            record(
                P0,
                o,
                42L,
                CODEC.encode(
                    new Delta(
                        42,
                        7,
                        1L,
                        DeltaBody.newMessage(new NewMessage(o, 43, "x".repeat(1000)))))));
      }
      consumer.schedulePollTask(() -> records.forEach(consumer::addRecord));

      await().atMost(WAIT).until(() -> small.pushed() == 7);
      assertEquals(
          List.of(List.of(0L, 1L, 2L), List.of(3L, 4L, 5L), List.of(6L)),
          batches(devices.to(PHONE)),
          "three deltas of ~1 KiB per 4 KiB frame, although 50 would be allowed by count");
      devices.all().forEach(f -> assertTrue(f.frame().length <= 4096, f.frame().length + " B"));
    } finally {
      small.close();
    }
  }

  @Test
  void shouldForwardADeltaOfAKindNewerThanTheBridgeWhole() {
    startOwningAll();
    subscribe(PHONE, PHONE.down());
    byte[] newer = io.iris.protocol.NewerWriterFrames.deltaOfAnUnknownKind(); // user 42

    nextPollBrings(record(P0, 5, 42L, newer), record(P0, 6, 42L, delta(42, 6)));

    await().atMost(WAIT).until(() -> push.pushed() == 2);
    byte[] frame = devices.all().get(0).frame();
    assertTrue(
        io.iris.protocol.NewerWriterFrames.contains(
            frame, io.iris.protocol.NewerWriterFrames.unknownMemberBytes()),
        "the unknown kind travels on, byte for byte");
    assertEquals(List.of(List.of(5L, 6L)), batches(devices.to(PHONE)));
    assertEquals(0, push.skipped(), "a newer kind is a delta, not junk");
  }

  // --- ownership ---

  /** A user of {@code partition} in {@link #LAYOUT}. */
  private static long userOf(int partition) {
    for (long u = 100; ; u++) {
      if (LAYOUT.partitionOf(u) == partition) {
        return u;
      }
    }
  }

  @Test
  void shouldRedirectADeviceWhoseUsersPartitionItDoesNotOwnAndNotServeIt() {
    startOwning(push, consumer, P0);
    long mine = userOf(0);
    long theirs = userOf(1);
    DeviceId here = new DeviceId(mine, "phone");
    DeviceId elsewhere = new DeviceId(theirs, "phone");

    subscribe(here, here.down());
    subscribe(elsewhere, elsewhere.down());

    assertEquals(Set.of(here), push.devicesOf(mine));
    assertNull(push.devicesOf(theirs), "never served a partial stream");
    ServerFrame f = devices.to(elsewhere).get(0);
    assertEquals(List.of("tcp://owner-1:1883"), f.getBody().getRedirect().getServerUris());
    assertEquals(1, f.getBody().getRedirect().getPartition());
    assertTrue(devices.to(here).isEmpty());
    await().atMost(WAIT).until(() -> closed.equals(List.of(elsewhere.clientId())));
    assertEquals(List.of("[0]@1"), claims, "the assignment told to the other bridges");
  }

  @Test
  void shouldRedirectTheDevicesOfAPartitionThatMovesAwayAndForgetIt() {
    long first = userOf(0);
    long second = userOf(1);
    DeviceId a = new DeviceId(first, "phone");
    DeviceId b = new DeviceId(second, "phone");
    startOwningAll();
    subscribe(a, a.down());
    subscribe(b, b.down());
    nextPollBrings(record(P1, 0, second, delta(second, 1)));
    await().atMost(WAIT).until(() -> push.pushed() == 1);
    devices.clear();

    // The group takes partition 1 away (another bridge joined).
    consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0)));
    await().atMost(WAIT).until(() -> push.ownedPartitions().equals(Set.of(0)));

    await().atMost(WAIT).until(() -> devices.size() == 1);
    assertTrue(devices.to(b).get(0).getBody().isSetRedirect(), "told to go");
    assertNull(push.devicesOf(second));
    assertEquals(Set.of(a), push.devicesOf(first), "the other partition's devices stay");
    assertEquals(-1, logs.readThrough(1), "memory forgets the partition");
    assertEquals(Set.of(0), logs.partitionsRead());
    assertEquals(1, push.partitionsMoved());
    assertEquals(
        List.of(Map.of(P1, new OffsetAndMetadata(1))), commits, "committed for the next owner");
  }

  @Test
  void shouldKeepADeviceWhoseOldSessionEndsAfterItsNewOneSubscribed() {
    startOwningAll();
    io.netty.handler.codec.mqtt.MqttConnectMessage connect =
        io.netty.handler.codec.mqtt.MqttMessageBuilders.connect()
            .clientId(PHONE.clientId())
            .build();
    push.onConnect(new io.moquette.interception.messages.InterceptConnectMessage(connect));
    subscribe(PHONE, PHONE.down());
    // It reconnects at once; Moquette reports the old session's end after the new one is up.
    push.onConnect(new io.moquette.interception.messages.InterceptConnectMessage(connect));
    subscribe(PHONE, PHONE.down());
    push.onConnectionLost(new InterceptConnectionLostMessage(PHONE.clientId(), "42"));

    assertEquals(Set.of(PHONE), push.devicesOf(42), "the new session is still pushed to");

    push.onDisconnect(new InterceptDisconnectMessage(PHONE.clientId(), "42"));
    assertNull(push.devicesOf(42));
  }
}
