package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bench.CommandPayloads;
import io.iris.bench.ProducerPerfTest;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Operators load-test the pipeline with Kafka's stock tools and the project's payload files: {@code
 * kafka-console-producer} creates the threads, {@code kafka-producer-perf-test --payload-file}
 * sends messages; every record becomes one message in every member's queue, in thread order without
 * gaps, even though the tool repeats lines.
 */
class StockToolsLoadIT {
  private static final int USERS = 6;
  private static final long FIRST_USER = UserIds.block(USERS);
  private static final int RECORDS = 200;

  @Test
  void stockToolsShouldDriveThePipelineFromPayloadFiles() throws Exception {
    IrisStack stack = TestStacks.shared();
    Path dir = TestStacks.newDataDir("loadgen");
    try {
      // 4 threads of 3 among 6 users; 20 distinct lines, sent 200 times.
      CommandPayloads.Written files =
          CommandPayloads.write(dir, FIRST_USER, USERS, 7_300_000_000L, 4, 3, 20, 40, 11);
      Process console =
          ProducerPerfTest.tool(
                  "org.apache.kafka.tools.ConsoleProducer",
                  List.of(
                      "--bootstrap-server",
                      stack.bootstrapServers(),
                      "--topic",
                      Topics.COMMANDS.name()))
              .redirectInput(files.threads().toFile())
              .start();
      String out = new String(console.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, console.waitFor(), out);
      ProducerPerfTest.Result perf =
          ProducerPerfTest.runPayloadFile(
              stack.bootstrapServers(),
              Topics.COMMANDS.name(),
              RECORDS,
              -1,
              files.sends(),
              Map.of("acks", "all"));
      assertEquals(RECORDS, perf.records());

      long expected = 4L * 3 + RECORDS * 3L;
      Map<String, Long> lastMessage = new HashMap<>();
      Set<String> clientIds = new HashSet<>();
      long[] seen = {0};
      try (KafkaConsumer<byte[], byte[]> reader = reader(stack)) {
        reader.subscribe(List.of(Topics.LOG.name()));
        Waits.await(
            expected + " deltas of the load on iris.log",
            Duration.ofSeconds(90),
            () -> {
              for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(500))) {
                // Other tests put poison records into iris.log on purpose: look at these users
                // only.
                if (r.key() == null || r.key().length != Long.BYTES) {
                  continue;
                }
                long user = java.nio.ByteBuffer.wrap(r.key()).getLong();
                if (user < FIRST_USER || user >= FIRST_USER + USERS) {
                  continue;
                }
                Delta d = FrameCodec.defaults().decode(r.value(), Delta::new);
                if (d.getBody().isSetNewMessage()) {
                  // Each thread's messages reach each member once, in the thread's order.
                  String key = user + "/" + d.getThreadId();
                  long id = d.getBody().getNewMessage().getMessageId();
                  assertEquals(
                      lastMessage.getOrDefault(key, 0L) + 1, id, "user " + user + " in order");
                  lastMessage.put(key, id);
                }
                assertTrue(!d.getBody().isSetCommandRejected(), d.toString());
                if (d.getBody().isSetNewMessage() && d.getBody().getNewMessage().isSetClientId()) {
                  clientIds.add(d.getBody().getNewMessage().getClientId());
                }
                seen[0]++;
              }
              return seen[0] >= expected;
            });
      }
      assertEquals(expected, seen[0], "every record a message for each of its thread's 3 members");
      assertEquals(RECORDS, clientIds.size(), "each record its own client id: " + clientIds);
    } finally {
      TestStacks.delete(dir);
    }
  }

  private static KafkaConsumer<byte[], byte[]> reader(IrisStack stack) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "stock-tools-it");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }
}
