package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.CompactedTopicView;
import io.iris.protocol.thrift.BridgeRoute;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which bridge owns which partition of iris.log, and where its devices connect: the compacted topic
 * iris.bridges, written by each bridge at every change of its assignment in the consumer group
 * iris-mqtt-bridge and read by every bridge. Any bridge can thus tell a device where its user is
 * served ({@link #ownerOf}), and answers the lookup of the ops endpoint.
 *
 * <p>For one partition, the claim of the highest group generation wins: a bridge that died keeps
 * its last claim in the topic until the group has given its partitions to others, whose claims are
 * of a later generation. A bridge leaving cleanly writes a tombstone.
 */
public final class BridgeRoutes implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BridgeRoutes.class);

  private final String bridgeId;
  private final List<String> serverUris;
  private final CompactedTopicView<String, BridgeRoute> view;
  private final Producer<String, BridgeRoute> producer;
  private final LongSupplier clock;
  private final Map<String, BridgeRoute> routes = new ConcurrentHashMap<>();

  public BridgeRoutes(KafkaClients kafka, String bridgeId, List<String> serverUris) {
    this(
        bridgeId,
        serverUris,
        onRecord ->
            new CompactedTopicView<>(
                kafka,
                Topics.BRIDGES.name(),
                Topics.BRIDGES.keySerde().deserializer(),
                Topics.BRIDGES.valueSerde().deserializer(),
                onRecord),
        producer(kafka),
        System::currentTimeMillis);
  }

  /**
   * Routes followed through the view {@code views} makes for a callback, and written with {@code
   * producer}, stamped with {@code clock}.
   */
  BridgeRoutes(
      String bridgeId,
      List<String> serverUris,
      Function<BiConsumer<String, BridgeRoute>, CompactedTopicView<String, BridgeRoute>> views,
      Producer<String, BridgeRoute> producer,
      LongSupplier clock) {
    this.bridgeId = bridgeId;
    this.serverUris = List.copyOf(serverUris);
    this.producer = producer;
    this.clock = clock;
    this.view = views.apply(this::apply);
  }

  private static Producer<String, BridgeRoute> producer(KafkaClients kafka) {
    return new KafkaProducer<>(
        kafka.durableProducer("iris-bridge-routes"),
        Topics.BRIDGES.keySerde().serializer(),
        Topics.BRIDGES.valueSerde().serializer());
  }

  /** Reads iris.bridges to its end, then follows it. */
  public void start(Duration timeout) {
    view.start(timeout);
  }

  private void apply(String bridge, BridgeRoute route) {
    if (route == null) {
      routes.remove(bridge);
    } else {
      routes.put(bridge, route);
    }
  }

  /** This bridge's id (its static member id in the group). */
  public String bridgeId() {
    return bridgeId;
  }

  /** Where devices reach this bridge. */
  public List<String> serverUris() {
    return serverUris;
  }

  /**
   * This bridge now owns {@code partitions} (its whole assignment) as of {@code generation}: told
   * to every bridge. Waits for the write (a few milliseconds), so that a device redirected here
   * finds the claim wherever it asks.
   */
  public void claim(Set<Integer> partitions, int generation) {
    BridgeRoute r =
        new BridgeRoute(
            bridgeId,
            serverUris,
            new ArrayList<>(new TreeSet<>(partitions)),
            generation,
            clock.getAsLong());
    routes.put(bridgeId, r);
    try {
      producer
          .send(new ProducerRecord<>(Topics.BRIDGES.name(), bridgeId, r))
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Devices are still served here; other bridges redirect to a stale owner until the next
      // claim.
      log.warn(
          "Could not write this bridge's partitions to {} ({}): other bridges may send devices of"
              + " them elsewhere until the next rebalance. Check the brokers.",
          Topics.BRIDGES.name(),
          e.toString());
    }
  }

  /** This bridge leaves: its claim is removed (a tombstone). */
  public void leave() {
    routes.remove(bridgeId);
    try {
      producer
          .send(new ProducerRecord<>(Topics.BRIDGES.name(), bridgeId, null))
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("Could not remove this bridge from {}: {}", Topics.BRIDGES.name(), e.toString());
    }
  }

  /**
   * The server URIs of the bridge that owns {@code partition} (the claim of the highest
   * generation), or an empty list when no bridge claims it.
   */
  public List<String> ownerOf(int partition) {
    BridgeRoute r = claimOf(partition);
    return r == null ? List.of() : List.copyOf(r.getServerUris());
  }

  /** The id of the bridge that owns {@code partition}, or null. */
  public String ownerIdOf(int partition) {
    BridgeRoute r = claimOf(partition);
    return r == null ? null : r.getBridgeId();
  }

  /** The claim of the bridge that owns {@code partition} (highest generation), or null. */
  public BridgeRoute claimOf(int partition) {
    BridgeRoute best = null;
    for (BridgeRoute r : routes.values()) {
      if (r.getPartitions().contains(partition)
          && (best == null || r.getGeneration() > best.getGeneration())) {
        best = r;
      }
    }
    return best;
  }

  /** Every bridge's latest claim, by bridge id. */
  public Map<String, BridgeRoute> all() {
    return Map.copyOf(routes);
  }

  /** Why the follower of iris.bridges died, or null while it runs. */
  public Throwable failure() {
    return view.failure();
  }

  @Override
  public void close() {
    view.close();
    producer.close(Duration.ofSeconds(5));
  }
}
