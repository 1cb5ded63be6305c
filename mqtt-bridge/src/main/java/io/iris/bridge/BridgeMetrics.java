package io.iris.bridge;

import io.iris.bridge.down.CatchUp;
import io.iris.bridge.down.PushPath;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.bridge.edge.DeviceTopicPolicy;
import io.iris.bridge.edge.MqttEdge;
import io.iris.bridge.edge.Redirects;
import io.iris.bridge.up.SendPath;
import io.iris.bridge.up.TypingRelay;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.function.ToDoubleFunction;

/**
 * The bridge's meters: requests by outcome, delivered marks of acks, catch-up answers by kind and
 * tier, deltas pushed, devices connected and registered, refusals, typing, tier-1 users, Kafka's
 * own metrics of the bridge's producer and consumer. {@link #refresh} registers the outcome and
 * kind counters that appeared since the last call (call it before each scrape).
 */
public final class BridgeMetrics {
  private static final String DISCONNECTS_DOC =
      "Device connections ended: clean (DISCONNECT) or lost (reset, radio loss, keep-alive)";
  private static final String REFUSED_DOC = "Refused by the edge";

  private final IrisBridge bridge;
  private final MeterRegistry registry;

  private BridgeMetrics(IrisBridge bridge, MeterRegistry registry) {
    this.bridge = bridge;
    this.registry = registry;
  }

  /** Binds the meters of a started bridge to {@code registry}. */
  public static BridgeMetrics bind(IrisBridge bridge, MeterRegistry registry) {
    BridgeMetrics m = new BridgeMetrics(bridge, registry);
    m.bindFixed();
    m.refresh();
    return m;
  }

  private void bindFixed() {
    PushPath push = bridge.pushPath();
    SendPath send = bridge.sendPath();
    for (String o : SendPath.MARK_OUTCOMES) {
      counter(
          "iris_bridge_delivered_marks",
          "Delivered marks of device acks by outcome: written (a MarkDelivered command in"
              + " iris.commands), dropped-invalid, dropped-over-cap (above 64 in one ack),"
              + " unavailable (Kafka did not take it)",
          send,
          s -> s.deliveredMarks(o),
          "outcome",
          o);
    }
    new KafkaClientMetrics(bridge.sendPath().commandsProducer()).bindTo(registry);
    new KafkaClientMetrics(push.consumer()).bindTo(registry);
    counter(
        "iris_deltas_pushed",
        "Deltas pushed live to devices (one per device reached)",
        push,
        PushPath::pushed);
    counter(
        "iris_bridge_log_records_read",
        "Records of iris.log the push path read (all users of the partitions this bridge owns)",
        push,
        PushPath::recordsRead);
    counter(
        "iris_bridge_log_bytes_read",
        "Bytes (keys and values) of iris.log the push path read; with N bridges each reads about"
            + " 1/N",
        push,
        PushPath::bytesRead);
    counter(
        "iris_log_records_skipped",
        "Records of iris.log the push path could not read",
        push,
        PushPath::skipped);
    gauge(
        "iris_devices_connected",
        "Devices subscribed to their down topic on this bridge",
        push,
        PushPath::connectedDevices);
    counter(
        "iris_device_disconnects", DISCONNECTS_DOC, push, PushPath::disconnects, "how", "clean");
    counter(
        "iris_device_disconnects", DISCONNECTS_DOC, push, PushPath::connectionsLost, "how", "lost");
    gauge(
        "iris_devices_registered",
        "Devices allowed to connect (iris.devices)",
        bridge.devices(),
        DeviceRegistry::size);
    counter(
        "iris_mqtt_refused",
        REFUSED_DOC,
        bridge.mqtt(),
        MqttEdge::refusedConnects,
        "what",
        "connect");
    counter(
        "iris_mqtt_refused",
        REFUSED_DOC,
        bridge.topicPolicy(),
        DeviceTopicPolicy::refusedPublishes,
        "what",
        "publish");
    counter(
        "iris_mqtt_refused",
        REFUSED_DOC,
        bridge.topicPolicy(),
        DeviceTopicPolicy::refusedSubscribes,
        "what",
        "subscribe");
    counter(
        "iris_typing_relayed",
        "Typing events delivered to devices",
        bridge.typing(),
        TypingRelay::relayed);
    counter(
        "iris_typing_refused", "Typing from non-members", bridge.typing(), TypingRelay::refused);
    gauge(
        "iris_tier1_users",
        "Users with deltas in the bridge's memory (catch-up tier 1)",
        bridge.userLogs(),
        u -> u.usersInMemory());
    gauge(
        "iris_tier1_bytes",
        "Bytes of the delta frames the bridge holds in memory (catch-up tier 1), for its own"
            + " partitions' users",
        bridge.userLogs(),
        u -> u.bytesInMemory());
    gauge(
        "iris_tier1_users_known",
        "Users of the owned partitions whose last position the bridge holds (bounded by its share"
            + " of iris.log)",
        bridge.userLogs(),
        u -> u.usersKnown());
    gauge(
        "iris_bridge_partitions_owned",
        "Partitions of iris.log this bridge owns in the group iris-mqtt-bridge (reads, pushes,"
            + " keeps in memory)",
        push,
        p -> p.ownedPartitions().size());
    counter(
        "iris_bridge_partitions_moved",
        "Partitions of iris.log that moved away from this bridge (rebalances)",
        push,
        PushPath::partitionsMoved);
    counter(
        "iris_bridge_redirects",
        "Devices sent to the bridge owning their user's partition",
        bridge.redirects(),
        Redirects::redirected);
    gauge(
        "iris_bridge_vital_threads_dead",
        "Vital background threads of the bridge that died (push path, device registry, device"
            + " pointers); /health fails while this is above 0",
        bridge,
        b -> b.health().values().stream().filter(v -> !v.equals("UP")).count());
  }

  /** Registers counters for request outcomes and catch-up kinds that appeared since. */
  public void refresh() {
    SendPath send = bridge.sendPath();
    for (String o : send.outcomes()) {
      counter(
          "iris_bridge_requests",
          "Device requests by outcome (accepted, rejected-<reason>, unavailable, coalesced,"
              + " ack-*, sync, snapshot, typing)",
          send,
          s -> s.count(o),
          "outcome",
          o);
    }
    CatchUp catchUp = bridge.catchUp();
    for (String n : catchUp.names()) {
      counter(
          "iris_catchup",
          "Catch-up and snapshot answers by kind (sync-<tier>, deltas-<tier>, log-records-read,"
              + " resnapshot-required, other-epoch, beyond-head, invalid, storage-behind-log-start,"
              + " snapshots, unavailable, rate-limited)",
          catchUp,
          c -> c.count(n),
          "kind",
          n);
    }
  }

  private <T> void counter(
      String name, String description, T source, ToDoubleFunction<T> f, String... tags) {
    FunctionCounter.builder(name, source, f).description(description).tags(tags).register(registry);
  }

  private <T> void gauge(String name, String description, T source, ToDoubleFunction<T> f) {
    Gauge.builder(name, source, f).description(description).register(registry);
  }
}
