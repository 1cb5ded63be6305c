package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "resink",
    mixinStandardHelpOptions = true,
    description =
        "Rebuild MySQL from iris.log: stop the sink, delete its offsets, empty the tables,"
            + " resume. Destructive: needs --yes.")
final class ResinkCommand implements Callable<Integer> {
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
      return IrisCli.EXIT_CONFIG;
    }
    try {
      new io.iris.launcher.tools.Resink(
              c.kafkaClients(io.iris.topics.KafkaClientProperties.TOOLS),
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
