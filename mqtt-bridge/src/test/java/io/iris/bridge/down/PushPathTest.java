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
import io.iris.protocol.thrift.LogBookmarks;
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
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PushPathTest {
  private static final String LOG = Topics.LOG.name();
  private static final String INDEX = Topics.LOG_INDEX.name();
  private static final TopicPartition P0 = new TopicPartition(LOG, 0);
  private static final TopicPartition P1 = new TopicPartition(LOG, 1);
  private static final TopicPartition INDEX_P0 = new TopicPartition(INDEX, 0);
  private static final TopicPartition INDEX_P1 = new TopicPartition(INDEX, 1);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final FrameCodec CODEC = FrameCodec.defaults();
  private static final DeviceId PHONE = new DeviceId(42, "phone");
  private static final DeviceId TABLET = new DeviceId(42, "tablet");
  private static final DeviceId OTHER = new DeviceId(43, "laptop");

  private final PacedMockConsumer<Long, byte[]> consumer = new PacedMockConsumer<>("latest");
  private final PacedMockConsumer<Long, LogBookmarks> indexConsumer =
      new PacedMockConsumer<>("earliest");
  private final MockProducer<Long, LogBookmarks> indexWrites =
      new MockProducer<>(
          true,
          null,
          Topics.LOG_INDEX.keySerde().serializer(),
          Topics.LOG_INDEX.valueSerde().serializer());
  private final LogIndex index = new LogIndex(indexWrites, () -> indexConsumer);
  private final UserLogs logs = new UserLogs(16, 100, 4, 4, index::write);
  private final CapturingSender devices = new CapturingSender();
  private final PushPath push = new PushPath(() -> consumer, 2, devices, logs, index);

  PushPathTest() {
    consumer.updatePartitions(
        LOG,
        List.of(
            new PartitionInfo(LOG, 0, null, null, null),
            new PartitionInfo(LOG, 1, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
    consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));
    indexConsumer.updateBeginningOffsets(Map.of(INDEX_P0, 0L, INDEX_P1, 0L));
    indexConsumer.updateEndOffsets(Map.of(INDEX_P0, 0L, INDEX_P1, 0L));
  }

  @AfterEach
  void close() {
    push.close();
  }

  private static byte[] delta(long user, long seq) {
    return CODEC.encode(
        new Delta(
            user, seq, seq - 1, 7, 1L, DeltaBody.newMessage(new NewMessage(seq, user, "m" + seq))));
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
      List<Long> seqs = new ArrayList<>();
      f.getBody().getDeltas().getDeltas().forEach(d -> seqs.add(d.getSeq()));
      out.add(seqs);
    }
    return out;
  }

  @Test
  void shouldPushTheDeltasOfAPollToEverySubscribedDeviceInBatchesOfAtMostBatchSize() {
    subscribe(PHONE, PHONE.down());
    subscribe(TABLET, TABLET.down());
    push.start();

    nextPollBrings(
        record(P0, 0, 42L, delta(42, 1)),
        record(P0, 1, 42L, delta(42, 2)),
        record(P0, 2, 42L, delta(42, 3)),
        record(P0, 3, 42L, delta(42, 4)),
        record(P0, 4, 42L, delta(42, 5)));

    await().atMost(WAIT).until(() -> push.pushed() == 10);
    for (DeviceId d : List.of(PHONE, TABLET)) {
      List<ServerFrame> frames = devices.to(d);
      assertEquals(List.of(List.of(1L, 2L), List.of(3L, 4L), List.of(5L)), batches(frames));
      for (ServerFrame f : frames) {
        DeltaBatch b = f.getBody().getDeltas();
        assertEquals(5, b.getHeadSeq(), "the newest seq of the poll");
        assertFalse(b.isSetTier(), "pushed live, not a catch-up answer");
        assertFalse(f.isSetRequestId());
      }
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
    await().atMost(WAIT).until(() -> logs.head(43) == 1);
    assertEquals(1, logs.recent(43, 0, 0, 10).frames().size(), "kept for catch-up");
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
    assertEquals(List.of(List.of(1L)), batches(devices.to(PHONE)));
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
    PushPath resumed = new PushPath(() -> resuming, 2, devices, logs, index);

    resumed.start();
    try {
      assertEquals(Set.of(P0, P1), resuming.assignment(), "every partition, assigned");
      assertEquals(4, resuming.position(P0), "where the group got to");
      assertEquals(7, resuming.position(P1), "the end, the first time");
    } finally {
      resumed.close();
    }
  }

  @Test
  void shouldRestoreTheIndexOfItsPartitionsBeforeReading() {
    indexConsumer.updateEndOffsets(Map.of(INDEX_P0, 0L, INDEX_P1, 1L));
    indexConsumer.schedulePollTask(
        () ->
            indexConsumer.addRecord(
                new ConsumerRecord<>(
                    INDEX,
                    1,
                    0,
                    42L,
                    new LogBookmarks(42, 1, List.of(1L, 5L), List.of(10L, 50L)))));

    push.start();

    assertEquals(5, logs.head(42));
    assertEquals(new UserLogs.Bookmark(1, 5, 50), logs.bookmarkAtOrBefore(42, 6));
    assertTrue(indexConsumer.closed());
  }

  @Test
  void shouldWriteTheBookmarksOfNewDeltasToTheIndex() {
    push.start();

    nextPollBrings(record(P1, 30, 42L, delta(42, 1)));

    await().atMost(WAIT).until(() -> indexWrites.history().size() == 1);
    assertEquals(1, indexWrites.history().get(0).partition());
    assertEquals(List.of(30L), indexWrites.history().get(0).value().getOffsets());
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
}
