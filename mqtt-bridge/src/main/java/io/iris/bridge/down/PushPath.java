package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.DeviceSender;
import io.iris.protocol.DeltaFrames;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.topics.Topics;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptConnectMessage;
import io.moquette.interception.messages.InterceptConnectionLostMessage;
import io.moquette.interception.messages.InterceptDisconnectMessage;
import io.moquette.interception.messages.InterceptSubscribeMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The push path, live part: consumer group {@code iris-mqtt-bridge} on iris.log pushes each delta
 * at once to every device of its user that is subscribed to its down topic here, several deltas of
 * a user in one {@link DeltaBatch} (up to {@code batchSize}, as Messenger's delta_batch_size, and
 * up to {@code maxFrameBytes}). A delta goes out as the bytes the streams app wrote, its position
 * added ({@link DeltaFrames}): a delta kind newer than this bridge reaches the device whole.
 *
 * <p>Each delta goes out with its position (its offset) and its prevPos, computed from this
 * reader's own reading ({@link UserLogs#append}): the previous delta of the user it read, or the
 * position before the one it started reading at. A device whose position is below prevPos asks for
 * the gap. Offsets are committed after the push: at least once toward devices, which drop a
 * position they already hold. Records that are not Delta frames are skipped and counted.
 */
public final class PushPath extends AbstractInterceptHandler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PushPath.class);
  public static final String GROUP = io.iris.topics.Names.BRIDGE_GROUP;

  private final Supplier<? extends Consumer<Long, byte[]>> consumers;
  private final int batchSize;
  private final int maxFrameBytes;
  private final DeviceSender replier;
  private final UserLogs logs;
  private final String epoch;
  private final FrameCodec codec = FrameCodec.defaults();
  private final Map<Long, Set<DeviceTopics.DeviceId>> subscribed = new ConcurrentHashMap<>();

  /** Sessions up per MQTT client id, as the connect and disconnect events tell. */
  private final Map<String, Integer> sessions = new ConcurrentHashMap<>();

  private final AtomicLong pushed = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong disconnects = new AtomicLong();
  private final AtomicLong connectionsLost = new AtomicLong();
  private Consumer<Long, byte[]> consumer;
  private Thread thread;
  private volatile boolean running;
  private volatile Throwable failure;

  public PushPath(
      KafkaClients kafka,
      int batchSize,
      int maxFrameBytes,
      DeviceSender replier,
      UserLogs logs,
      String epoch) {
    this(() -> newConsumer(kafka), batchSize, maxFrameBytes, replier, logs, epoch);
  }

  /**
   * A push path reading iris.log through the consumer {@code consumers} makes on {@link #start}.
   */
  PushPath(
      Supplier<? extends Consumer<Long, byte[]>> consumers,
      int batchSize,
      int maxFrameBytes,
      DeviceSender replier,
      UserLogs logs,
      String epoch) {
    this.consumers = consumers;
    this.batchSize = batchSize;
    this.maxFrameBytes = maxFrameBytes;
    this.replier = replier;
    this.logs = logs;
    this.epoch = epoch;
  }

  /** The devices of {@code userId} subscribed to their down topic on this bridge, or null. */
  public Set<DeviceTopics.DeviceId> devicesOf(long userId) {
    return subscribed.get(userId);
  }

  /** The consumer of iris.log, once started (to bind Kafka's own client metrics). */
  public synchronized Consumer<Long, byte[]> consumer() {
    return consumer;
  }

  /** Whether the consumer loop runs. */
  public boolean running() {
    return running && thread != null && thread.isAlive();
  }

  /**
   * Why the consumer loop died, or null while it runs (or after a clean stop). A dead push path
   * fails the bridge's health: devices connected here would silently stop receiving deltas.
   */
  public Throwable failure() {
    return failure;
  }

  /** Devices subscribed to their down topic here. */
  public int connectedDevices() {
    return subscribed.values().stream().mapToInt(Set::size).sum();
  }

  @Override
  public String getID() {
    return "iris-push-path";
  }

  @Override
  public Class<?>[] getInterceptedMessageTypes() {
    return new Class<?>[] {
      InterceptConnectMessage.class,
      InterceptSubscribeMessage.class,
      InterceptDisconnectMessage.class,
      InterceptConnectionLostMessage.class
    };
  }

  @Override
  public void onSubscribe(InterceptSubscribeMessage msg) {
    DeviceTopics.DeviceId id = DeviceTopics.parseClientId(msg.getClientID());
    if (id != null && id.down().equals(msg.getTopicFilter())) {
      subscribed.computeIfAbsent(id.userId(), k -> ConcurrentHashMap.newKeySet()).add(id);
    }
  }

  @Override
  public void onConnect(InterceptConnectMessage msg) {
    sessions.merge(msg.getClientID(), 1, Integer::sum);
  }

  @Override
  public void onDisconnect(InterceptDisconnectMessage msg) {
    disconnects.incrementAndGet();
    sessionEnded(msg.getClientID());
  }

  @Override
  public void onConnectionLost(InterceptConnectionLostMessage msg) {
    connectionsLost.incrementAndGet();
    sessionEnded(msg.getClientID());
  }

  /**
   * One session of the client ended. Its subscription is forgotten only when no newer session of
   * the same client id is up: a device that reconnects at once (a network change, a restart of the
   * app) takes over its old session, and Moquette may report the old one's end after the new one
   * has connected and subscribed. Forgetting then would leave the device connected and never pushed
   * to. Moquette calls these handlers on one thread, in order.
   */
  private void sessionEnded(String clientId) {
    Integer left = sessions.computeIfPresent(clientId, (k, n) -> n > 1 ? n - 1 : null);
    if (left == null) {
      forget(clientId);
    }
  }

  @Override
  public void onSessionLoopError(Throwable error) {
    log.error("MQTT session loop error", error);
  }

  private void forget(String clientId) {
    DeviceTopics.DeviceId id = DeviceTopics.parseClientId(clientId);
    if (id != null) {
      subscribed.computeIfPresent(
          id.userId(),
          (k, set) -> {
            set.remove(id);
            return set.isEmpty() ? null : set;
          });
    }
  }

  /** Devices that said DISCONNECT. */
  public long disconnects() {
    return disconnects.get();
  }

  /** Device connections that died without a DISCONNECT (radio loss, reset, keep-alive timeout). */
  public long connectionsLost() {
    return connectionsLost.get();
  }

  /** Deltas pushed to devices since start (one per device it reached). */
  public long pushed() {
    return pushed.get();
  }

  /** Records of iris.log that were not Delta frames. */
  public long skipped() {
    return skipped.get();
  }

  /**
   * Reads every partition of iris.log (assigned, not subscribed): every bridge sees every delta, so
   * a device may connect to any bridge and move between them; its position belongs to the log, not
   * to the bridge. Offsets are committed to {@code iris-mqtt-bridge} as a simple group (no
   * members): where the bridges have got to, as {@code kafka-consumer-groups --describe} shows. A
   * bridge resumes from there, or from the end the first time; its memory (tier 1) starts there.
   */
  public synchronized void start() {
    consumer = consumers.get();
    List<TopicPartition> partitions =
        consumer.partitionsFor(Topics.LOG.name(), Duration.ofSeconds(60)).stream()
            .map(i -> new TopicPartition(i.topic(), i.partition()))
            .toList();
    consumer.assign(partitions);
    Map<TopicPartition, OffsetAndMetadata> committed =
        consumer.committed(new java.util.HashSet<>(partitions), Duration.ofSeconds(30));
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata o = committed.get(tp);
      if (o == null) {
        consumer.seekToEnd(List.of(tp));
      } else {
        consumer.seek(tp, o.offset());
      }
      // Fixed now, before devices are let in: memory covers the partition from here on.
      logs.startReading(tp.partition(), consumer.position(tp, Duration.ofSeconds(30)));
    }
    running = true;
    thread = new Thread(this::run, "iris-push-path");
    thread.setDaemon(true);
    thread.start();
  }

  private static KafkaConsumer<Long, byte[]> newConsumer(KafkaClients kafka) {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    return new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer());
  }

  private void run() {
    try {
      while (running) {
        ConsumerRecords<Long, byte[]> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          readThroughPositions();
          continue;
        }
        Map<Long, List<Positioned>> byUser = new LinkedHashMap<>();
        for (ConsumerRecord<Long, byte[]> r : records) {
          if (r.key() == null) {
            skipped.incrementAndGet();
            continue;
          }
          try {
            codec.decode(
                r.value(), Delta::new); // a delta, perhaps of a kind newer than this bridge
          } catch (FrameException e) {
            skipped.incrementAndGet();
            continue;
          }
          long prevPos = logs.append(r.key(), r.partition(), r.offset(), r.value());
          if (subscribed.containsKey(r.key())) {
            byUser
                .computeIfAbsent(r.key(), k -> new ArrayList<>())
                .add(
                    new Positioned(
                        r.offset(), DeltaFrames.positioned(r.value(), r.offset(), prevPos)));
          }
        }
        readThroughPositions();
        byUser.forEach(this::push);
        consumer.commitAsync();
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      failure = e;
      log.error(
          "Push path stopped: deltas are not pushed until the bridge restarts (/health says so)",
          e);
    } finally {
      try {
        consumer.commitSync(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        // best effort on the way out
      }
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /** Tells memory how far each partition is read: markers and aborted records take offsets too. */
  private void readThroughPositions() {
    for (TopicPartition tp : consumer.assignment()) {
      logs.readThrough(tp.partition(), consumer.position(tp));
    }
  }

  /** A delta read from the log, as it goes to a device. */
  private record Positioned(long pos, byte[] delta) {}

  private void push(long user, List<Positioned> deltas) {
    Set<DeviceTopics.DeviceId> devices = subscribed.get(user);
    if (devices == null) {
      return;
    }
    int budget = maxFrameBytes - DeltaFrames.overheadBytes(null, epoch);
    DeltaPage page = new DeltaPage(batchSize, budget);
    for (Positioned d : deltas) {
      if (!page.add(d.pos(), d.delta())) {
        send(devices, page);
        page = new DeltaPage(batchSize, budget);
        page.add(d.pos(), d.delta());
      }
    }
    send(devices, page);
  }

  private void send(Set<DeviceTopics.DeviceId> devices, DeltaPage page) {
    byte[] frame = DeltaFrames.batch(null, page.deltas(), epoch, page.lastPos(), false, null);
    for (DeviceTopics.DeviceId d : devices) {
      replier.send(d, frame);
      pushed.addAndGet(page.size());
    }
  }

  @Override
  public synchronized void close() {
    if (thread == null) {
      return;
    }
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    thread = null;
  }
}
