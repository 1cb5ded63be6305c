package io.iris.launcher;

import io.iris.streams.IrisStreamsApp;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code iris} command: run the stack, and the tools operators and data engineers use. */
@Command(
    name = "iris",
    mixinStandardHelpOptions = true,
    version = "iris 0.1.0",
    description = "Iris on Kafka: push-based chat sync.",
    subcommands = {
      IrisCli.Up.class,
      IrisCli.Streams.class,
      IrisCli.ConfigDoc.class,
      IrisCli.Device.class,
      IrisCli.KafkaTool.class,
      IrisCli.Pointers.class,
      IrisCli.Bridge.class,
      IrisCli.ResinkCommand.class,
      IrisCli.Tail.class
    })
public final class IrisCli {

  /** Exit code for a configuration or start-up problem the user can fix. */
  public static final int EXIT_CONFIG = 2;

  public static void main(String[] args) {
    // Logging must know where to write before the first logger is created.
    LogSetup.configure(args);
    CommandLine cli = new CommandLine(new IrisCli());
    // iris bench and iris loadgen, when the benchmarks jar is on the class path (./iris does that).
    for (CliPlugin plugin : java.util.ServiceLoader.load(CliPlugin.class)) {
      plugin.subcommands().forEach(cli::addSubcommand);
    }
    // Everything after the tool name belongs to the Kafka tool, options included.
    cli.getSubcommands().get("kafka").setStopAtPositional(true);
    // A configuration problem in any command: one line on stderr, exit 2.
    cli.setExecutionExceptionHandler(
        (e, command, parsed) -> {
          if (e instanceof StartupException) {
            System.err.println("iris: " + e.getMessage());
            return EXIT_CONFIG;
          }
          throw e;
        });
    int rc = cli.execute(args);
    if (rc != 0 || !isLongRunning(args)) {
      LogSetup.shutdown();
      System.exit(rc);
    }
  }

  private static boolean isLongRunning(String[] args) {
    return args.length > 0
        && (args[0].equals("up") || args[0].equals("streams") || args[0].equals("bridge"));
  }

  /** Options shared by commands that read the configuration. */
  public static final class ConfigOptions {
    @Option(
        names = {"-c", "--config"},
        description = "Properties file (default: $IRIS_CONFIG, else ./iris.properties if present).")
    Path file;

    IrisConfig load() {
      Path f = file;
      if (f == null && System.getenv("IRIS_CONFIG") != null) {
        f = Path.of(System.getenv("IRIS_CONFIG"));
      }
      if (f == null && Files.exists(Path.of("iris.properties"))) {
        f = Path.of("iris.properties");
      }
      if (f != null && !Files.isReadable(f)) {
        throw new StartupException("config file " + f.toAbsolutePath() + " is not readable");
      }
      try {
        return IrisConfig.load(f, System.getenv());
      } catch (org.apache.kafka.common.config.ConfigException e) {
        throw new StartupException(
            "bad configuration: " + e.getMessage() + " (see `iris config` for every key)");
      }
    }
  }

  @Command(
      name = "up",
      mixinStandardHelpOptions = true,
      description =
          "Start the whole stack (embedded Kafka, MariaDB, Connect and the MQTT edge unless"
              + " configured to use external ones) and run until Ctrl-C.")
  static final class Up implements Callable<Integer> {
    @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

    @Override
    public Integer call() {
      return runStack(options, config -> config, "everything");
    }
  }

  /**
   * Starts a stack from the loaded configuration (adjusted by {@code adjust}), prints its parts,
   * and runs until Ctrl-C stops it; a configuration problem is one line on stderr and exit 2.
   */
  static int runStack(
      ConfigOptions options, java.util.function.UnaryOperator<IrisConfig> adjust, String what) {
    PrintStream out = System.out;
    IrisStack stack;
    long t0 = System.nanoTime();
    try {
      IrisConfig config = adjust.apply(options.load());
      LogSetup.useDirectory(config.dataDir().resolve("logs"));
      stack = new IrisStack(config);
      out.println("iris: starting; data in " + config.dataDir() + ", log in " + stack.logFile());
      stack.preflight();
      stack.start(line -> out.println("  up  " + line));
    } catch (StartupException e) {
      System.err.println("iris: " + e.getMessage());
      return EXIT_CONFIG;
    }
    out.printf("iris: up in %.1f s. Ctrl-C stops %s.%n", (System.nanoTime() - t0) / 1e9, what);
    return runUntilStopped(out, stack::close);
  }

