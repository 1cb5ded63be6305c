package io.iris.bridge.edge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.PacedMockConsumer;
import io.iris.protocol.thrift.DeviceRecord;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeviceRegistryTest {
  private static final String TOPIC = Topics.DEVICES.name();
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String PHONE_TOKEN = DeviceTokens.newToken();
  private static final String TABLET_TOKEN = DeviceTokens.newToken();

  private final PacedMockConsumer<String, DeviceRecord> consumer =
      new PacedMockConsumer<>("earliest");
  private final DeviceRegistry registry = new DeviceRegistry(() -> consumer);
  private final List<String> revoked = new CopyOnWriteArrayList<>();
  private long nextOffset;

  DeviceRegistryTest() {
    consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(P0, 0L));
    registry.onRevoked(revoked::add);
  }

  @AfterEach
  void close() {
    registry.close();
  }

  private static DeviceRecord device(long user, String deviceId, String token) {
    byte[] salt = DeviceTokens.newSalt();
    return new DeviceRecord(
        user, deviceId, ByteBuffer.wrap(DeviceTokens.hash(salt, token)), ByteBuffer.wrap(salt), 1L);
  }

  private static DeviceRecord revokedDevice(long user, String deviceId) {
    return device(user, deviceId, DeviceTokens.newToken()).setRevoked(true);
  }

  private ConsumerRecord<String, DeviceRecord> record(String key, DeviceRecord value) {
    return new ConsumerRecord<>(TOPIC, 0, nextOffset++, key, value);
  }

  /** Starts the registry over {@code records}, the topic's content. */
  @SafeVarargs
  private void startWith(ConsumerRecord<String, DeviceRecord>... records) {
    consumer.updateEndOffsets(Map.of(P0, (long) records.length));
    consumer.schedulePollTask(
        () -> {
          for (ConsumerRecord<String, DeviceRecord> r : records) {
            consumer.addRecord(r);
          }
        });
    registry.start(WAIT);
  }

  private void thenArrives(ConsumerRecord<String, DeviceRecord> r) {
    consumer.schedulePollTask(() -> consumer.addRecord(r));
  }

  private static byte[] bytes(String token) {
    return token.getBytes(UTF_8);
  }

  @Test
  void shouldAuthenticateARegisteredDeviceWithItsToken() {
    startWith(
        record("42:phone", device(42, "phone", PHONE_TOKEN)),
        record("42:tablet", device(42, "tablet", TABLET_TOKEN)));

    assertEquals(2, registry.size());
    assertTrue(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));
    assertTrue(registry.authenticate("42/tablet", "42", bytes(TABLET_TOKEN)));
  }

  @Test
  void shouldRefuseAWrongOrMissingToken() {
    startWith(
        record("42:phone", device(42, "phone", PHONE_TOKEN)),
        record("42:tablet", device(42, "tablet", TABLET_TOKEN)));

    assertFalse(registry.authenticate("42/phone", "42", bytes(TABLET_TOKEN)), "another's token");
    assertFalse(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN + "x")));
    assertFalse(registry.authenticate("42/phone", "42", new byte[0]));
    assertFalse(registry.authenticate("42/phone", "42", null));
  }

  @Test
  void shouldRefuseAnUnknownDeviceOrAClientIdThatIsNotADevice() {
    startWith(record("42:phone", device(42, "phone", PHONE_TOKEN)));

    assertFalse(registry.authenticate("42/laptop", "42", bytes(PHONE_TOKEN)));
    assertFalse(registry.authenticate("43/phone", "43", bytes(PHONE_TOKEN)));
    assertFalse(registry.authenticate("phone", "42", bytes(PHONE_TOKEN)));
    assertFalse(registry.authenticate(null, "42", bytes(PHONE_TOKEN)));
  }

  @Test
  void shouldRefuseAUserNameThatIsNotTheClientIdsUser() {
    startWith(record("42:phone", device(42, "phone", PHONE_TOKEN)));

    assertFalse(registry.authenticate("42/phone", "43", bytes(PHONE_TOKEN)));
    assertFalse(registry.authenticate("42/phone", null, bytes(PHONE_TOKEN)));
    assertFalse(registry.authenticate("42/phone", "042", bytes(PHONE_TOKEN)));
  }

  @Test
  void shouldRefuseARevokedDevice() {
    startWith(
        record("42:phone", device(42, "phone", PHONE_TOKEN)),
        record("42:phone", device(42, "phone", PHONE_TOKEN).setRevoked(true)));

    assertFalse(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));
  }

  @Test
  void shouldApplyRegistrationsAndRevocationsWhileRunning() {
    startWith();
    assertFalse(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));

    thenArrives(record("42:phone", device(42, "phone", PHONE_TOKEN)));
    await().atMost(WAIT).until(() -> registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));

    thenArrives(record("42:phone", revokedDevice(42, "phone")));
    await().atMost(WAIT).until(() -> !registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));
  }

  @Test
  void shouldCallOnRevokedWhenAnActiveDeviceIsRevokedOrRemoved() {
    startWith(
        record("42:phone", device(42, "phone", PHONE_TOKEN)),
        record("42:tablet", device(42, "tablet", TABLET_TOKEN)));

    thenArrives(record("42:phone", revokedDevice(42, "phone")));
    thenArrives(record("42:tablet", null));

    await().atMost(WAIT).until(() -> revoked.size() == 2);
    assertEquals(List.of("42/phone", "42/tablet"), revoked);
    assertEquals(1, registry.size(), "a revoked device stays known; a removed one does not");
  }

  @Test
  void shouldNotCallOnRevokedForADeviceThatCouldNotConnectAnyway() {
    startWith(
        record("42:phone", revokedDevice(42, "phone")), // revoked before this bridge started
        record("42:tablet", device(42, "tablet", TABLET_TOKEN)));

    thenArrives(record("42:phone", revokedDevice(42, "phone"))); // revoked again
    thenArrives(record("43:ghost", revokedDevice(43, "ghost"))); // never registered
    thenArrives(record("44:ghost", null)); // removing what is not there
    thenArrives(record("44:ghost", null)); // a marker
    await().atMost(WAIT).until(() -> consumer.position(P0) == nextOffset);

    assertTrue(revoked.isEmpty(), revoked.toString());
  }

  /**
   * {@link DeviceRegistry#register} "adds (or replaces)" a device, which is how an operator rotates
   * a leaked token: a connection made with the old token must end too.
   */
  @Test
  void shouldDisconnectADeviceWhoseTokenIsReplaced() {
    DeviceRecord phone = device(42, "phone", PHONE_TOKEN);
    startWith(record("42:phone", phone));

    thenArrives(record("42:phone", phone.deepCopy())); // the same record again: nothing new
    thenArrives(record("42:phone", device(42, "phone", DeviceTokens.newToken())));

    await().atMost(Duration.ofSeconds(2)).until(() -> !revoked.isEmpty());
    assertEquals(List.of("42/phone"), revoked);
    assertFalse(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)), "the old token");
  }

  @Test
  void shouldKeepWhyItStoppedFollowing() {
    startWith();
    KafkaException broken = new KafkaException("not authorised");

    consumer.setPollException(broken);

    await().atMost(WAIT).until(() -> registry.failure() != null);
    assertSame(broken, registry.failure());
  }

  @Test
  void shouldRegisterDevicesWithFreshTokensThatOnlyTheirHashesRecord() throws Exception {
    MockProducer<String, DeviceRecord> producer =
        new MockProducer<>(
            true,
            null,
            Topics.DEVICES.keySerde().serializer(),
            Topics.DEVICES.valueSerde().serializer());

    List<String> tokens =
        DeviceRegistry.registerAll(
            producer, List.of(Map.entry(42L, "phone"), Map.entry(43L, "tv")));

    assertEquals(2, tokens.size());
    assertNotEquals(tokens.get(0), tokens.get(1));
    List<ProducerRecord<String, DeviceRecord>> sent = producer.history();
    assertEquals(List.of("42:phone", "43:tv"), sent.stream().map(ProducerRecord::key).toList());
    DeviceRecord phone = sent.get(0).value();
    assertEquals(TOPIC, sent.get(0).topic());
    assertEquals(42, phone.getUserId());
    assertEquals("phone", phone.getDeviceId());
    assertFalse(phone.isRevoked());
    assertFalse(
        new String(phone.getTokenHash(), UTF_8).contains(tokens.get(0)), "no token in the record");
    assertArrayEquals(DeviceTokens.hash(phone.getSalt(), tokens.get(0)), phone.getTokenHash());
    assertFalse(producer.closed(), "the caller's producer stays open");

    startWith(
        record(sent.get(0).key(), sent.get(0).value()),
        record(sent.get(1).key(), sent.get(1).value()));
    assertTrue(registry.authenticate("42/phone", "42", bytes(tokens.get(0))));
    assertTrue(registry.authenticate("43/tv", "43", bytes(tokens.get(1))));
  }

  @Test
  void shouldRefuseToRegisterADeviceThatCannotBeAClientIdAndSendNothing() {
    MockProducer<String, DeviceRecord> producer =
        new MockProducer<>(
            true,
            null,
            Topics.DEVICES.keySerde().serializer(),
            Topics.DEVICES.valueSerde().serializer());

    for (Map.Entry<Long, String> bad :
        List.of(
            Map.entry(0L, "phone"),
            Map.entry(42L, "a/b"),
            Map.entry(42L, "+"),
            Map.entry(42L, ""),
            Map.entry(42L, "d".repeat(65)))) {
      assertThrows(
          IllegalArgumentException.class,
          () -> DeviceRegistry.registerAll(producer, List.of(Map.entry(42L, "ok"), bad)),
          bad.toString());
    }
    assertTrue(producer.history().isEmpty(), "all or nothing");
  }

  @Test
  void shouldWriteARevocationThatLocksTheDeviceOut() throws Exception {
    MockProducer<String, DeviceRecord> producer =
        new MockProducer<>(
            true,
            null,
            Topics.DEVICES.keySerde().serializer(),
            Topics.DEVICES.valueSerde().serializer());

    DeviceRegistry.revoke(producer, 42, "phone");

    ProducerRecord<String, DeviceRecord> sent = producer.history().get(0);
    assertEquals("42:phone", sent.key());
    assertTrue(sent.value().isRevoked());
    startWith(
        record("42:phone", device(42, "phone", PHONE_TOKEN)), record(sent.key(), sent.value()));
    assertFalse(registry.authenticate("42/phone", "42", bytes(PHONE_TOKEN)));
    assertEquals(List.of("42/phone"), revoked, "revoked while loading: closed if connected");
  }
}
