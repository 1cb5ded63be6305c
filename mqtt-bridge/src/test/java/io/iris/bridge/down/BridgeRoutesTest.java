package io.iris.bridge.down;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.iris.bridge.PacedMockConsumer;
import io.iris.bridge.edge.EdgeFixtures;
import io.iris.protocol.thrift.BridgeRoute;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BridgeRoutesTest {
  private static final String TOPIC = Topics.BRIDGES.name();
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final PacedMockConsumer<String, BridgeRoute> consumer =
      new PacedMockConsumer<>("earliest");
  private final MockProducer<String, BridgeRoute> producer =
      new MockProducer<>(
          true,
          null,
          Topics.BRIDGES.keySerde().serializer(),
          Topics.BRIDGES.valueSerde().serializer());
  private final BridgeRoutes routes =
      new BridgeRoutes(
          "b1",
          List.of("tcp://b1:1883"),
          onRecord -> EdgeFixtures.view(TOPIC, consumer, onRecord),
          producer,
          () -> 5L);
  private long nextOffset;

  BridgeRoutesTest() {
    consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L));
  }

  @AfterEach
  void close() {
    routes.close();
  }

  private ConsumerRecord<String, BridgeRoute> claim(String bridge, int generation, Integer... ps) {
    return new ConsumerRecord<>(
        TOPIC,
        0,
        nextOffset++,
        bridge,
        new BridgeRoute(bridge, List.of("tcp://" + bridge + ":1883"), List.of(ps), generation, 1L));
  }

  @SafeVarargs
  private void startWith(ConsumerRecord<String, BridgeRoute>... records) {
    consumer.updateEndOffsets(Map.of(P0, (long) records.length));
    consumer.schedulePollTask(
        () -> {
          for (ConsumerRecord<String, BridgeRoute> r : records) {
            consumer.addRecord(r);
          }
        });
    routes.start(WAIT);
  }

  @Test
  void shouldNameTheOwnerOfTheHighestGenerationForAPartition() {
    // b2 died owning 0 and 1 (generation 4); b3 has since been given 1 (generation 6).
    startWith(claim("b2", 4, 0, 1), claim("b3", 6, 1, 2));

    assertEquals(List.of("tcp://b2:1883"), routes.ownerOf(0), "until the group moves it");
    assertEquals(List.of("tcp://b3:1883"), routes.ownerOf(1));
    assertEquals("b3", routes.ownerIdOf(2));
    assertEquals(List.of(), routes.ownerOf(5), "nobody claims it");
    assertNull(routes.ownerIdOf(5));
  }

  @Test
  void shouldWriteItsOwnClaimAndSeeItAtOnce() {
    startWith();

    routes.claim(Set.of(3, 1), 7);

    assertEquals(List.of("tcp://b1:1883"), routes.ownerOf(1));
    BridgeRoute written = producer.history().get(0).value();
    assertEquals("b1", producer.history().get(0).key());
    assertEquals(List.of(1, 3), written.getPartitions());
    assertEquals(7, written.getGeneration());
    assertEquals(5L, written.getUpdatedAtMs());
  }

  @Test
  void shouldForgetABridgeThatLeft() {
    startWith(claim("b2", 4, 0));
    consumer.schedulePollTask(
        () -> consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, nextOffset++, "b2", null)));
    await().atMost(WAIT).until(() -> routes.ownerOf(0).isEmpty());

    routes.claim(Set.of(0), 5);
    routes.leave();

    assertEquals(List.of(), routes.ownerOf(0));
    assertNull(producer.history().get(1).value(), "a tombstone");
  }
}
