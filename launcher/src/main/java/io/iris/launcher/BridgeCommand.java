package io.iris.launcher;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "bridge",
    mixinStandardHelpOptions = true,
    description =
        "Run one MQTT bridge (edge, send and push paths, catch-up) against an existing Kafka"
            + " cluster and MySQL: for scale-out. Needs kafka.bootstrap.servers and mysql.url.")
final class BridgeCommand implements Callable<Integer> {
  @CommandLine.Mixin ConfigOptions options = new ConfigOptions();

  @Override
  public Integer call() {
    return IrisCli.runStack(
        options,
        loaded -> {
          if (loaded.embeddedKafka() || loaded.embeddedMysql()) {
            throw new StartupException(
                "iris bridge joins a running system: set kafka.bootstrap.servers"
                    + " (IRIS_KAFKA_BOOTSTRAP_SERVERS) and mysql.url (IRIS_MYSQL_URL)");
          }
          Map<String, Object> values = new java.util.HashMap<>(loaded.originals());
          values.put(IrisConfig.RUN_STREAMS_CONFIG, false);
          values.put(IrisConfig.RUN_CONNECT_CONFIG, false);
          return new IrisConfig(values);
        },
        "the bridge");
  }
}
