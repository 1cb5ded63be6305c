package io.iris.cluster;

import io.iris.cluster.Topology.Host;
import io.iris.cluster.Topology.Role;
import io.iris.launcher.ConnectClient;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;

/** What {@code iris cluster status} prints: every host, its address, role, process and state. */
public final class ClusterStatus {
  /** One host's line. */
  public record Line(Host host, long pid, boolean alive, String state) {}

  /** The cluster-wide facts under the table. */
  public record Summary(
      Set<Integer> brokersInCluster,
      Map<Integer, Integer> logLeaders,
      int logPartitions,
      int underReplicated,
      int underMinIsr,
      String minInsyncReplicas,
      String sinkWorker) {}

  private ClusterStatus() {}

  public static List<Line> lines(Cluster c, Summary s) {
    List<Line> out = new ArrayList<>();
    for (Host h : c.topology().hosts()) {
      boolean alive = c.alive(h);
      out.add(new Line(h, c.pid(h), alive, alive ? state(c, h, s) : "not running"));
    }
    return out;
  }

  private static String state(Cluster c, Host h, Summary s) {
    return switch (h.role()) {
      case KAFKA ->
          s.brokersInCluster().contains(h.index())
              ? "in the cluster, leads "
                  + s.logLeaders().getOrDefault(h.index(), 0)
                  + " of "
                  + s.logPartitions()
                  + " iris.log partitions"
              : "running, not in the cluster";
      case MYSQL -> reachable(h.address(), Topology.MYSQL_PORT) ? "serving" : "not reachable";
      case CONNECT -> {
        int code = Cluster.get("http://" + h.address() + ":" + Topology.CONNECT_PORT + "/");
        String task =
            s.sinkWorker() != null && s.sinkWorker().startsWith(h.address() + ":")
                ? ", runs the sink's task"
                : "";
        yield code == 200 ? "REST answers" + task : "REST: " + describe(code);
      }
      case STREAMS, BRIDGE -> {
        int code = Cluster.get(Cluster.opsUrl(h) + "/health");
        yield code == 200 ? "healthy" : "/health: " + describe(code);
      }
    };
  }

  private static String describe(int code) {
    return code < 0 ? "no answer" : "HTTP " + code;
  }

  static boolean reachable(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 2_000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Reads the cluster-wide facts; what cannot be read is left empty. */
  public static Summary summary(Cluster c) {
    Set<Integer> brokers = Set.of();
    Map<Integer, Integer> leaders = new TreeMap<>();
    int partitions = 0;
    int under = 0;
    int underMin = 0;
    String minIsr = "?";
    try (Admin admin = Admin.create(c.adminClient())) {
      brokers =
          admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).stream()
              .map(Node::id)
              .collect(Collectors.toSet());
      TopicDescription log =
          admin
              .describeTopics(List.of(Topics.LOG.name()))
              .allTopicNames()
              .get(10, TimeUnit.SECONDS)
              .get(Topics.LOG.name());
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, Topics.LOG.name());
      Config config = admin.describeConfigs(List.of(r)).all().get(10, TimeUnit.SECONDS).get(r);
      minIsr = config.get("min.insync.replicas").value();
      int min = Integer.parseInt(minIsr);
      for (TopicPartitionInfo p : log.partitions()) {
        partitions++;
        if (p.leader() != null) {
          leaders.merge(p.leader().id(), 1, Integer::sum);
        }
        if (p.isr().size() < p.replicas().size()) {
          under++;
        }
        if (p.isr().size() < min) {
          underMin++;
        }
      }
    } catch (Exception e) {
      // the brokers are down or the topics not made yet: the table says what it can
    }
    return new Summary(brokers, leaders, partitions, under, underMin, minIsr, sinkWorker(c));
  }

  /** The worker id (host:port) running the sink's task, or null. */
  static String sinkWorker(Cluster c) {
    ConnectClient.TaskStatus t = sinkTask(c);
    return t == null ? null : t.workerId();
  }

  /** The status of the sink's task, or null when Connect does not say. */
  static ConnectClient.TaskStatus sinkTask(Cluster c) {
    try {
      var status =
          new ConnectClient(
                  c.topology().connectUrls(), Duration.ofSeconds(5), Duration.ofMillis(250))
              .status(Names.SINK_CONNECTOR);
      return status.tasks().isEmpty() ? null : status.tasks().get(0);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The table and summary as printed. */
  public static String render(Cluster c) {
    Summary s = summary(c);
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            "%-10s %-18s %-13s %-13s %-50s %-8s %s%n",
            "host", "namespace", "address", "device addr", "role", "pid", "state"));
    for (Line l : lines(c, s)) {
      Host h = l.host();
      b.append(
          String.format(
              "%-10s %-18s %-13s %-13s %-50s %-8s %s%n",
              h.name(),
              h.namespace(),
              h.address(),
              h.deviceAddress() == null ? "-" : h.deviceAddress(),
              h.role().description(),
              l.pid() > 0 ? Long.toString(l.pid()) : "-",
              l.state()));
    }
    Topology t = c.topology();
    b.append(
        String.format(
            "%nKafka: %s (%s)%n",
            t.bootstrapServers(),
            c.security().secure()
                ? "SASL_SSL, SCRAM-SHA-512; principals " + ClusterSecurity.USERS
                : "PLAINTEXT"));
    b.append(
        String.format(
            "iris.log: %d partitions, replication 3, min.insync.replicas %s; %d under-replicated,"
                + " %d below min ISR%n",
            s.logPartitions(), s.minInsyncReplicas(), s.underReplicated(), s.underMinIsr()));
    b.append("MySQL: ").append(t.jdbcUrl()).append(" user ").append(Topology.MYSQL_USER);
    b.append("\nConnect: ").append(t.connectUrls());
    b.append(
        "\nDevices: "
            + t.of(Role.BRIDGE).stream().map(Topology::mqttUri).collect(Collectors.joining(", ")));
    b.append("\nFiles: ").append(c.dir()).append(" (each host's out.log; log/ or data/logs/)\n");
    return b.toString();
  }
}
