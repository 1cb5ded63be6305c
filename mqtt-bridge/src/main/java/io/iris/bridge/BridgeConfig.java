package io.iris.bridge;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;

/**
 * The MQTT bridge's own settings: the edge (ports, TLS, frame limit), the push path, the catch-up
 * tiers and the per-device limits. Where the bridge connects (Kafka, MySQL) and the address it
 * binds to come from its host process ({@link IrisBridge.Wiring}). The launcher embeds {@link
 * #CONFIG} into its own configuration, so these keys read the same from a properties file or {@code
 * IRIS_*} environment variables.
 */
public final class BridgeConfig extends AbstractConfig {

  static final String EDGE_GROUP = "Edge";
  static final String PUSH_GROUP = "Push";
  static final String CATCH_UP_GROUP = "Catch-up";
  static final String LIMITS_GROUP = "Limits";
  static final String GROUP_GROUP = "Bridges";

  public static final String MQTT_BRIDGE_ID_CONFIG = "mqtt.bridge.id";
  private static final String MQTT_BRIDGE_ID_DOC =
      "This bridge's name in the group iris-mqtt-bridge (its static member id) and in"
          + " iris.bridges. Stable across restarts of the same bridge, unique among bridges. Empty:"
          + " bridge-<host>-<mqtt port>.";

  public static final String MQTT_BRIDGE_STATIC_MEMBERSHIP_CONFIG = "mqtt.bridge.static.membership";
  private static final String MQTT_BRIDGE_STATIC_MEMBERSHIP_DOC =
      "Join the group as a static member (group.instance.id = mqtt.bridge.id): a bridge killed and"
          + " restarted within mqtt.bridge.session.timeout.ms gets its partitions back without a"
          + " rebalance. A clean stop leaves the group at once either way.";

  public static final String MQTT_BRIDGE_SESSION_TIMEOUT_MS_CONFIG =
      "mqtt.bridge.session.timeout.ms";
  private static final String MQTT_BRIDGE_SESSION_TIMEOUT_MS_DOC =
      "How long the group waits for a bridge that stopped without leaving (killed, crashed, cut"
          + " off) before its partitions move to the others: how long its users' devices wait"
          + " after a hard failure.";

  public static final String MQTT_ADVERTISED_URIS_CONFIG = "mqtt.advertised.uris";
  private static final String MQTT_ADVERTISED_URIS_DOC =
      "Where devices reach this bridge, told to devices sent here by another bridge (iris.bridges),"
          + " comma-separated, e.g. tcp://bridge-3.example.com:1883,ssl://bridge-3.example.com:8883."
          + " Empty: the MQTT listeners at the bind host (the host name when it binds all"
          + " addresses).";

  public static final String MQTT_PORT_CONFIG = "mqtt.port";
  private static final String MQTT_PORT_DOC = "Port of the MQTT edge.";

  public static final String MQTT_MAX_MESSAGE_BYTES_CONFIG = "mqtt.max.message.bytes";
  private static final String MQTT_MAX_MESSAGE_BYTES_DOC =
      "Largest frame, both ways. A device's larger frame is answered FRAME_TOO_LARGE and kept in"
          + " iris.dlq, and the connection stays up (up to 960 KiB, or this limit plus 1 KiB if"
          + " larger: beyond, the network layer closes the connection). Frames to devices (catch-up"
          + " pages, pushed batches, snapshots) are cut to fit it.";

  public static final String MQTT_DELTA_BATCH_SIZE_CONFIG = "mqtt.delta.batch.size";
  private static final String MQTT_DELTA_BATCH_SIZE_DOC =
      "Most deltas pushed to a device in one frame (Messenger's delta_batch_size).";

  public static final String MQTT_TLS_PORT_CONFIG = "mqtt.tls.port";
  private static final String MQTT_TLS_PORT_DOC =
      "Port of the MQTT edge's TLS listener; 0 for none. Needs mqtt.tls.keystore.path.";

  public static final String MQTT_TLS_KEYSTORE_PATH_CONFIG = "mqtt.tls.keystore.path";
  private static final String MQTT_TLS_KEYSTORE_PATH_DOC =
      "PKCS12 or JKS key store holding the edge's private key and certificate chain.";

