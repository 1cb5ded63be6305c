package io.iris.launcher;

import io.iris.streams.IrisStreamsApp;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "streams",
    mixinStandardHelpOptions = true,
    description =
        "Run one streams-app instance against kafka.bootstrap.servers (or, when empty, the"
            + " broker of a running `iris up` on this machine) until Ctrl-C. Start several to"
            + " scale out; each needs its own --instance on one machine.")
final class StreamsCommand implements Callable<Integer> {
  @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

  @Option(
      names = "--instance",
      defaultValue = "1",
      description =
          "Name of this instance's state directory under data.dir/streams (default ${DEFAULT-VALUE}).")
  String instance;

  @Option(
      names = "--ops-port",
      defaultValue = "-1",
      description =
          "Port of this instance's /metrics, /health, /ready (default: ops.port + 1; 0: none)."
              + " Give each instance on one host its own.")
  int opsPort;

  @Override
  public Integer call() {
    PrintStream out = System.out;
    IrisStreamsApp app;
    OpsServer ops = null;
    try {
      IrisConfig config = options.load();
      LogSetup.useDirectory(config.dataDir().resolve("logs"));
      String bootstrap = config.kafkaBootstrapServers();
      IrisStack.checkKafka(config.kafkaClients(io.iris.topics.KafkaClientProperties.STREAMS));
      Path stateDir = config.dataDir().resolve("streams").resolve(instance);
      app = new IrisStreamsApp(config.streamsConfig(), bootstrap, stateDir);
      out.println(
          "iris: streams app instance "
              + instance
              + " joining "
              + bootstrap
              + "; state in "
              + stateDir);
      app.start(Duration.ofSeconds(120));
      // A client that went to ERROR does not come back: leave with a status a supervisor sees
      // (systemd, Kubernetes) instead of staying alive and doing nothing.
      app.failed()
          .thenAccept(
              state -> {
                System.err.println(
                    "iris: the streams app went to "
                        + state
                        + " and will not recover; exiting with status 1 (the log file says why)");
                System.exit(1);
              });
      int port = opsPort >= 0 ? opsPort : config.getInt(IrisConfig.OPS_PORT_CONFIG) + 1;
      if (port > 0) {
        var registry =
            new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(registry);
        app.bindMetrics(registry);
        IrisStreamsApp running = app;
        ops =
            new OpsServer(
                config.bindHost(),
                port,
                registry,
                () ->
                    java.util.Map.of(
                        "streams",
                        running.state() == org.apache.kafka.streams.KafkaStreams.State.RUNNING
                            ? "UP"
                            : "streams app " + running.state()),
                () -> {
                  String stalled = running.stalled(System.currentTimeMillis());
                  return java.util.Map.of(
                      "streams",
                      running.state() == org.apache.kafka.streams.KafkaStreams.State.ERROR
                              || running.state()
                                  == org.apache.kafka.streams.KafkaStreams.State.PENDING_ERROR
                          ? "dead: streams app " + running.state()
                          : "UP",
                      "streams-commits",
                      stalled == null ? "UP" : "dead: " + stalled);
                },
                () -> {});
        ops.start();
        out.println(
            "iris: metrics and health on http://" + config.bindHost() + ":" + port + "/metrics");
      }
    } catch (StartupException e) {
      System.err.println("iris: " + e.getMessage());
      return IrisCli.EXIT_CONFIG;
    } catch (RuntimeException e) {
      System.err.println("iris: the streams app did not start: " + e.getMessage());
      return 1;
    }
    out.println("iris: streams app running. Ctrl-C stops it.");
    IrisStreamsApp stopping = app;
    OpsServer opsToStop = ops;
    return IrisCli.runUntilStopped(
        out,
        () -> {
          stopping.close();
          if (opsToStop != null) {
            opsToStop.close();
          }
        });
  }
}
