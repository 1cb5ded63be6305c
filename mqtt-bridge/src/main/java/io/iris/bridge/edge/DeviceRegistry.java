package io.iris.bridge.edge;

import io.iris.bridge.KafkaClients;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.thrift.DeviceRecord;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices allowed to connect, read from the compacted topic {@code iris.devices} into memory
 * and followed while running, so that authentication never waits on a database. Tokens are never
 * stored or logged; only their salted hashes are.
 */
public final class DeviceRegistry implements DeviceAuthenticator, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeviceRegistry.class);

  private final Map<String, DeviceRecord> devices = new ConcurrentHashMap<>();
  private final CompactedTopicView<String, DeviceRecord> view;
  private volatile Consumer<String> onRevoked = clientId -> {};

  public DeviceRegistry(KafkaClients kafka) {
    this.view =
        new CompactedTopicView<>(
            kafka,
            Topics.DEVICES.name(),
            Topics.DEVICES.keySerde().deserializer(),
            Topics.DEVICES.valueSerde().deserializer(),
            this::apply);
  }

  /** A registry reading {@code iris.devices} through the consumer {@code consumers} makes. */
  DeviceRegistry(
      Supplier<? extends org.apache.kafka.clients.consumer.Consumer<String, DeviceRecord>>
          consumers) {
    this.view = new CompactedTopicView<>(Topics.DEVICES.name(), consumers, this::apply);
  }

  /**
   * Called with the MQTT client id of a device that was revoked, removed or given a new token while
   * the bridge runs, so that its open connection can be closed (authentication only guards new
   * connections; after a new token, the device connects again with it).
   */
  public void onRevoked(Consumer<String> listener) {
    this.onRevoked = listener;
  }

  private void apply(String key, DeviceRecord r) {
    DeviceRecord before = r == null ? devices.remove(key) : devices.put(key, r);
    if (before == null || before.isRevoked()) {
      return; // it could not connect before: nothing to close
    }
    String clientId = before.getUserId() + "/" + before.getDeviceId();
    if (r == null || r.isRevoked()) {
      log.info("Device {} revoked: closing its connection if it has one", clientId);
      onRevoked.accept(clientId);
    } else if (!java.util.Arrays.equals(before.getTokenHash(), r.getTokenHash())
        || !java.util.Arrays.equals(before.getSalt(), r.getSalt())) {
      log.info(
          "Device {} has a new token: closing the connection made with the old one, if any",
          clientId);
      onRevoked.accept(clientId);
    }
  }

  /** Reads the whole topic, then keeps following it; returns once it has read to the end. */
  public void start(Duration timeout) {
    view.start(timeout);
    log.info("Device registry loaded: {} devices", devices.size());
  }

  public int size() {
    return devices.size();
  }

  @Override
  public boolean authenticate(String clientId, String username, byte[] password) {
    DeviceTopics.DeviceId id = DeviceTopics.parseClientId(clientId);
    if (id == null || !Long.toString(id.userId()).equals(username)) {
      return false;
    }
    DeviceRecord r = devices.get(Topics.devicePointerKey(id.userId(), id.deviceId()));
    return r != null
        && !r.isRevoked()
        && DeviceTokens.matches(r.getSalt(), r.getTokenHash(), password);
  }

  /**
   * Adds (or replaces) a device and returns its new token: the only time the token exists outside
   * the device. Writes to {@code iris.devices}; every bridge picks it up within a second.
   */
  public static String register(KafkaClients kafka, long userId, String deviceId) throws Exception {
    return registerAll(kafka, List.of(Map.entry(userId, deviceId))).get(0);
  }

  /** {@link #register(KafkaClients, long, String)} with nothing but the cluster's address. */
  public static String register(String bootstrapServers, long userId, String deviceId)
      throws Exception {
    return register(KafkaClients.of(bootstrapServers), userId, deviceId);
  }

  /** {@link #registerAll(KafkaClients, List)} with nothing but the cluster's address. */
  public static List<String> registerAll(
      String bootstrapServers, List<Map.Entry<Long, String>> devices) throws Exception {
    return registerAll(KafkaClients.of(bootstrapServers), devices);
  }

  /** {@link #revoke(KafkaClients, long, String)} with nothing but the cluster's address. */
  public static void revoke(String bootstrapServers, long userId, String deviceId)
      throws Exception {
    revoke(KafkaClients.of(bootstrapServers), userId, deviceId);
  }

  /** Adds many devices through one producer; returns their tokens in the same order. */
  public static List<String> registerAll(KafkaClients kafka, List<Map.Entry<Long, String>> devices)
      throws Exception {
    List<String> tokens = new java.util.ArrayList<>();
    List<DeviceRecord> records = newRecords(devices, tokens);
    write(kafka, records);
    return tokens;
  }

  /** {@link #registerAll(KafkaClients, List)} through {@code producer}, left open. */
  static List<String> registerAll(
      Producer<String, DeviceRecord> producer, List<Map.Entry<Long, String>> devices)
      throws Exception {
    List<String> tokens = new java.util.ArrayList<>();
    write(producer, newRecords(devices, tokens));
    return tokens;
  }

  private static List<DeviceRecord> newRecords(
      List<Map.Entry<Long, String>> devices, List<String> tokens) {
    List<DeviceRecord> records = new java.util.ArrayList<>();
    for (Map.Entry<Long, String> d : devices) {
      long userId = d.getKey();
      String deviceId = d.getValue();
      if (DeviceTopics.parseClientId(userId + "/" + deviceId) == null) {
        throw new IllegalArgumentException(
            "user id must be positive and device id 1 to "
                + io.iris.protocol.IdLimits.MAX_ID_BYTES
                + " bytes of UTF-8 without '/', '+' or '#'");
      }
      String token = DeviceTokens.newToken();
      byte[] salt = DeviceTokens.newSalt();
      records.add(
          new DeviceRecord(
              userId,
              deviceId,
              java.nio.ByteBuffer.wrap(DeviceTokens.hash(salt, token)),
              java.nio.ByteBuffer.wrap(salt),
              System.currentTimeMillis()));
      tokens.add(token);
    }
    return records;
  }

  /** Marks a device revoked: it can no longer connect. */
  public static void revoke(KafkaClients kafka, long userId, String deviceId) throws Exception {
    write(kafka, List.of(revoked(userId, deviceId)));
  }

  /** {@link #revoke(KafkaClients, long, String)} through {@code producer}, left open. */
  static void revoke(Producer<String, DeviceRecord> producer, long userId, String deviceId)
      throws Exception {
    write(producer, List.of(revoked(userId, deviceId)));
  }

  private static DeviceRecord revoked(long userId, String deviceId) {
    return new DeviceRecord(
            userId,
            deviceId,
            java.nio.ByteBuffer.wrap(new byte[32]),
            java.nio.ByteBuffer.wrap(new byte[16]),
            System.currentTimeMillis())
        .setRevoked(true);
  }

  private static void write(KafkaClients kafka, List<DeviceRecord> records) throws Exception {
    Properties p = kafka.durableProducer("iris-devices-writer");
    try (KafkaProducer<String, DeviceRecord> producer =
        new KafkaProducer<>(
            p, Topics.DEVICES.keySerde().serializer(), Topics.DEVICES.valueSerde().serializer())) {
      write(producer, records);
    }
  }

  private static void write(Producer<String, DeviceRecord> producer, List<DeviceRecord> records)
      throws Exception {
    List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
    for (DeviceRecord r : records) {
      sent.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.DEVICES.name(),
                  Topics.devicePointerKey(r.getUserId(), r.getDeviceId()),
                  r)));
    }
    for (java.util.concurrent.Future<?> f : sent) {
      f.get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Why this bridge stopped following the topic, or null while it follows it: when not null,
   * revocations and new devices are not applied.
   */
  public Throwable failure() {
    return view.failure();
  }

  @Override
  public void close() {
    view.close();
  }
}