  public static final String MQTT_TLS_KEYSTORE_PASSWORD_CONFIG = "mqtt.tls.keystore.password";
  private static final String MQTT_TLS_KEYSTORE_PASSWORD_DOC =
      "Password of the key store and of the key in it (never logged).";

  public static final String MQTT_TIER1_DELTAS_PER_USER_CONFIG = "mqtt.tier1.deltas.per.user";
  private static final String MQTT_TIER1_DELTAS_PER_USER_DOC =
      "Catch-up tier 1: the newest deltas of each active user kept in the bridge's memory.";

  public static final String MQTT_TIER1_USERS_CONFIG = "mqtt.tier1.users";
  private static final String MQTT_TIER1_USERS_DOC =
      "Catch-up tier 1: users whose newest deltas are kept (least recently active dropped first).";

  public static final String MQTT_CATCHUP_THREADS_CONFIG = "mqtt.catchup.threads";
  private static final String MQTT_CATCHUP_THREADS_DOC =
      "Catch-up and snapshot requests served at once; 4 times as many may wait, more are refused"
          + " with RATE_LIMITED.";

  public static final String MQTT_CATCHUP_MAX_DELTAS_CONFIG = "mqtt.catchup.max.deltas";
  private static final String MQTT_CATCHUP_MAX_DELTAS_DOC =
      "Most deltas in one catch-up answer, whatever the device asks.";

  public static final String MQTT_RESNAPSHOT_AFTER_DELTAS_CONFIG = "mqtt.resnapshot.after.deltas";
  private static final String MQTT_RESNAPSHOT_AFTER_DELTAS_DOC =
      "A device further behind than this is answered 'resnapshot required' with the cost of both"
          + " choices (it may still insist on deltas).";

  public static final String MQTT_DEVICE_COMMANDS_PER_SECOND_CONFIG =
      "mqtt.device.commands.per.second";
  private static final String MQTT_DEVICE_COMMANDS_PER_SECOND_DOC =
      "Commands (sends, creates, typing …) one device may publish a second on average; beyond it"
          + " they are answered RATE_LIMITED and counted (rejected-rate-limited), and the SDK resends"
          + " later.";

  public static final String MQTT_DEVICE_COMMANDS_BURST_CONFIG = "mqtt.device.commands.burst";
  private static final String MQTT_DEVICE_COMMANDS_BURST_DOC =
      "Commands one device may publish at once before mqtt.device.commands.per.second applies"
          + " (an app resending what it queued offline).";

  private static final Range PORT = Range.between(1, 65535);

