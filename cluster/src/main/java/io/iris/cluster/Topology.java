package io.iris.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The hosts of a cluster on one machine and their addresses. Each host is a network namespace
 * ({@code <prefix>-<host>}) with one interface ({@code eth0}) on the cluster network {@code
 * <net>.0.0/24}; bridges have a second one ({@code eth1}) on the device network {@code
 * <net>.1.0/24}, so that a bridge can be cut off from Kafka while its devices stay connected. Both
 * networks are Linux bridges inside a namespace of their own ({@code <prefix>-net}); the machine
 * itself is {@code <net>.0.1} and {@code <net>.1.1} on them (operator, devices, checks). Nothing is
 * routed beyond these networks.
 *
 * @param prefix names of the namespaces and links, 1-6 lower-case letters or digits
 * @param net the first two octets of both networks, e.g. {@code 10.213}
 * @param bridges how many MQTT bridges (1-9)
 */
public record Topology(String prefix, String net, int bridges) {
  private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9]{0,5}");
  private static final Pattern NET = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})");

  public static final int KAFKA_PORT = 9092;
  public static final int CONTROLLER_PORT = 9093;
  public static final int CONNECT_PORT = 8083;
  public static final int MYSQL_PORT = 3306;
  public static final int MQTT_PORT = 1883;
  public static final int BRIDGE_OPS_PORT = 9400;
  public static final int STREAMS_OPS_PORT = 9401;
  public static final String DATABASE = "iris";
  public static final String MYSQL_USER = "iris";

  /** What a host runs. */
  public enum Role {
    KAFKA("Kafka broker and KRaft controller"),
    MYSQL("MariaDB"),
    CONNECT("Kafka Connect worker (distributed, the MySQL sink)"),
    STREAMS("streams-app instance"),
    BRIDGE("MQTT bridge");

    private final String description;

    Role(String description) {
      this.description = description;
    }

    public String description() {
      return description;
    }
  }

  /**
   * One host.
   *
   * @param name e.g. {@code kafka-2}
   * @param index 1-based number among the hosts of its role (a broker's node id)
   * @param address on the cluster network
   * @param deviceAddress on the device network, or null (only bridges have one)
   * @param link the name of the host's link on the switch side (at most 15 characters)
   */
  public record Host(
      String name,
      Role role,
      int index,
      String namespace,
      String address,
      String deviceAddress,
      String link) {}

  public Topology {
    if (!PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "prefix '" + prefix + "': 1-6 lower-case letters or digits, starting with a letter");
    }
    var m = NET.matcher(net);
    if (!m.matches() || Integer.parseInt(m.group(1)) > 255 || Integer.parseInt(m.group(2)) > 255) {
      throw new IllegalArgumentException("net '" + net + "': two octets, e.g. 10.213");
    }
    if (bridges < 1 || bridges > 9) {
      throw new IllegalArgumentException("bridges: 1 to 9, not " + bridges);
    }
  }

  public static Topology defaults() {
    return new Topology("iris", "10.213", 2);
  }

  /** Every host, in the order they start. */
  public List<Host> hosts() {
    List<Host> hosts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      hosts.add(host("kafka-" + i, Role.KAFKA, i, 10 + i, "k" + i));
    }
    hosts.add(host("mysql", Role.MYSQL, 1, 51, "db"));
    for (int i = 1; i <= 2; i++) {
      hosts.add(host("connect-" + i, Role.CONNECT, i, 20 + i, "c" + i));
    }
    for (int i = 1; i <= bridges; i++) {
      hosts.add(host("bridge-" + i, Role.BRIDGE, i, 40 + i, "b" + i));
    }
    for (int i = 1; i <= 2; i++) {
      hosts.add(host("streams-" + i, Role.STREAMS, i, 30 + i, "s" + i));
    }
    return hosts;
  }

  private Host host(String name, Role role, int index, int octet, String shortName) {
    return new Host(
        name,
        role,
        index,
        prefix + "-" + name,
        net + ".0." + octet,
        role == Role.BRIDGE ? net + ".1." + octet : null,
        prefix + "-" + shortName);
  }

  public List<Host> of(Role role) {
    return hosts().stream().filter(h -> h.role() == role).toList();
  }

  public Host host(String name) {
    return hosts().stream()
        .filter(h -> h.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no host " + name));
  }

  /** The namespace holding both networks' switches. */
  public String switchNamespace() {
    return prefix + "-net";
  }

  /** The machine's link to the cluster network. */
  public String machineLink() {
    return prefix + "-back";
  }

  /** The machine's link to the device network. */
  public String machineDeviceLink() {
    return prefix + "-front";
  }

  /** The machine's address on the cluster network. */
  public String machineAddress() {
    return net + ".0.1";
  }

  /** The machine's address on the device network. */
  public String machineDeviceAddress() {
    return net + ".1.1";
  }

  public String bootstrapServers() {
    return of(Role.KAFKA).stream()
        .map(h -> h.address() + ":" + KAFKA_PORT)
        .collect(Collectors.joining(","));
  }

  /** KRaft's static voter set: every broker is also a controller. */
  public String quorumVoters() {
    return of(Role.KAFKA).stream()
        .map(h -> h.index() + "@" + h.address() + ":" + CONTROLLER_PORT)
        .collect(Collectors.joining(","));
  }

  public String jdbcUrl() {
    return "jdbc:mysql://" + host("mysql").address() + ":" + MYSQL_PORT + "/" + DATABASE;
  }

  /** Every Connect worker's REST URL, comma-separated. */
  public String connectUrls() {
    return of(Role.CONNECT).stream()
        .map(h -> "http://" + h.address() + ":" + CONNECT_PORT)
        .collect(Collectors.joining(","));
  }

  /** Where devices reach bridge {@code h}. */
  public static String mqttUri(Host h) {
    return "tcp://" + h.deviceAddress() + ":" + MQTT_PORT;
  }
}
