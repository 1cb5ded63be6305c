package io.iris.streams;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Runs one streams-app instance as a process of its own: {@code IrisStreamsMain
 * [config.properties]} with the keys of {@link StreamsMainConfig} in the file and/or the
 * environment ({@code kafka.bootstrap.servers} and {@code streams.state.dir} are required).
 *
 * <p>Exit status: 2 for a configuration problem (one line on stderr), 1 when the app does not start
 * or its Kafka Streams client fails later (goes to ERROR, for instance when the uncaught-exception
 * handler shuts it down), so that a supervisor restarts it. SIGTERM or Ctrl-C closes the app within
 * {@code streams.close.timeout.ms}: it commits and leaves the group.
 */
public final class IrisStreamsMain {
  /** The app failed: it did not start, or its Kafka Streams client died. */
  public static final int EXIT_FAILED = 1;

  /** A configuration or usage problem the user can fix. */
  public static final int EXIT_CONFIG = 2;

  private static final String NAME = "iris-streams";

  private IrisStreamsMain() {}

  public static void main(String[] args) {
    // The only place that exits: a failed Kafka Streams client leaves no thread to end the JVM.
    System.exit(run(args, System.getenv(), System.err));
  }

  /**
   * Loads the configuration, starts the app and blocks until it fails, returning the exit status.
   * While the app runs, a shutdown hook closes it when the JVM is asked to stop; the JVM then exits
   * with the status of its signal and this method does not return.
   */
  static int run(String[] args, Map<String, String> env, PrintStream err) {
    StreamsMainConfig config;
    IrisStreamsApp app;
    try {
      config = StreamsMainConfig.load(configFile(args), env);
      app = new IrisStreamsApp(config.appConfig(), config.bootstrapServers(), config.stateDir());
    } catch (ConfigException | IllegalArgumentException e) {
      err.println(NAME + ": " + withEnvName(String.valueOf(e.getMessage())));
      return EXIT_CONFIG;
    }
    Thread hook = new Thread(() -> app.close(config.closeTimeout()), NAME + "-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    int status = runUntilFailed(app, config, err);
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook runs anyway; closing twice is harmless.
    }
    return status;
  }

  /**
   * Starts {@code app} and waits until it fails; closes it then and returns {@link #EXIT_FAILED}.
   */
  static int runUntilFailed(IrisStreamsApp app, StreamsMainConfig config, PrintStream err) {
    try {
      app.start(config.startTimeout());
    } catch (RuntimeException e) {
      err.println(NAME + ": the streams app did not start: " + e.getMessage());
      app.close(config.closeTimeout());
      return EXIT_FAILED;
    }
    KafkaStreams.State state = app.failed().join();
    err.println(
        NAME
            + ": the streams app failed (Kafka Streams state "
            + state
            + "); the errors logged before say why. Exiting with status "
            + EXIT_FAILED
            + ".");
    app.close(config.closeTimeout());
    return EXIT_FAILED;
  }

  private static Path configFile(String[] args) {
    if (args.length > 1 || (args.length == 1 && args[0].startsWith("-"))) {
      throw new IllegalArgumentException(
          "usage: IrisStreamsMain [config.properties]; keys may also be set as IRIS_<KEY>"
              + " environment variables, e.g. IRIS_KAFKA_BOOTSTRAP_SERVERS");
    }
    return args.length == 1 ? Path.of(args[0]) : null;
  }

  /** The message with the environment variable of the key it names, if it names one. */
  static String withEnvName(String message) {
    return StreamsMainConfig.CONFIG.names().stream()
        .filter(message::contains)
        .max(Comparator.comparingInt(String::length))
        .map(key -> message + " (environment: " + StreamsMainConfig.envName(key) + ")")
        .orElse(message);
  }
}
