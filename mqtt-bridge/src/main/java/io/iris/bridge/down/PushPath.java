package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.DeviceSender;
import io.iris.bridge.edge.Redirects;
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
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
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
 * The push path, live part: this bridge's member of the consumer group {@code iris-mqtt-bridge}
 * reads the partitions of iris.log the group assigns it (and only those), and pushes each delta at
 * once to every device of its user that is subscribed to its down topic here, several deltas of a
 * user in one {@link DeltaBatch} (up to {@code batchSize}, as Messenger's delta_batch_size, and up
 * to {@code maxFrameBytes}). A delta goes out as the bytes the streams app wrote, its position
 * added ({@link DeltaFrames}): a delta kind newer than this bridge reaches the device whole.
 *
 * <p>Each delta goes out with its position (its offset) and its prevPos, computed from this
 * reader's own reading ({@link UserLogs#append}): the previous delta of the user it read, or the
 * position before the one it started reading at. A device whose position is below prevPos asks for
 * the gap. Offsets are committed after the push: at least once toward devices, which drop a
 * position they already hold. Records that are not Delta frames are skipped and counted.
 *
 * <p>Ownership: the group rebalances cooperatively (a partition moves without stopping the others)
 * and, with a group instance id, statically (a bridge restarted within the session timeout gets its
 * partitions back without a rebalance). A device whose user's partition this bridge does not own is
 * redirected ({@link Redirects}), and so are the devices of a partition that moves away; memory
 * (tier 1) holds only the owned partitions' users. Every change of the assignment is told to the
 * other bridges ({@link Ownership}).
 */
