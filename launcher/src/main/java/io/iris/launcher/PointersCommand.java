package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "pointers",
    mixinStandardHelpOptions = true,
    description =
        "One user's head seq, each device's pointer, the storage pointer, and how far behind"
            + " each is; the two consumer groups on the user's partition.")
final class PointersCommand implements Callable<Integer> {
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
