package io.iris.storage;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.SendMessage;
import io.iris.streams.IrisTopology;
import io.iris.streams.StreamsAppConfig;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Realistic deltas for storage tests: random conversations (creates, sends, adds, removes, read
 * marks) run through the real topology, so the deltas are exactly what iris.log would hold.
 */
final class Conversations {
  private Conversations() {}

  /** Every delta produced, in iris.log order, without positions (see {@link LogPositions}). */
  static List<Delta> generate(long seed, int users, int threads, int commands) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "storage-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    List<Delta> out = new ArrayList<>();
    try (TopologyTestDriver driver =
        new TopologyTestDriver(IrisTopology.build(new StreamsAppConfig(Map.of())), props)) {
      TestInputTopic<byte[], byte[]> in =
          driver.createInputTopic(
              Topics.COMMANDS.name(), new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<Long, Delta> log =
          driver.createOutputTopic(
              Topics.LOG.name(), new LongDeserializer(), Topics.LOG.valueSerde().deserializer());
      Random r = new Random(seed);
      Instant now = Instant.parse("2026-11-01T00:00:00Z");
      Map<Long, List<Long>> members = new HashMap<>();
      Map<Long, Integer> messages = new HashMap<>();
      int id = 0;
      for (long t = 1; t <= threads; t++) {
        List<Long> m = new ArrayList<>();
        while (m.size() < 2 + r.nextInt(3)) {
          long u = 1 + r.nextInt(users);
          if (!m.contains(u)) {
            m.add(u);
          }
        }
        members.put(t, m);
        messages.put(t, 0);
        send(
            in,
            now,
            new ClientCommand(
                m.get(0),
                "d",
                "c" + id++,
                t,
                now.toEpochMilli(),
                CommandBody.createThread(
                    new CreateThread(m.subList(1, m.size())).setName("thread " + t))));
      }
      for (int i = 0; i < commands; i++) {
        now = now.plusSeconds(1 + r.nextInt(60));
        long t = 1 + r.nextInt(threads);
        List<Long> m = members.get(t);
        if (m.isEmpty()) {
          continue;
        }
        long sender = m.get(r.nextInt(m.size()));
        int dice = r.nextInt(100);
        CommandBody body;
        if (dice < 80) {
          body = CommandBody.sendMessage(new SendMessage("message " + i));
          messages.merge(t, 1, Integer::sum);
        } else if (dice < 90 && messages.get(t) > 0) {
          body = CommandBody.markRead(new MarkRead(1 + r.nextInt(messages.get(t))));
        } else if (dice < 95) {
          long u = 1 + r.nextInt(users);
          if (m.contains(u)) {
            continue;
          }
          m.add(u);
          body = CommandBody.addParticipants(new AddParticipants(List.of(u)));
        } else {
          if (m.size() <= 2) {
            continue;
          }
          long u = m.get(r.nextInt(m.size()));
          m.remove(u);
          body = CommandBody.removeParticipants(new RemoveParticipants(List.of(u)));
        }
        send(
            in,
            now,
            new ClientCommand(sender, "d" + sender, "c" + id++, t, now.toEpochMilli(), body));
      }
      while (!log.isEmpty()) {
        out.add(log.readValue());
      }
    }
    return out;
  }

  private static void send(TestInputTopic<byte[], byte[]> in, Instant now, ClientCommand c) {
    in.pipeInput(
        new TestRecord<>(
            ByteBuffer.allocate(8).putLong(c.getThreadId()).array(),
            FrameCodec.defaults().encode(c),
            now));
  }
}
