package io.iris.launcher;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code iris} command: run the stack, and the tools operators and data engineers use. */
@Command(
    name = "iris",
    mixinStandardHelpOptions = true,
    version = "iris 0.1.0",
    description = "Iris on Kafka: push-based chat sync.",
    subcommands = {
      UpCommand.class,
      StreamsCommand.class,
      ConfigCommand.class,
      DeviceCommand.class,
      KafkaCommand.class,
      PointersCommand.class,
      BridgeCommand.class,
      ResinkCommand.class,
      TailCommand.class
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
            return IrisCli.EXIT_CONFIG;
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
      return IrisCli.EXIT_CONFIG;
    }
    out.printf("iris: up in %.1f s. Ctrl-C stops %s.%n", (System.nanoTime() - t0) / 1e9, what);
    return IrisCli.runUntilStopped(out, stack::close);
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
}
