package io.iris.cluster;

import io.iris.launcher.CliPlugin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iris cluster up|status|down|faults}: added to the {@code iris} command when the cluster
 * jar is on its class path (the {@code ./iris} script puts it there).
 */
public final class ClusterCommand implements CliPlugin {
  @Override
  public Map<String, Object> subcommands() {
    return Map.of("cluster", new Root());
  }

  @Command(
      name = "cluster",
      mixinStandardHelpOptions = true,
      description =
          "A multi-host Iris cluster on this machine: every broker, Connect worker, streams"
              + " instance, bridge and the database on a host of its own (a Linux network"
              + " namespace). Needs root. docker/README.md maps each host to a container or VM.",
      subcommands = {Up.class, Status.class, Down.class, Faults.class})
  static final class Root {}

  static class Where {
    @Option(
        names = "--dir",
        defaultValue = "iris-cluster",
        description = "Directory of the cluster's files and state (default ${DEFAULT-VALUE}).")
    Path dir;
  }

  @Command(
      name = "up",
      mixinStandardHelpOptions = true,
      description = "Make the hosts and start every process.")
  static final class Up extends Where implements Callable<Integer> {
    @Option(
        names = "--prefix",
        defaultValue = "iris",
        description = "Namespace name prefix (default ${DEFAULT-VALUE}).")
    String prefix;

    @Option(
        names = "--net",
        defaultValue = "10.213",
        description =
            "First two octets of the cluster network (<net>.0.0/24) and the device network"
                + " (<net>.1.0/24); nothing is routed beyond them (default ${DEFAULT-VALUE}).")
    String net;

    @Option(
        names = "--bridges",
        defaultValue = "2",
        description = "MQTT bridges (default ${DEFAULT-VALUE}).")
    int bridges;

    @Option(
        names = "--secure",
        description =
            "TLS and SASL/SCRAM on the brokers, every role its own principal held to its ACLs.")
    boolean secure;

    @Override
    public Integer call() throws Exception {
      Cluster c =
          Cluster.up(
              dir,
              new Topology(prefix, net, bridges),
              secure,
              line -> System.out.println("cluster: " + line));
      System.out.println();
      System.out.print(ClusterStatus.render(c));
      System.out.println(
          "\niris cluster status shows this again; iris cluster down removes it all.");
      return 0;
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Every host, address, role, process and state.")
  static final class Status extends Where implements Callable<Integer> {
    @Override
    public Integer call() {
      Cluster c = Cluster.open(dir);
      System.out.print(ClusterStatus.render(c));
      return 0;
    }
  }

  @Command(
      name = "down",
      mixinStandardHelpOptions = true,
      description = "Stop every process, remove every namespace and link and the directory.")
  static final class Down extends Where implements Callable<Integer> {
    @Option(names = "--keep-data", description = "Keep the directory (logs, data) for a look.")
    boolean keepData;

    @Option(
        names = "--prefix",
        description = "Remove the namespaces of this prefix even without a state file.")
    String prefix;

    @Override
    public Integer call() throws Exception {
      if (Files.exists(dir.resolve(Cluster.STATE_FILE))) {
        Cluster.open(dir).down(keepData, line -> System.out.println("cluster: " + line));
      } else if (prefix != null) {
        Cluster.downByPrefix(prefix, line -> System.out.println("cluster: " + line));
      } else {
        System.out.println("cluster: no cluster in " + dir.toAbsolutePath() + "; nothing to do");
      }
      return 0;
    }
  }

  @Command(
      name = "faults",
      mixinStandardHelpOptions = true,
      description =
          "Break the running cluster under load, one fault at a time (brokers, bridge, streams,"
              + " connect), checking after each that every device, iris.log and MySQL agree; writes"
              + " <dir>/fault-report.md. About 6 minutes.")
  static final class Faults extends Where implements Callable<Integer> {
    @Option(
        names = "--only",
        split = ",",
        description = "Run only these faults (brokers, bridge, streams, connect).")
    java.util.List<String> only = ClusterFaults.ALL;

    @Option(
        names = "--pairs",
        defaultValue = "8",
        description = "Device pairs (default ${DEFAULT-VALUE}).")
    int pairs;

    @Option(
        names = "--tick-ms",
        defaultValue = "500",
        description = "Each device sends a message this often (default ${DEFAULT-VALUE}).")
    long tickMs;

    @Override
    public Integer call() throws Exception {
      Cluster c = Cluster.open(dir);
      ClusterFaults faults =
          new ClusterFaults(c, System.out, pairs, java.time.Duration.ofMillis(tickMs));
      var rows = faults.run(only);
      System.out.println("\n" + Files.readString(faults.report()));
      return rows.stream().allMatch(r -> r.lost().startsWith("0 of")) ? 0 : 1;
    }
  }
}
