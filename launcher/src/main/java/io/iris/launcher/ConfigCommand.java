package io.iris.launcher;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    description = "Print every configuration key with its default.")
final class ConfigCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.out.print(IrisConfig.describe());
    return 0;
  }
}