  public static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              MQTT_PORT_CONFIG,
              Type.INT,
              1883,
              PORT,
              Importance.MEDIUM,
              MQTT_PORT_DOC,
              EDGE_GROUP,
              1,
              Width.MEDIUM,
              "port")
          .define(
              MQTT_MAX_MESSAGE_BYTES_CONFIG,
              Type.INT,
              64 * 1024,
              Range.between(1024, 16 * 1024 * 1024),
              Importance.LOW,
              MQTT_MAX_MESSAGE_BYTES_DOC,
              EDGE_GROUP,
              2,
              Width.MEDIUM,
              "max message bytes")
          .define(
              MQTT_DELTA_BATCH_SIZE_CONFIG,
              Type.INT,
              50,
              Range.between(1, 10_000),
              Importance.LOW,
              MQTT_DELTA_BATCH_SIZE_DOC,
              PUSH_GROUP,
              1,
              Width.MEDIUM,
              "delta batch size")
          .define(
              MQTT_TLS_PORT_CONFIG,
              Type.INT,
              0,
              Range.between(0, 65535),
              Importance.MEDIUM,
              MQTT_TLS_PORT_DOC,
              EDGE_GROUP,
              3,
              Width.MEDIUM,
              "tls port")
          .define(
              MQTT_TLS_KEYSTORE_PATH_CONFIG,
              Type.STRING,
              "",
              null,
              Importance.MEDIUM,
              MQTT_TLS_KEYSTORE_PATH_DOC,
              EDGE_GROUP,
              4,
              Width.MEDIUM,
              "tls keystore path")
          .define(
              MQTT_TLS_KEYSTORE_PASSWORD_CONFIG,
              Type.PASSWORD,
              "",
              null,
              Importance.MEDIUM,
              MQTT_TLS_KEYSTORE_PASSWORD_DOC,
              EDGE_GROUP,
              5,
              Width.MEDIUM,
              "tls keystore password")
          .define(
              MQTT_TIER1_DELTAS_PER_USER_CONFIG,
              Type.INT,
              64,
              Range.between(0, 100_000),
              Importance.LOW,
              MQTT_TIER1_DELTAS_PER_USER_DOC,
              CATCH_UP_GROUP,
              1,
              Width.MEDIUM,
              "tier1 deltas per user")
          .define(
              MQTT_TIER1_USERS_CONFIG,
              Type.INT,
              50_000,
              Range.atLeast(1),
              Importance.LOW,
              MQTT_TIER1_USERS_DOC,
              CATCH_UP_GROUP,
              2,
              Width.MEDIUM,
              "tier1 users")
          .define(
              MQTT_CATCHUP_THREADS_CONFIG,
              Type.INT,
              4,
              Range.between(1, 256),
              Importance.LOW,
              MQTT_CATCHUP_THREADS_DOC,
              CATCH_UP_GROUP,
              5,
              Width.MEDIUM,
              "catchup threads")
          .define(
              MQTT_CATCHUP_MAX_DELTAS_CONFIG,
              Type.INT,
              500,
              Range.between(1, 100_000),
              Importance.LOW,
              MQTT_CATCHUP_MAX_DELTAS_DOC,
              CATCH_UP_GROUP,
              6,
              Width.MEDIUM,
              "catchup max deltas")
          .define(
              MQTT_RESNAPSHOT_AFTER_DELTAS_CONFIG,
              Type.LONG,
              5_000L,
              Range.atLeast(1),
              Importance.MEDIUM,
              MQTT_RESNAPSHOT_AFTER_DELTAS_DOC,
              CATCH_UP_GROUP,
              7,
              Width.MEDIUM,
              "resnapshot after deltas")
          .define(
              MQTT_DEVICE_COMMANDS_PER_SECOND_CONFIG,
              Type.DOUBLE,
              50.0,
              Range.atLeast(0.001),
              Importance.MEDIUM,
              MQTT_DEVICE_COMMANDS_PER_SECOND_DOC,
              LIMITS_GROUP,
              1,
              Width.MEDIUM,
              "device commands per second")
          .define(
              MQTT_DEVICE_COMMANDS_BURST_CONFIG,
              Type.INT,
              300,
              Range.atLeast(1),
              Importance.LOW,
              MQTT_DEVICE_COMMANDS_BURST_DOC,
              LIMITS_GROUP,
              2,
              Width.MEDIUM,
              "device commands burst")
          .define(
              MQTT_BRIDGE_ID_CONFIG,
              Type.STRING,
              "",
              Importance.MEDIUM,
              MQTT_BRIDGE_ID_DOC,
              GROUP_GROUP,
              1,
              Width.MEDIUM,
              "bridge id")
          .define(
              MQTT_ADVERTISED_URIS_CONFIG,
              Type.LIST,
              "",
              Importance.MEDIUM,
              MQTT_ADVERTISED_URIS_DOC,
              GROUP_GROUP,
              2,
              Width.LONG,
              "advertised uris")
          .define(
              MQTT_BRIDGE_STATIC_MEMBERSHIP_CONFIG,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              MQTT_BRIDGE_STATIC_MEMBERSHIP_DOC,
              GROUP_GROUP,
              3,
              Width.SHORT,
              "static membership")
          .define(
              MQTT_BRIDGE_SESSION_TIMEOUT_MS_CONFIG,
              Type.INT,
              10_000,
              Range.between(1_000, 300_000),
              Importance.MEDIUM,
              MQTT_BRIDGE_SESSION_TIMEOUT_MS_DOC,
              GROUP_GROUP,
              4,
              Width.MEDIUM,
              "session timeout ms");

  public BridgeConfig(Map<String, ?> originals) {
    super(CONFIG, originals, false);
  }
}