public final class PushPath extends AbstractInterceptHandler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PushPath.class);
  public static final String GROUP = io.iris.topics.Names.BRIDGE_GROUP;

  private final Supplier<? extends Consumer<Long, byte[]>> consumers;
  private final int batchSize;
  private final int maxFrameBytes;
  private final DeviceSender replier;
  private final UserLogs logs;
  private final LogLayout layout;
  private final String epoch;
  private final Ownership ownership;
  private final Redirects redirects;
  private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.CountDownLatch firstAssignment =
      new java.util.concurrent.CountDownLatch(1);
  private final AtomicLong partitionsMoved = new AtomicLong();
  private final FrameCodec codec = FrameCodec.defaults();
  private final Map<Long, Set<DeviceTopics.DeviceId>> subscribed = new ConcurrentHashMap<>();

  /** Sessions up per MQTT client id, as the connect and disconnect events tell. */
  private final Map<String, Integer> sessions = new ConcurrentHashMap<>();

  private final AtomicLong pushed = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong recordsRead = new AtomicLong();
  private final AtomicLong bytesRead = new AtomicLong();
  private final AtomicLong disconnects = new AtomicLong();
  private final AtomicLong connectionsLost = new AtomicLong();
  private Consumer<Long, byte[]> consumer;
  private Thread thread;
  private volatile boolean running;
  private volatile Throwable failure;

  /** Told of every change of this bridge's share of iris.log (on the push path's thread). */
  public interface Ownership {
    /** This bridge now owns exactly {@code partitions}, in group generation {@code generation}. */
    void owned(Set<Integer> partitions, int generation);
  }

  /**
   * How this bridge is a member of the group.
   *
   * @param instanceId the static member id (group.instance.id), or null for a dynamic member
   * @param sessionTimeoutMs how long the group waits for a member that stopped without leaving
   */
  public record Membership(String instanceId, int sessionTimeoutMs) {}

  public PushPath(
      KafkaClients kafka,
      Membership membership,
      int batchSize,
      int maxFrameBytes,
      DeviceSender replier,
      UserLogs logs,
      LogLayout layout,
      Ownership ownership,
      Redirects redirects) {
    this(
        () -> newConsumer(kafka, membership),
        batchSize,
        maxFrameBytes,
        replier,
        logs,
        layout,
        ownership,
        redirects);
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
      LogLayout layout,
      Ownership ownership,
      Redirects redirects) {
    this.consumers = consumers;
    this.batchSize = batchSize;
    this.maxFrameBytes = maxFrameBytes;
    this.replier = replier;
    this.logs = logs;
    this.layout = layout;
    this.epoch = layout.epoch();
    this.ownership = ownership;
    this.redirects = redirects;
  }

  /** Whether this bridge owns the partition of {@code userId}, and so serves its devices. */
  public boolean serves(long userId) {
    return owned.contains(layout.partitionOf(userId));
  }

  /** The partitions of iris.log this bridge owns. */
  public Set<Integer> ownedPartitions() {
    return Set.copyOf(owned);
  }

  /** Partitions that moved away from this bridge since start. */
  public long partitionsMoved() {
    return partitionsMoved.get();
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
      if (!serves(id.userId())) {
        redirects.redirect(
            id,
            null,
            "partition " + layout.partitionOf(id.userId()) + " is served by another bridge");
        return;
      }
      subscribed.computeIfAbsent(id.userId(), k -> ConcurrentHashMap.newKeySet()).add(id);
      if (!serves(id.userId())) {
        // Moved away between the check and the registration: the revocation may have missed it.
        forget(id.clientId());
        redirects.redirect(id, null, "partition moved to another bridge");
      }
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
   * the same client id is up: a device that reconnects at once (after a redirect, a network change)
   * takes over its old session, and Moquette reports the old one's end after the new one has
   * connected, sometimes after it has subscribed. Forgetting then left the device connected and
   * never pushed to (seen with BridgeKillIT). Moquette calls these handlers on one thread, in
   * order.
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

  /** Records of iris.log read since start (every user's of the partitions it owned). */
  public long recordsRead() {
    return recordsRead.get();
  }

  /** Bytes (keys and values) of the records of iris.log read since start. */
  public long bytesRead() {
    return bytesRead.get();
  }

  /** Records of iris.log that were not Delta frames. */
  public long skipped() {
    return skipped.get();
  }

  /**
   * Joins the group {@code iris-mqtt-bridge} on iris.log and starts pushing from the partitions it
   * assigns this bridge, from the group's committed offsets (where the previous owner got to), or
   * from the end the first time. Waits up to {@code timeout} for the first assignment, so that the
   * edge, started next, knows which devices it serves.
   */
  public synchronized void start(Duration timeout) {
    consumer = consumers.get();
    consumer.subscribe(List.of(Topics.LOG.name()), new Rebalance());
    running = true;
    thread = new Thread(this::run, "iris-push-path");
    thread.setDaemon(true);
    thread.start();
    try {
      if (!firstAssignment.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        log.warn(
            "No assignment from the group {} within {}: devices are redirected until it comes."
                + " Check that the brokers are reachable and the group is not stuck rebalancing"
                + " (kafka-consumer-groups --describe --group {} --members).",
            GROUP,
            timeout,
            GROUP);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** What the group's rebalances do to this bridge (called in poll, on the push path's thread). */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      for (TopicPartition tp : partitions) {
        // Memory covers the partition from where this bridge starts reading it.
        logs.startReading(tp.partition(), consumer.position(tp, Duration.ofSeconds(30)));
        owned.add(tp.partition());
      }
      ownership.owned(Set.copyOf(owned), consumer.groupMetadata().generationId());
      if (!partitions.isEmpty() || firstAssignment.getCount() > 0) {
        log.info(
            "Partitions of {} owned now: {}", Topics.LOG.name(), new java.util.TreeSet<>(owned));
      }
      firstAssignment.countDown();
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      // What was pushed: the next owner starts there. The positions the push path read through,
      // committed explicitly (every record polled was pushed before this poll).
      Map<TopicPartition, OffsetAndMetadata> pushedTo = new java.util.HashMap<>();
      for (TopicPartition tp : partitions) {
        long read = logs.readThrough(tp.partition());
        if (read >= 0) {
          pushedTo.put(tp, new OffsetAndMetadata(read));
        }
      }
      try {
        consumer.commitSync(pushedTo, Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        log.warn("Could not commit before a rebalance: {}", e.toString());
      }
      movedAway(partitions, "moved to another bridge");
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      movedAway(partitions, "lost (this bridge fell out of the group)");
    }
  }

  /** The partitions left this bridge: their devices go to the new owner, memory forgets them. */
  private void movedAway(Collection<TopicPartition> partitions, String why) {
    Set<Integer> moved = new java.util.HashSet<>();
    for (TopicPartition tp : partitions) {
      owned.remove(tp.partition());
      logs.stopReading(tp.partition());
      moved.add(tp.partition());
    }
    partitionsMoved.addAndGet(moved.size());
    // Told at once: until the next claim, this bridge would still be named as their owner (and
    // send their devices back to itself).
    ownership.owned(Set.copyOf(owned), consumer.groupMetadata().generationId());
    int devices = 0;
    for (Map.Entry<Long, Set<DeviceTopics.DeviceId>> e : subscribed.entrySet()) {
      if (moved.contains(layout.partitionOf(e.getKey()))) {
        for (DeviceTopics.DeviceId d : Set.copyOf(e.getValue())) {
          forget(d.clientId());
          redirects.redirect(d, null, "partition " + layout.partitionOf(d.userId()) + " " + why);
          devices++;
        }
      }
    }
    log.info(
        "Partitions of {} {}: {}; {} devices redirected",
        Topics.LOG.name(),
        why,
        new java.util.TreeSet<>(moved),
        devices);
  }

  private static KafkaConsumer<Long, byte[]> newConsumer(KafkaClients kafka, Membership m) {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    p.put(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName());
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, m.sessionTimeoutMs());
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Math.max(500, m.sessionTimeoutMs() / 5));
    if (m.instanceId() != null) {
      p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, m.instanceId());
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-push-" + m.instanceId());
    }
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
        recordsRead.addAndGet(records.count());
        for (ConsumerRecord<Long, byte[]> r : records) {
          // As stored: an 8-byte key (the user id) and the frame.
          bytesRead.addAndGet(
              (r.key() == null ? 0 : Long.BYTES) + (r.value() == null ? 0 : r.value().length));
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
      // A clean stop leaves the group: the partitions move to the other bridges at once (a static
      // member would otherwise hold them until its session times out). A crash does not leave.
      consumer.close(
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
              .withTimeout(Duration.ofSeconds(5)));
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
