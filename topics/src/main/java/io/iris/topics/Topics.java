package io.iris.topics;

import io.iris.protocol.thrift.BridgeRoute;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.DeviceRecord;
import io.iris.topics.serde.ClientCommandSerde;
import io.iris.topics.serde.DeltaSerde;
import io.iris.topics.serde.DevicePointerSerde;
import io.iris.topics.serde.ThriftSerde;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The typed registry of every topic in the contract (DESIGN.md, "Topics"). Names, key and value
 * encodings live here and nowhere else.
 */
public final class Topics {
  private Topics() {}

  /** Commands from devices, keyed by thread id so every member sees one order per thread. */
  public static final Topic<Long, ClientCommand> COMMANDS =
      new Topic<>(
          "iris.commands",
          Serdes.Long(),
          new ClientCommandSerde(),
          Map.of(
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_DELETE,
              TopicConfig.RETENTION_MS_CONFIG,
              millis(Duration.ofDays(3))),
          "commands from devices, key thread id");

  /**
   * The Iris queue: one delta per user and change, key user id. A delta's offset in its user's
   * partition is its position; never change the partition count in place.
   */
  public static final Topic<Long, Delta> LOG =
      new Topic<>(
          "iris.log",
          Serdes.Long(),
          new DeltaSerde(),
          Map.of(
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_DELETE,
              TopicConfig.RETENTION_MS_CONFIG,
              millis(Duration.ofDays(7))),
          "per-user ordered deltas (the Iris queue), key user id; offset = position");

  /** The device pointers: last acknowledged position per (user, device). Compacted. */
  public static final Topic<String, DevicePointer> DEVICE_POINTERS =
      new Topic<>(
          "iris.device-pointers",
          Serdes.String(),
          new DevicePointerSerde(),
          Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT),
          "last acknowledged position per device, key \"<userId>:<deviceId>\"");

  /** Rejected input, byte for byte as received, with the reason in headers. */
  public static final Topic<byte[], byte[]> DLQ =
      new Topic<>(
          "iris.dlq",
          Serdes.ByteArray(),
          Serdes.ByteArray(),
          Map.of(
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_DELETE,
              TopicConfig.RETENTION_MS_CONFIG,
              millis(Duration.ofDays(30))),
          "rejected input as received, reason in headers");

  /**
   * Records of iris.log that the MySQL sink could not write (its Connect dead-letter topic), with
   * Connect's {@code __connect.errors.*} headers.
   */
  public static final Topic<byte[], byte[]> SINK_DLQ =
      new Topic<>(
          "iris.sink-dlq",
          Serdes.ByteArray(),
          Serdes.ByteArray(),
          Map.of(
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_DELETE,
              TopicConfig.RETENTION_MS_CONFIG,
              millis(Duration.ofDays(30))),
          "iris.log records the MySQL sink set aside, Connect's error headers");

  /** The devices allowed to connect, with their token hashes. Compacted: the latest per device. */
  public static final Topic<String, DeviceRecord> DEVICES =
      new Topic<>(
          "iris.devices",
          Serdes.String(),
          new ThriftSerde<>(DeviceRecord::new),
          Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT),
          "devices and their token hashes, key \"<userId>:<deviceId>\"");

  /**
   * Which bridge owns which partitions of iris.log, and where devices reach it. Compacted: the
   * latest per bridge; a tombstone when a bridge leaves.
   */
  public static final Topic<String, BridgeRoute> BRIDGES =
      new Topic<>(
          "iris.bridges",
          Serdes.String(),
          new ThriftSerde<>(BridgeRoute::new),
          Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT),
          "partitions of iris.log each bridge owns and its MQTT URIs, key bridge id");

  /** Every topic of the contract, in creation order. */
  public static final List<Topic<?, ?>> ALL =
      List.of(COMMANDS, LOG, DEVICE_POINTERS, DLQ, SINK_DLQ, DEVICES, BRIDGES);

  /** The key of a device's entry in {@link #DEVICE_POINTERS} and {@link #DEVICES}. */
  public static String devicePointerKey(long userId, String deviceId) {
    return userId + ":" + deviceId;
  }

  private static String millis(Duration d) {
    return Long.toString(d.toMillis());
  }
}
