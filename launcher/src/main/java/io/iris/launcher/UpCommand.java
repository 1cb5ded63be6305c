package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description =
        "Start the whole stack (embedded Kafka, MariaDB, Connect and the MQTT edge unless"
            + " configured to use external ones) and run until Ctrl-C.")
final class UpCommand implements Callable<Integer> {
  @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

  @Override
  public Integer call() {
    return IrisCli.runStack(options, config -> config, "everything");
  }
}
