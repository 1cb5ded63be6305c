package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "pointers",
    mixinStandardHelpOptions = true,
    description =
        "One user's pointers in offsets of the user's partition of iris.log: each device's last"
            + " acknowledged position, the two consumer groups (the sink's is the storage"
            + " pointer), the highest position in MySQL, and how many of the user's deltas each"
            + " is behind.")
final class PointersCommand implements Callable<Integer> {
  @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

  @Option(names = "--user", required = true, description = "User id.")
  long user;

  @Override
  public Integer call() throws Exception {
    IrisConfig c = options.load();
    new io.iris.launcher.tools.UserInspector(
            c.kafkaClients(io.iris.topics.KafkaClientProperties.TOOLS),
            c.jdbcUrl(),
            c.jdbcUser(),
            c.jdbcPassword())
        .pointers(user, System.out);
    return 0;
  }
}