  @Command(
      name = "streams",
      mixinStandardHelpOptions = true,
      description =
          "Run one streams-app instance against kafka.bootstrap.servers (or, when empty, the"
              + " broker of a running `iris up` on this machine) until Ctrl-C. Start several to"
              + " scale out; each needs its own --instance on one machine.")
  static final class Streams implements Callable<Integer> {
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
        IrisStack.checkKafka(bootstrap);
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
                  () ->
                      java.util.Map.of(
                          "streams",
                          running.state() == org.apache.kafka.streams.KafkaStreams.State.ERROR
                                  || running.state()
                                      == org.apache.kafka.streams.KafkaStreams.State.PENDING_ERROR
                              ? "dead: streams app " + running.state()
                              : "UP"),
                  () -> {});
          ops.start();
          out.println(
              "iris: metrics and health on http://" + config.bindHost() + ":" + port + "/metrics");
        }
      } catch (StartupException e) {
        System.err.println("iris: " + e.getMessage());
        return EXIT_CONFIG;
      } catch (RuntimeException e) {
        System.err.println("iris: the streams app did not start: " + e.getMessage());
        return 1;
      }
      out.println("iris: streams app running. Ctrl-C stops it.");
      IrisStreamsApp stopping = app;
      OpsServer opsToStop = ops;
      return runUntilStopped(
          out,
          () -> {
            stopping.close();
            if (opsToStop != null) {
              opsToStop.close();
            }
          });
    }
  }

  /** Blocks until the JVM is asked to stop, then runs {@code stop} and reports how long it took. */
  static int runUntilStopped(PrintStream out, Runnable stop) {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  long s0 = System.nanoTime();
                  out.println("iris: stopping");
                  stop.run();
                  out.printf("iris: stopped in %.1f s%n", (System.nanoTime() - s0) / 1e9);
                  LogSetup.shutdown();
                  stopped.countDown();
                },
                "iris-shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  @Command(
      name = "bridge",
      mixinStandardHelpOptions = true,
      description =
          "Run one MQTT bridge (edge, send and push paths, catch-up) against an existing Kafka"
              + " cluster and MySQL: for scale-out. Needs kafka.bootstrap.servers and mysql.url.")
  static final class Bridge implements Callable<Integer> {
    @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

    @Override
    public Integer call() {
      return runStack(
          options,
          loaded -> {
            if (loaded.embeddedKafka() || loaded.embeddedMysql()) {
              throw new StartupException(
                  "iris bridge joins a running system: set kafka.bootstrap.servers"
                      + " (IRIS_KAFKA_BOOTSTRAP_SERVERS) and mysql.url (IRIS_MYSQL_URL)");
            }
            Map<String, Object> values = new java.util.HashMap<>(loaded.originals());
            values.put(IrisConfig.RUN_STREAMS_CONFIG, false);
            values.put(IrisConfig.RUN_CONNECT_CONFIG, false);
            return new IrisConfig(values);
          },
          "the bridge");
    }
  }

  @Command(
      name = "resink",
      mixinStandardHelpOptions = true,
      description =
          "Rebuild MySQL from iris.log: stop the sink, delete its offsets, empty the tables,"
              + " resume. Destructive: needs --yes.")
  static final class ResinkCommand implements Callable<Integer> {
    @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

    @Option(names = "--yes", description = "Yes, empty the MySQL tables and rebuild them.")
    boolean yes;

    @Option(
        names = "--allow-partial",
        description = "Rebuild even though retention has deleted the log's oldest records.")
    boolean allowPartial;

    @Override
    public Integer call() throws Exception {
      IrisConfig c = options.load();
      if (!yes) {
        System.err.println(
            "iris: resink empties "
                + String.join(", ", io.iris.topics.Names.TABLES)
                + " and rebuilds"
                + " them from iris.log; run again with --yes");
        return EXIT_CONFIG;
      }
      try {
        new io.iris.launcher.tools.Resink(
                c.kafkaBootstrapServers(),
                c.connectUrl(),
                c.jdbcUrl(),
                c.jdbcUser(),
                c.jdbcPassword())
            .run(allowPartial, System.out);
        return 0;
      } catch (IllegalStateException e) {
        System.err.println("iris: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(
      name = "pointers",
      mixinStandardHelpOptions = true,
      description =
          "One user's head seq, each device's pointer, the storage pointer, and how far behind"
              + " each is; the two consumer groups on the user's partition.")
  static final class Pointers implements Callable<Integer> {
    @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

    @Option(names = "--user", required = true, description = "User id.")
    long user;

    @Override
    public Integer call() throws Exception {
      IrisConfig c = options.load();
      new io.iris.launcher.tools.UserInspector(
              c.kafkaBootstrapServers(), c.jdbcUrl(), c.jdbcUser(), c.jdbcPassword())
          .pointers(user, System.out);
      return 0;
    }
  }

  @Command(
      name = "tail",
      mixinStandardHelpOptions = true,
      description = "Print one user's deltas from iris.log as JSON lines, following new ones.")
  static final class Tail implements Callable<Integer> {
    @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

    @Option(names = "--user", required = true, description = "User id.")
    long user;

    @Option(names = "--from-beginning", description = "Start at the oldest delta the log holds.")
    boolean fromBeginning;

    @Option(
        names = "--max",
        defaultValue = "0",
        description = "Stop after this many deltas (default: never).")
    long max;

    @Option(
        names = "--idle-ms",
        defaultValue = "0",
        description = "Stop after this long without a new delta (default: never).")
    long idleMs;

    @Override
    public Integer call() {
      IrisConfig c = options.load();
      new io.iris.launcher.tools.UserInspector(c.kafkaBootstrapServers(), c.jdbcUrl(), "", "")
          .tail(user, fromBeginning, max, idleMs, System.out);
      return 0;
    }
  }

  @Command(
      name = "device",
      mixinStandardHelpOptions = true,
      description = "Add or revoke a device allowed to connect as a user.",
      subcommands = {DeviceAdd.class, DeviceRevoke.class})
  static final class Device {}

  /** Options naming a device, and where the cluster is. */
  static final class DeviceOptions {
    @CommandLine.Mixin ConfigOptions config = new ConfigOptions();

    @Option(names = "--user", required = true, description = "User id (a positive number).")
    long user;

    @Option(
        names = "--device",
        required = true,
        description = "Device id, 1-64 characters without '/', '+', '#'.")
    String device;

    String bootstrap() {
      IrisConfig c = config.load();
      String bootstrap = c.kafkaBootstrapServers();
      IrisStack.checkKafka(bootstrap);
      return bootstrap;
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description =
          "Register a device and print its token, once: the token is not stored anywhere, only its"
              + " salted hash. Adding an existing device replaces its token.")
  static final class DeviceAdd implements Callable<Integer> {
    @CommandLine.Mixin DeviceOptions d = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
      try {
        String token = io.iris.bridge.edge.DeviceRegistry.register(d.bootstrap(), d.user, d.device);
        var id = new io.iris.protocol.DeviceTopics.DeviceId(d.user, d.device);
        System.out.println(
            "device " + id.clientId() + " added; its token (shown once, keep it on the device):");
        System.out.println(token);
        System.out.println(
            "connect with MQTT client id '"
                + id.clientId()
                + "', user name '"
                + d.user
                + "', the token as password; publish to "
                + id.up()
                + ", subscribe to "
                + id.down());
        return 0;
      } catch (StartupException | IllegalArgumentException e) {
        System.err.println("iris: " + e.getMessage());
        return EXIT_CONFIG;
      }
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke a device: it can no longer connect.")
  static final class DeviceRevoke implements Callable<Integer> {
    @CommandLine.Mixin DeviceOptions d = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
      try {
        io.iris.bridge.edge.DeviceRegistry.revoke(d.bootstrap(), d.user, d.device);
        System.out.println("device " + d.user + "/" + d.device + " revoked");
        return 0;
      } catch (StartupException e) {
        System.err.println("iris: " + e.getMessage());
        return EXIT_CONFIG;
      }
    }
  }

  @Command(
      name = "config",
      mixinStandardHelpOptions = true,
      description = "Print every configuration key with its default.")
  static final class ConfigDoc implements Callable<Integer> {
    @Override
    public Integer call() {
      System.out.print(IrisConfig.describe());
      return 0;
    }
  }

  /** Kafka's own command-line tools, run from the same jars as the stack. */
  static final Map<String, String> KAFKA_TOOLS =
      new TreeMap<>(
          Map.of(
              "kafka-topics", "org.apache.kafka.tools.TopicCommand",
              "kafka-configs", "org.apache.kafka.tools.ConfigCommand",
              "kafka-console-consumer", "org.apache.kafka.tools.consumer.ConsoleConsumer",
              "kafka-console-producer", "org.apache.kafka.tools.ConsoleProducer",
              "kafka-consumer-groups", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
              "kafka-producer-perf-test", "org.apache.kafka.tools.ProducerPerformance",
              "kafka-consumer-perf-test", "org.apache.kafka.tools.ConsumerPerformance",
              "kafka-e2e-latency", "org.apache.kafka.tools.EndToEndLatency"));

  @Command(
      name = "kafka",
      mixinStandardHelpOptions = true,
      description =
          "Run one of Kafka's own tools from the same jars, e.g. `iris kafka kafka-topics --bootstrap-server 127.0.0.1:9092 --list`.")
  static final class KafkaTool implements Callable<Integer> {
    @Parameters(
        index = "0",
        description = "The tool: ${COMPLETION-CANDIDATES}",
        completionCandidates = ToolNames.class)
    String tool;

    @Parameters(index = "1..*", description = "The tool's own arguments.")
    List<String> args = List.of();

    @Override
    public Integer call() throws Exception {
      String main = KAFKA_TOOLS.get(tool);
      if (main == null) {
        System.err.println("iris: unknown tool " + tool + "; one of " + KAFKA_TOOLS.keySet());
        return EXIT_CONFIG;
      }
      Method m = Class.forName(main).getMethod("main", String[].class);
      m.invoke(null, (Object) args.toArray(String[]::new));
      return 0;
    }
  }

  static final class ToolNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return KAFKA_TOOLS.keySet().iterator();
    }
  }
}
