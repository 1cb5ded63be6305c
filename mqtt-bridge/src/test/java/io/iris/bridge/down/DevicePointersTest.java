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

  private ConsumerRecord<String, DevicePointer> written(long user, String device, long seq) {
    return new ConsumerRecord<>(
        TOPIC,
        0,
        nextOffset++,
        Topics.devicePointerKey(user, device),
        new DevicePointer(user, device, seq, 1L));
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
    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 3, 10));

    assertEquals(3, pointers.get(42, "phone"));
    ProducerRecord<String, DevicePointer> w = producer.history().get(0);
    assertEquals(TOPIC, w.topic());
    assertEquals("42:phone", w.key());
    assertEquals(42, w.value().getUserId());
    assertEquals("phone", w.value().getDeviceId());
    assertEquals(3, w.value().getAckedSeq());

    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 7, 10));
    assertEquals(7, pointers.get(42, "phone"));
    assertEquals(2, producer.history().size());
  }

  @Test
  void shouldDropALateOrRepeatedAckWithoutWritingIt() {
    pointers.ack(PHONE, 5, 10);

    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(PHONE, 5, 10));
    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(PHONE, 4, 10));
    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(new DeviceId(43, "x"), 0, 10));

    assertEquals(5, pointers.get(42, "phone"));
    assertEquals(1, producer.history().size());
  }

  @Test
  void shouldRefuseAckBeyondHead() {
    assertEquals(DevicePointers.Outcome.AHEAD_OF_HEAD, pointers.ack(PHONE, 11, 10));

    assertEquals(0, pointers.get(42, "phone"));
    assertTrue(producer.history().isEmpty());
    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 10, 10), "the head itself");
  }

  @Test
  void shouldNotCheckAHeadThatIsNotKnownHere() {
    assertEquals(DevicePointers.Outcome.MOVED, pointers.ack(PHONE, 1_000, -1));
  }

  @Test
  void shouldKeepOnePointerPerDevice() {
    pointers.ack(PHONE, 5, 10);
    pointers.ack(new DeviceId(42, "tablet"), 2, 10);

    assertEquals(5, pointers.get(42, "phone"));
    assertEquals(2, pointers.get(42, "tablet"));
    assertEquals(0, pointers.get(42, "tv"), "never acknowledged");
  }

  @Test
  void shouldLoadThePointersOfEveryBridgeKeepingTheHighest() {
    startWith(
        written(42, "phone", 7),
        written(42, "tablet", 3),
        written(42, "phone", 5), // an older write landing late
        written(4, "phone", 1),
        written(420, "phone", 2));

    assertEquals(7, pointers.get(42, "phone"));
    assertEquals(Map.of("phone", 7L, "tablet", 3L), pointers.ofUser(42));
    assertEquals(Map.of("phone", 1L), pointers.ofUser(4), "not user 42's or 420's");
    assertEquals(Map.of(), pointers.ofUser(5));
    assertEquals(DevicePointers.Outcome.STALE, pointers.ack(PHONE, 6, 10), "loaded pointers count");
  }

  @Test
  void shouldFollowPointersMovedByOtherBridgesAndForgetRemovedOnes() {
    startWith(written(42, "phone", 7));

    consumer.schedulePollTask(() -> consumer.addRecord(written(42, "phone", 9)));
    await().atMost(WAIT).until(() -> pointers.get(42, "phone") == 9);

    consumer.schedulePollTask(() -> consumer.addRecord(removed(42, "phone")));
    await().atMost(WAIT).until(() -> pointers.get(42, "phone") == 0);
    assertEquals(Map.of(), pointers.ofUser(42));
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
