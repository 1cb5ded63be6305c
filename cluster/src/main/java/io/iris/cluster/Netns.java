package io.iris.cluster;

import io.iris.cluster.Topology.Host;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The hosts' network namespaces and links, made and removed with iproute2's {@code ip} (as root).
 * The host's link to the cluster network is {@code eth0} inside its namespace, a bridge's link to
 * the device network {@code eth1}.
 */
public final class Netns {
  static final String CLUSTER_IF = "eth0";
  static final String DEVICE_IF = "eth1";
  private static final String CLUSTER_SWITCH = "back";
  private static final String DEVICE_SWITCH = "front";

  private Netns() {}

  /** Why this machine cannot make namespaces, or null when it can. */
  public static String unavailable() {
    try {
      Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
      String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      p.waitFor(10, TimeUnit.SECONDS);
      if (!"0".equals(uid)) {
        return "network namespaces need root (ip netns add); run it as root";
      }
      Process ip = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
      String out = new String(ip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!ip.waitFor(10, TimeUnit.SECONDS) || ip.exitValue() != 0) {
        return "'ip netns list' failed: " + out.strip();
      }
      return null;
    } catch (IOException e) {
      return "iproute2's ip is needed (Debian: apt-get install iproute2): " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** Runs {@code ip args}; fails with what it printed. */
  static String ip(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("ip");
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + ": no answer in 30 s");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + ": " + out.strip());
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The namespaces of this machine whose names start with {@code prefix-}. */
  public static List<String> namespaces(String prefix) {
    List<String> out = new ArrayList<>();
    for (String line : ip("netns", "list").split("\\R")) {
      String name = line.strip().split("\\s+")[0];
      if (name.startsWith(prefix + "-")) {
        out.add(name);
      }
    }
    return out;
  }

  /** Makes both networks, every host's namespace and the machine's links to both networks. */
  public static void create(Topology t) {
    String sw = t.switchNamespace();
    ip("netns", "add", sw);
    for (String s : List.of(CLUSTER_SWITCH, DEVICE_SWITCH)) {
      ip("-n", sw, "link", "add", s, "type", "bridge");
      ip("-n", sw, "link", "set", s, "up");
    }
    for (Host h : t.hosts()) {
      ip("netns", "add", h.namespace());
      ip("-n", h.namespace(), "link", "set", "lo", "up");
      attach(t, h.namespace(), CLUSTER_IF, h.address(), h.link(), CLUSTER_SWITCH);
      if (h.deviceAddress() != null) {
        attach(t, h.namespace(), DEVICE_IF, h.deviceAddress(), h.link() + "f", DEVICE_SWITCH);
      }
    }
    machineLink(t, t.machineLink(), t.machineAddress(), CLUSTER_SWITCH);
    machineLink(t, t.machineDeviceLink(), t.machineDeviceAddress(), DEVICE_SWITCH);
  }

  private static void attach(
      Topology t, String ns, String ifName, String address, String link, String switchName) {
    String sw = t.switchNamespace();
    ip("link", "add", link, "netns", sw, "type", "veth", "peer", "name", ifName, "netns", ns);
    ip("-n", sw, "link", "set", link, "master", switchName);
    ip("-n", sw, "link", "set", link, "up");
    ip("-n", ns, "addr", "add", address + "/24", "dev", ifName);
    ip("-n", ns, "link", "set", ifName, "up");
  }

  private static void machineLink(Topology t, String link, String address, String switchName) {
    String sw = t.switchNamespace();
    ip("link", "add", link, "type", "veth", "peer", "name", link + "p", "netns", sw);
    ip("-n", sw, "link", "set", link + "p", "master", switchName);
    ip("-n", sw, "link", "set", link + "p", "up");
    ip("addr", "add", address + "/24", "dev", link);
    ip("link", "set", link, "up");
  }

  /**
   * Takes host {@code h}'s link to the cluster network down or up, inside its namespace: the host
   * is cut off from Kafka, MySQL and the other hosts (a bridge keeps its device network).
   */
  public static void clusterLink(Host h, boolean up) {
    ip("-n", h.namespace(), "link", "set", CLUSTER_IF, up ? "up" : "down");
    if (up) {
      // The address's route goes with the link; it comes back with it on current kernels, but
      // say so rather than assume it.
      String routes = ip("-n", h.namespace(), "route", "show", "dev", CLUSTER_IF);
      if (routes.isBlank()) {
        throw new IllegalStateException(h.name() + ": no route on " + CLUSTER_IF + " after up");
      }
    }
  }

  /** The ids of the processes running in namespace {@code ns}. */
  public static List<Long> pids(String ns) {
    List<Long> out = new ArrayList<>();
    try {
      for (String line : ip("netns", "pids", ns).split("\\R")) {
        if (!line.isBlank()) {
          out.add(Long.parseLong(line.strip()));
        }
      }
    } catch (IllegalStateException e) {
      // the namespace is gone
    }
    return out;
  }

  /**
   * Removes every namespace and machine link of {@code prefix} (the processes in them must be
   * stopped first); missing ones are skipped, so it also cleans up after a failed start.
   */
  public static void destroy(String prefix) {
    for (String link : List.of(prefix + "-back", prefix + "-front")) {
      try {
        ip("link", "del", link);
      } catch (IllegalStateException e) {
        // not there
      }
    }
    for (String ns : namespaces(prefix)) {
      ip("netns", "del", ns);
    }
  }
}
