package io.iris.launcher;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "kafka",
    mixinStandardHelpOptions = true,
    description =
        "Run one of Kafka's own tools from the same jars, e.g. `iris kafka kafka-topics --bootstrap-server 127.0.0.1:9092 --list`.")
final class KafkaCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      description = "The tool: ${COMPLETION-CANDIDATES}",
      completionCandidates = ToolNames.class)
  String tool;

  @Parameters(index = "1..*", description = "The tool's own arguments.")
  List<String> args = List.of();

  @Override
  public Integer call() throws Exception {
    String main = KAFKA_TOOLS.get(tool);
    if (main == null) {
      System.err.println("iris: unknown tool " + tool + "; one of " + KAFKA_TOOLS.keySet());
      return IrisCli.EXIT_CONFIG;
    }
    Method m = Class.forName(main).getMethod("main", String[].class);
    m.invoke(null, (Object) args.toArray(String[]::new));
    return 0;
  }

  /** Kafka's own command-line tools, run from the same jars as the stack. */
  static final Map<String, String> KAFKA_TOOLS =
      new TreeMap<>(
          Map.of(
              "kafka-topics", "org.apache.kafka.tools.TopicCommand",
              "kafka-configs", "org.apache.kafka.tools.ConfigCommand",
              "kafka-console-consumer", "org.apache.kafka.tools.consumer.ConsoleConsumer",
              "kafka-console-producer", "org.apache.kafka.tools.ConsoleProducer",
              "kafka-consumer-groups", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
              "kafka-producer-perf-test", "org.apache.kafka.tools.ProducerPerformance",
              "kafka-consumer-perf-test", "org.apache.kafka.tools.ConsumerPerformance",
              "kafka-e2e-latency", "org.apache.kafka.tools.EndToEndLatency"));

  static final class ToolNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return KAFKA_TOOLS.keySet().iterator();
    }
  }
}
