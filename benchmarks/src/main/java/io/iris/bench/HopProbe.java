package io.iris.bench;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Where a message's time goes: consumers beside the pipeline note when each benchmark message (text
 * "t=&lt;nanoTime of the send&gt; …") becomes visible on iris.commands (the bridge has produced it)
 * and on iris.log (read_committed: the streams app has committed it), in the same JVM and clock as
 * the devices.
 */
final class HopProbe implements AutoCloseable {
  private final String bootstrap;
  private final Map<Long, Long> commandSeen = new ConcurrentHashMap<>();
  private final Map<Long, Long> logSeen = new ConcurrentHashMap<>();
  private volatile boolean running = true;
  private final Thread[] threads = new Thread[2];

  HopProbe(String bootstrap, int expected) {
    this.bootstrap = bootstrap;
  }

  void start() throws InterruptedException {
    threads[0] = follow(Topics.COMMANDS.name(), "read_uncommitted", true);
    threads[1] = follow(Topics.LOG.name(), "read_committed", false);
    Thread.sleep(1500); // assigned and at the end
  }

  private Thread follow(String topic, String isolation, boolean commands) {
    Thread t =
        new Thread(
            () -> {
              Properties p = new Properties();
              p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
              p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
              p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 5);
              try (KafkaConsumer<byte[], byte[]> c =
                  new KafkaConsumer<>(
                      p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> tps =
                    c.partitionsFor(topic).stream()
                        .map(i -> new TopicPartition(topic, i.partition()))
                        .toList();
                c.assign(tps);
                c.seekToEnd(tps);
                FrameCodec codec = FrameCodec.defaults();
                while (running) {
                  for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
                    long now = System.nanoTime();
                    String text = null;
                    try {
                      if (commands) {
                        ClientCommand cc = codec.decode(r.value(), ClientCommand::new);
                        if (cc.getBody().isSetSendMessage()) {
                          text = cc.getBody().getSendMessage().getText();
                        }
                      } else {
                        Delta d = codec.decode(r.value(), Delta::new);
                        if (d.getBody().isSetNewMessage()) {
                          text = d.getBody().getNewMessage().getText();
                        }
                      }
                    } catch (RuntimeException e) {
                      continue;
                    }
                    if (text != null && text.startsWith("t=")) {
                      long sent = Long.parseLong(text.substring(2, text.indexOf(' ')));
                      (commands ? commandSeen : logSeen).putIfAbsent(sent, now);
                    }
                  }
                }
              }
            },
            "iris-bench-probe-" + topic);
    t.setDaemon(true);
    t.start();
    return t;
  }

  void report(StringBuilder table) {
    long[] toCommands = new long[commandSeen.size()];
    long[] commandsToLog = new long[logSeen.size()];
    int i = 0;
    for (Map.Entry<Long, Long> e : commandSeen.entrySet()) {
      toCommands[i++] = e.getValue() - e.getKey();
    }
    int j = 0;
    for (Map.Entry<Long, Long> e : logSeen.entrySet()) {
      Long cmd = commandSeen.get(e.getKey());
      if (cmd != null) {
        commandsToLog[j++] = e.getValue() - cmd;
      }
    }
    toCommands = Arrays.copyOf(toCommands, i);
    commandsToLog = Arrays.copyOf(commandsToLog, j);
    Arrays.sort(toCommands);
    Arrays.sort(commandsToLog);
    table.append(
        String.format(
            "| … hop: send -> on iris.commands (device, MQTT, bridge, produce) p50 / p99 | %.1f / %.1f ms |%n",
            percentileMs(toCommands, 0.5), percentileMs(toCommands, 0.99)));
    table.append(
        String.format(
            "| … hop: iris.commands -> committed on iris.log (streams app) p50 / p99 | %.1f / %.1f ms |%n",
            percentileMs(commandsToLog, 0.5), percentileMs(commandsToLog, 0.99)));
  }

  /** The {@code q} quantile of {@code sortedNanos} (ascending nanoseconds), in ms; 0 if empty. */
  static double percentileMs(long[] sortedNanos, double q) {
    return sortedNanos.length == 0
        ? 0
        : sortedNanos[(int) Math.min(sortedNanos.length - 1, Math.floor(q * sortedNanos.length))]
            / 1e6;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    for (Thread t : threads) {
      if (t != null) {
        t.join(2000);
      }
    }
  }
}
