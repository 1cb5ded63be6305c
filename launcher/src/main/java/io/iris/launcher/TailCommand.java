package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = "Print one user's deltas from iris.log as JSON lines, following new ones.")
final class TailCommand implements Callable<Integer> {
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
    new io.iris.launcher.tools.UserInspector(
            c.kafkaClients(io.iris.topics.KafkaClientProperties.TOOLS), c.jdbcUrl(), "", "")
        .tail(user, fromBeginning, max, idleMs, System.out);
    return 0;
  }
}
