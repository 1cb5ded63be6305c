package io.iris.topics;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Kafka client properties given in configuration, passed through to every Kafka client the project
 * creates, so that it can reach a cluster that needs TLS, SASL or anything else a client takes:
 * {@code kafka.client.<property>} applies to every client, {@code kafka.client.<role>.<property>}
 * to one role's clients only and wins over the former. The roles:
 *
 * <ul>
 *   <li>{@code bridge}: the bridge's producer into iris.commands, its consumers of iris.log,
 *       iris.devices, iris.device-pointers and iris.bridges, its admin client;
 *   <li>{@code streams}: every client of the streams app (Kafka Streams passes them on);
 *   <li>{@code connect}: the Connect worker that {@code iris up} starts, and the clients it makes
 *       for the sink (its {@code producer.}, {@code consumer.} and {@code admin.} settings);
 *   <li>{@code tools}: admin clients and consumers of the launcher itself (topic installation,
 *       metrics, {@code iris device}, {@code iris pointers}, {@code iris tail}, {@code iris
 *       resink}).
 * </ul>
 *
 * <p>From the environment: {@code IRIS_KAFKA_CLIENT_} + the rest of the key in upper case with dots
 * as underscores, e.g. {@code IRIS_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL} or {@code
 * IRIS_KAFKA_CLIENT_BRIDGE_SASL_JAAS_CONFIG=…} (Kafka's client property names have no underscores).
 * Values may be secrets ({@code sasl.jaas.config}, {@code ssl.*.password}): {@link #redacted} is
 * what may be shown.
 */
public final class KafkaClientProperties {
  private KafkaClientProperties() {}

  /** The prefix of every pass-through key. */
  public static final String PREFIX = "kafka.client.";

  public static final String BRIDGE = "bridge";
  public static final String STREAMS = "streams";
  public static final String CONNECT = "connect";
  public static final String TOOLS = "tools";

  /** Every role, in the order of the documentation. */
  public static final List<String> ROLES = List.of(BRIDGE, STREAMS, CONNECT, TOOLS);

  private static final String ENV_PREFIX = ConfigLayers.envName(PREFIX);

  /**
   * The client properties for {@code role}'s clients from a configuration's {@code originals}:
   * those of every client, then the role's own over them. {@code bootstrap.servers} is not taken
   * from here (each process has its own setting for it).
   *
   * @throws IllegalArgumentException for an unknown role
   */
  public static Map<String, Object> forRole(Map<String, ?> originals, String role) {
    if (!ROLES.contains(role)) {
      throw new IllegalArgumentException("unknown role " + role + "; one of " + ROLES);
    }
    Map<String, Object> common = new TreeMap<>();
    Map<String, Object> own = new TreeMap<>();
    for (Map.Entry<String, ?> e : originals.entrySet()) {
      if (!e.getKey().startsWith(PREFIX) || e.getValue() == null) {
        continue;
      }
      String rest = e.getKey().substring(PREFIX.length());
      String roleOf = roleOf(rest);
      if (roleOf == null) {
        common.put(rest, value(e.getValue()));
      } else if (roleOf.equals(role)) {
        own.put(rest.substring(role.length() + 1), value(e.getValue()));
      }
    }
    common.putAll(own);
    common.remove("bootstrap.servers");
    return common;
  }

  /** The pass-through keys set in {@code env}, as configuration keys with their values. */
  public static Map<String, String> fromEnv(Map<String, String> env) {
    Map<String, String> m = new TreeMap<>();
    for (Map.Entry<String, String> e : env.entrySet()) {
      if (e.getKey().startsWith(ENV_PREFIX) && e.getKey().length() > ENV_PREFIX.length()) {
        String rest = e.getKey().substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT);
        m.put(PREFIX + rest.replace('_', '.'), e.getValue().trim());
      }
    }
    return m;
  }

  /** {@code properties} fit to show: the value of anything that may be a secret replaced. */
  public static Map<String, Object> redacted(Map<String, ?> properties) {
    Map<String, Object> m = new TreeMap<>();
    properties.forEach((k, v) -> m.put(k, secret(k) ? "[hidden]" : v));
    return m;
  }

  /** Whether a client property may hold a secret (a password, a key, a JAAS configuration). */
  static boolean secret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password")
        || k.contains("jaas")
        || k.contains("secret")
        || k.endsWith(".key")
        || k.contains("token")
        || k.contains("credential");
  }

  private static String roleOf(String rest) {
    for (String r : ROLES) {
      if (rest.startsWith(r + ".")) {
        return r;
      }
    }
    return null;
  }

  private static Object value(Object v) {
    // Kafka's Password type (from a ConfigDef) is passed on as its value.
    return v instanceof org.apache.kafka.common.config.types.Password p ? p.value() : v;
  }
}
