package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.CompactedTopicView;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The device pointers (DESIGN.md, "The two pointers"): each device's last acknowledged seq, kept in
 * the compacted topic {@code iris.device-pointers} and followed into memory. A pointer only moves
 * forward: an acknowledgement at or below it is dropped (a late or repeated ack), one above the
 * user's head is refused (a device cannot acknowledge what was never sent).
 */
public final class DevicePointers implements AutoCloseable {
  /** What became of an acknowledgement. */
  public enum Outcome {
    MOVED,
    STALE,
    AHEAD_OF_HEAD
  }

  private final Map<String, Long> acked = new ConcurrentHashMap<>();
  private final CompactedTopicView<String, DevicePointer> view;
  private final Producer<String, DevicePointer> producer;

  public DevicePointers(KafkaClients kafka) {
    this(
        onRecord ->
            new CompactedTopicView<>(
                kafka,
                Topics.DEVICE_POINTERS.name(),
                Topics.DEVICE_POINTERS.keySerde().deserializer(),
                Topics.DEVICE_POINTERS.valueSerde().deserializer(),
                onRecord),
        newProducer(kafka));
  }

  /**
   * Pointers followed through the view {@code views} makes for a callback, and written with {@code
   * producer}.
   */
  DevicePointers(
      Function<BiConsumer<String, DevicePointer>, CompactedTopicView<String, DevicePointer>> views,
      Producer<String, DevicePointer> producer) {
    this.view =
        views.apply(
            (k, v) -> {
              if (v == null) {
                acked.remove(k);
              } else {
                acked.merge(k, v.getAckedSeq(), Math::max);
              }
            });
    this.producer = producer;
  }

  private static KafkaProducer<String, DevicePointer> newProducer(KafkaClients kafka) {
    Properties p = kafka.properties();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "iris-bridge-pointers");
    return new KafkaProducer<>(
        p,
        Topics.DEVICE_POINTERS.keySerde().serializer(),
        Topics.DEVICE_POINTERS.valueSerde().serializer());
  }

  public void start(Duration timeout) {
    view.start(timeout);
  }

  /** The device's last acknowledged seq, or 0 when it never acknowledged. */
  public long get(long userId, String deviceId) {
    return acked.getOrDefault(Topics.devicePointerKey(userId, deviceId), 0L);
  }

  /** Every pointer of a user, device id to seq. */
  public Map<String, Long> ofUser(long userId) {
    String prefix = userId + ":";
    Map<String, Long> out = new java.util.TreeMap<>();
    acked.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return out;
  }

  /**
   * Moves the device's pointer to {@code seq} if that is forward and not beyond {@code headSeq} (a
   * head of -1 means not known here: not checked).
   */
  public Outcome ack(DeviceTopics.DeviceId device, long seq, long headSeq) {
    if (headSeq >= 0 && seq > headSeq) {
      return Outcome.AHEAD_OF_HEAD;
    }
    String key = Topics.devicePointerKey(device.userId(), device.deviceId());
    long[] before = new long[1];
    acked.compute(
        key,
        (k, v) -> {
          before[0] = v == null ? 0 : v;
          return v == null ? seq : Math.max(v, seq);
        });
    if (seq <= before[0]) {
      return Outcome.STALE;
    }
    producer.send(
        new ProducerRecord<>(
            Topics.DEVICE_POINTERS.name(),
            key,
            new DevicePointer(
                device.userId(), device.deviceId(), seq, System.currentTimeMillis())));
    return Outcome.MOVED;
  }

  /**
   * Why this bridge stopped following the topic, or null while it follows it: when not null,
   * pointers moved by other bridges are not seen.
   */
  public Throwable failure() {
    return view.failure();
  }

  @Override
  public void close() {
    view.close();
    producer.close(Duration.ofSeconds(10));
  }
}
