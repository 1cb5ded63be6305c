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
 * The device pointers (DESIGN.md, "Positions and the two pointers"): each device's last
 * acknowledged position with its epoch, kept in the compacted topic {@code iris.device-pointers}
 * and followed into memory. A pointer only moves forward within an epoch: an acknowledgement at or
 * below it is dropped (a late or repeated ack); one of another epoch than the log's is refused (the
 * device must take a new snapshot). A device acknowledging past what it holds only misleads its own
 * pointer.
 */
public final class DevicePointers implements AutoCloseable {
  /** What became of an acknowledgement. */
  public enum Outcome {
    MOVED,
    STALE,
    OTHER_EPOCH
  }

  private final Map<String, DevicePointer> acked = new ConcurrentHashMap<>();
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
                acked.merge(k, v, DevicePointers::later);
              }
            });
    this.producer = producer;
  }

  private static KafkaProducer<String, DevicePointer> newProducer(KafkaClients kafka) {
    Properties p = kafka.durableProducer("iris-bridge-pointers");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return new KafkaProducer<>(
        p,
        Topics.DEVICE_POINTERS.keySerde().serializer(),
        Topics.DEVICE_POINTERS.valueSerde().serializer());
  }

  public void start(Duration timeout) {
    view.start(timeout);
  }

  /** The pointer kept of two: the one of the current epoch ({@code b}, the newer) or the higher. */
  private static DevicePointer later(DevicePointer a, DevicePointer b) {
    if (!a.getEpoch().equals(b.getEpoch())) {
      return b;
    }
    return b.getAckedPos() >= a.getAckedPos() ? b : a;
  }

  /** The device's pointer (its last acknowledged position and that position's epoch), or null. */
  public DevicePointer get(long userId, String deviceId) {
    return acked.get(Topics.devicePointerKey(userId, deviceId));
  }

  /** Every pointer of a user, device id to pointer. */
  public Map<String, DevicePointer> ofUser(long userId) {
    String prefix = userId + ":";
    Map<String, DevicePointer> out = new java.util.TreeMap<>();
    acked.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return out;
  }

  /**
   * Moves the device's pointer to {@code pos} if that is forward. A position of another epoch than
   * {@code currentEpoch} is refused (the device must resnapshot); a pointer of an older epoch is
   * replaced.
   */
  public Outcome ack(DeviceTopics.DeviceId device, long pos, String epoch, String currentEpoch) {
    if (!currentEpoch.equals(epoch)) {
      return Outcome.OTHER_EPOCH;
    }
    String key = Topics.devicePointerKey(device.userId(), device.deviceId());
    DevicePointer next =
        new DevicePointer(
            device.userId(), device.deviceId(), System.currentTimeMillis(), pos, epoch);
    boolean[] moved = new boolean[1];
    acked.compute(
        key,
        (k, v) -> {
          moved[0] = v == null || !v.getEpoch().equals(epoch) || pos > v.getAckedPos();
          return moved[0] ? next : v;
        });
    if (!moved[0]) {
      return Outcome.STALE;
    }
    producer.send(new ProducerRecord<>(Topics.DEVICE_POINTERS.name(), key, next));
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
