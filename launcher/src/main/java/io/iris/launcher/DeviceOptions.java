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

  /** The launcher's Kafka clients (kafka.client.tools.*), once the cluster answers. */
  io.iris.bridge.KafkaClients kafka() {
    io.iris.bridge.KafkaClients kafka =
        config.load().kafkaClients(io.iris.topics.KafkaClientProperties.TOOLS);
    IrisStack.checkKafka(kafka);
    return kafka;
  }
}
