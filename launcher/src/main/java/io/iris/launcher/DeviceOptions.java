package io.iris.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options naming a device, and where the cluster is. */
final class DeviceOptions {
  @CommandLine.Mixin ConfigOptions config = new ConfigOptions();

  @Option(names = "--user", required = true, description = "User id (a positive number).")
  long user;

  @Option(
      names = "--device",
      required = true,
      description = "Device id, 1-64 bytes of UTF-8 without '/', '+', '#'.")
  String device;

  String bootstrap() {
    IrisConfig c = config.load();
    String bootstrap = c.kafkaBootstrapServers();
    IrisStack.checkKafka(bootstrap);
    return bootstrap;
  }
}
