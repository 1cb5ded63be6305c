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
import java.util.Collection;
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

  private final PacedMockConsumer<Long, byte[]> consumer = new PacedMockConsumer<>("latest");
  private final UserLogs logs = new UserLogs(16, 100);
  private final CapturingSender devices = new CapturingSender();
  private final PushPath push =
      new PushPath(() -> consumer, 2, 64 * 1024, devices, logs, DownFixtures.EPOCH);

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
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.down());
    push.start();

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
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.up()); // not its down topic
    subscribe(OTHER, PHONE.down()); // not its own down topic
    push.start();
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
    subscribe(PHONE, PHONE.down());
    push.start();

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

    push.start();
    nextPollBrings(record(P0, 0, 42L, delta(42, 1)), record(P1, 0, 43L, delta(43, 1)));
    await().atMost(WAIT).until(() -> push.pushed() == 1);
    assertEquals(1, devices.to(OTHER).size());
    assertEquals(1, devices.size());
  }

  @Test
  void shouldCommitTheOffsetsItHasPushed() {
    subscribe(PHONE, PHONE.down());
    push.start();

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
    PacedMockConsumer<Long, byte[]> resuming =
        new PacedMockConsumer<>("latest") {
          @Override
          public synchronized void assign(Collection<TopicPartition> partitions) {
            super.assign(partitions); // MockConsumer forgets commits here: the group keeps them
            commitSync(Map.of(P0, new OffsetAndMetadata(4)));
          }
        };
    resuming.updatePartitions(LOG, consumer.partitionsFor(LOG));
    resuming.updateEndOffsets(Map.of(P0, 10L, P1, 7L));
    PushPath resumed =
        new PushPath(() -> resuming, 2, 64 * 1024, devices, logs, DownFixtures.EPOCH);

    resumed.start();
    try {
      assertEquals(Set.of(P0, P1), resuming.assignment(), "every partition, assigned");
      assertEquals(4, resuming.position(P0), "where the group got to");
      assertEquals(7, resuming.position(P1), "the end, the first time");
      assertEquals(4, logs.readThrough(0), "memory starts where the reader starts");
      assertEquals(7, logs.readThrough(1));
      assertEquals(3, logs.append(42, 0, 6, new byte[1]), "the first delta read chains to 3");
    } finally {
      resumed.close();
    }
  }

  @Test
  void shouldSayWhyItDiedAndStopRunningWhenTheConsumerFails() {
    push.start();
    assertTrue(push.running());
    KafkaException broken = new KafkaException("fenced");

    consumer.setPollException(broken);

    await().atMost(WAIT).until(() -> !push.running());
    assertSame(broken, push.failure());
    await().atMost(WAIT).until(consumer::closed);
  }

  @Test
  void shouldStopCleanlyOnClose() {
    subscribe(PHONE, PHONE.down());
    push.start();
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
    PushPath small = new PushPath(() -> consumer, 50, 4096, devices, logs, DownFixtures.EPOCH);
    try {
      small.onSubscribe(
          new InterceptSubscribeMessage(
              new Subscription(
                  PHONE.clientId(), Topic.asTopic(PHONE.down()), MqttQoS.AT_LEAST_ONCE),
              "42"));
      small.start();
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
    subscribe(PHONE, PHONE.down());
    push.start();
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

  @Test
  void shouldKeepADeviceWhoseOldSessionEndsAfterItsNewOneSubscribed() {
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
