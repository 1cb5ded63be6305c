package io.iris.bridge;

import io.iris.protocol.Topics;
import io.iris.protocol.thrift.DeviceRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices allowed to connect, read from the compacted topic {@code iris.devices} into memory
 * and followed while running, so that authentication never waits on a database. Tokens are never
 * stored or logged; only their salted hashes are.
 */
public final class DeviceRegistry implements DeviceAuthenticator, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeviceRegistry.class);

  private final String bootstrapServers;
  private final Map<String, DeviceRecord> devices = new ConcurrentHashMap<>();
  private final CountDownLatch loaded = new CountDownLatch(1);
  private KafkaConsumer<String, DeviceRecord> consumer;
  private Thread follower;
  private volatile boolean running;

  public DeviceRegistry(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
  }

  /** Reads the whole topic, then keeps following it; returns once it has read to the end. */
  public synchronized void start(Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    consumer =
        new KafkaConsumer<>(
            p,
            Topics.DEVICES.keySerde().deserializer(),
            Topics.DEVICES.valueSerde().deserializer());
    List<TopicPartition> partitions =
        consumer.partitionsFor(Topics.DEVICES.name(), Duration.ofSeconds(30)).stream()
            .map(i -> new TopicPartition(i.topic(), i.partition()))
            .collect(Collectors.toList());
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
    running = true;
    follower =
        new Thread(
            () -> {
              try {
                while (running) {
                  for (ConsumerRecord<String, DeviceRecord> r :
                      consumer.poll(Duration.ofMillis(500))) {
                    if (r.value() == null) {
                      devices.remove(r.key());
                    } else {
                      devices.put(r.key(), r.value());
                    }
                  }
                  if (loaded.getCount() > 0
                      && ends.entrySet().stream()
                          .allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                    loaded.countDown();
                  }
                }
              } catch (WakeupException e) {
                // closing
              } finally {
                consumer.close();
              }
            },
            "iris-device-registry");
    follower.setDaemon(true);
    follower.start();
    try {
      if (!loaded.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "could not read " + Topics.DEVICES.name() + " within " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
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
  public static String register(String bootstrapServers, long userId, String deviceId)
      throws Exception {
    if (DeviceTopics.parseClientId(userId + "/" + deviceId) == null) {
      throw new IllegalArgumentException(
          "user id must be positive and device id 1-64 characters without '/', '+' or '#'");
    }
    String token = DeviceTokens.newToken();
    byte[] salt = DeviceTokens.newSalt();
    DeviceRecord r =
        new DeviceRecord(
            userId,
            deviceId,
            java.nio.ByteBuffer.wrap(DeviceTokens.hash(salt, token)),
            java.nio.ByteBuffer.wrap(salt),
            System.currentTimeMillis());
    write(bootstrapServers, r);
    return token;
  }

  /** Marks a device revoked: it can no longer connect. */
  public static void revoke(String bootstrapServers, long userId, String deviceId)
      throws Exception {
    DeviceRecord r =
        new DeviceRecord(
                userId,
                deviceId,
                java.nio.ByteBuffer.wrap(new byte[32]),
                java.nio.ByteBuffer.wrap(new byte[16]),
                System.currentTimeMillis())
            .setRevoked(true);
    write(bootstrapServers, r);
  }

  private static void write(String bootstrapServers, DeviceRecord r) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    try (KafkaProducer<String, DeviceRecord> producer =
        new KafkaProducer<>(
            p, Topics.DEVICES.keySerde().serializer(), Topics.DEVICES.valueSerde().serializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  Topics.DEVICES.name(),
                  Topics.devicePointerKey(r.getUserId(), r.getDeviceId()),
                  r))
          .get(30, TimeUnit.SECONDS);
    }
  }

  @Override
  public synchronized void close() {
    if (follower == null) {
      return;
    }
    running = false;
    consumer.wakeup();
    try {
      follower.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    follower = null;
  }
}
