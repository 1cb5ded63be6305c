package io.iris.bridge.down;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.PacedMockConsumer;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DevicePointersTest {
  private static final String TOPIC = Topics.DEVICE_POINTERS.name();
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final DeviceId PHONE = new DeviceId(42, "phone");

  private final PacedMockConsumer<String, DevicePointer> consumer =
      new PacedMockConsumer<>("earliest");
  private final MockProducer<String, DevicePointer> producer =
      new MockProducer<>(
          true,
          null,
          Topics.DEVICE_POINTERS.keySerde().serializer(),
          Topics.DEVICE_POINTERS.valueSerde().serializer());
  private final DevicePointers pointers = DownFixtures.pointers(producer, consumer);
  private long nextOffset;

  DevicePointersTest() {
    consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L));
  }

  @AfterEach
  void close() {
    pointers.close();
  }

  private static final String E = DownFixtures.EPOCH;
  private static final String OLD = "AAAAAAAAAAAAAAAAAAAAAg";

  private ConsumerRecord<String, DevicePointer> written(
      long user, String device, long pos, String epoch) {
    return new ConsumerRecord<>(
        TOPIC,
        0,
        nextOffset++,
        Topics.devicePointerKey(user, device),
        new DevicePointer(user, device, 1L, pos, epoch));
  }

  private ConsumerRecord<String, DevicePointer> written(long user, String device, long pos) {
    return written(user, device, pos, E);
  }

  /** The device's acknowledged position, -1 when none. */
  private long pos(long user, String device) {
    DevicePointer p = pointers.get(user, device);
    return p == null ? -1 : p.getAckedPos();
  }

  private Map<String, Long> ofUser(long user) {
    Map<String, Long> out = new java.util.TreeMap<>();
    pointers.ofUser(user).forEach((d, p) -> out.put(d, p.getAckedPos()));
    return out;
  }

  private ConsumerRecord<String, DevicePointer> removed(long user, String device) {
    return new ConsumerRecord<>(
        TOPIC, 0, nextOffset++, Topics.devicePointerKey(user, device), null);
  }

  @SafeVarargs
  private void startWith(ConsumerRecord<String, DevicePointer>... records) {
    consumer.updateEndOffsets(Map.of(P0, (long) records.length));
    consumer.schedulePollTask(
        () -> {
          for (ConsumerRecord<String, DevicePointer> r : records) {
            consumer.addRecord(r);
          }
        });
    pointers.start(WAIT);
  }

  @Test
  void shouldMoveForwardAndWriteTheNewPointer() {
    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 30, E, E));

    assertEquals(30, pos(42, "phone"));
    ProducerRecord<String, DevicePointer> w = producer.history().get(0);
    assertEquals(TOPIC, w.topic());
    assertEquals("42:phone", w.key());
    assertEquals(42, w.value().getUserId());
    assertEquals("phone", w.value().getDeviceId());
    assertEquals(30, w.value().getAckedPos());
    assertEquals(E, w.value().getEpoch());

    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 71, E, E));
    assertEquals(71, pos(42, "phone"));
    assertEquals(2, producer.history().size());
  }

  @Test
  void shouldDropALateOrRepeatedAckWithoutWritingIt() {
    pointers.ack(PHONE, 50, E, E);

    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(PHONE, 50, E, E));
    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(PHONE, 41, E, E));

    assertEquals(50, pos(42, "phone"));
    assertEquals(1, producer.history().size());
  }

  @Test
  void shouldRefuseAnAckOfAnotherEpochAndReplaceAPointerOfAnOlderOne() {
    assertEquals(DevicePointers.Outcome.OTHER_EPOCH, pointers.ack(PHONE, 5, OLD, E));
    assertEquals(-1, pos(42, "phone"));
    assertTrue(producer.history().isEmpty());

    startWith(written(42, "phone", 900, OLD));
    assertEquals(
        DevicePointers.Outcome.MOVED,
        pointers.ack(PHONE, 3, E, E),
        "a pointer of the old log means nothing: a lower position of the new one replaces it");
    assertEquals(3, pos(42, "phone"));
    assertEquals(E, pointers.get(42, "phone").getEpoch());
  }

  @Test
  void shouldKeepOnePointerPerDevice() {
    pointers.ack(PHONE, 5, E, E);
    pointers.ack(new DeviceId(42, "tablet"), 2, E, E);

    assertEquals(5, pos(42, "phone"));
    assertEquals(2, pos(42, "tablet"));
    assertNull(pointers.get(42, "tv"), "never acknowledged");
  }

  @Test
  void shouldLoadThePointersOfEveryBridgeKeepingTheHighest() {
    startWith(
        written(42, "phone", 70),
        written(42, "tablet", 30),
        written(42, "phone", 50), // an older write landing late
        written(4, "phone", 10),
        written(420, "phone", 20));

    assertEquals(70, pos(42, "phone"));
    assertEquals(Map.of("phone", 70L, "tablet", 30L), ofUser(42));
    assertEquals(Map.of("phone", 10L), ofUser(4), "not user 42's or 420's");
    assertEquals(Map.of(), ofUser(5));
    assertEquals(
        DevicePointers.Outcome.STALE, pointers.ack(PHONE, 60, E, E), "loaded pointers count");
  }

  @Test
  void shouldFollowPointersMovedByOtherBridgesAndForgetRemovedOnes() {
    startWith(written(42, "phone", 7));

    consumer.schedulePollTask(() -> consumer.addRecord(written(42, "phone", 9)));
    await().atMost(WAIT).until(() -> pos(42, "phone") == 9);

    consumer.schedulePollTask(() -> consumer.addRecord(removed(42, "phone")));
    await().atMost(WAIT).until(() -> pos(42, "phone") == -1);
    assertEquals(Map.of(), ofUser(42));
  }

  @Test
  void shouldSayWhyItStoppedFollowing() {
    startWith();
    assertNull(pointers.failure());
    KafkaException broken = new KafkaException("topic deleted");

    consumer.setPollException(broken);

    await().atMost(WAIT).until(() -> pointers.failure() != null);
    assertSame(broken, pointers.failure());
  }

  @Test
  void shouldCloseTheViewAndTheProducer() {
    startWith();

    pointers.close();

    assertTrue(producer.closed());
    assertTrue(consumer.closed());
  }
}
