package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.embedded.EmbeddedKafka;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.SendMessage;
import io.iris.testkit.FaultReport;
import io.iris.testkit.LauncherProcess;
import io.iris.testkit.TestStacks;
import io.iris.testkit.Waits;
import io.iris.topics.TopicInstaller;
import io.iris.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/**
 * Kills the streams app with SIGKILL in the middle of a stream of sends, restarts it, and proves
 * from iris.log: no lost message, no duplicate, each thread's messages in order for every member.
 */
class StreamsCrashIT {
  static final int USERS = 30;
  static final int THREADS = 15;
  static final int SENDS = 3000;
  static final int SENDS_PER_SECOND = 300;

  @Test
  void shouldLoseNothingAndRepeatNothingWhenKilledMidStream() throws Exception {
    Path dir = TestStacks.newDataDir("crash");
    try (EmbeddedKafka kafka =
        new EmbeddedKafka(EmbeddedKafka.Settings.ephemeral(dir.resolve("kafka")))) {
      kafka.start();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        new TopicInstaller(admin, 30_000)
            .install(
                List.of(
                    new TopicInstaller.Plan(
                        Topics.COMMANDS, 3, (short) 1, Topics.COMMANDS.configs()),
                    new TopicInstaller.Plan(Topics.LOG, 6, (short) 1, Topics.LOG.configs()),
                    new TopicInstaller.Plan(Topics.DLQ, 1, (short) 1, Topics.DLQ.configs())));
      }
      Map<String, String> env =
          Map.of(
              "IRIS_KAFKA_BOOTSTRAP_SERVERS",
              kafka.bootstrapServers(),
              "IRIS_DATA_DIR",
              dir.toString(),
              "IRIS_STREAMS_SESSION_TIMEOUT_MS",
              "6000",
              "IRIS_STREAMS_REPLICATION_FACTOR",
              "1",
              "IRIS_STREAMS_PROCESSING_GUARANTEE",
              System.getProperty("crash.guarantee", "exactly_once_v2"));

      // Threads of 3 members each: the creator and two others.
      Random random = new Random(42);
      Map<Long, List<Long>> members = new HashMap<>();
      for (long t = 1; t <= THREADS; t++) {
        List<Long> m = new ArrayList<>();
        while (m.size() < 3) {
          long u = 1 + random.nextInt(USERS);
          if (!m.contains(u)) {
            m.add(u);
          }
        }
        members.put(t, m);
      }

      LauncherProcess first =
          LauncherProcess.start(env, "streams", "--instance", "a", "--ops-port", "0");
      LauncherProcess second = null;
      try (KafkaProducer<Long, byte[]> producer = producer(kafka.bootstrapServers())) {
        first.awaitOutput("streams app running", Duration.ofSeconds(90));
        long now = System.currentTimeMillis();
        for (var e : members.entrySet()) {
          List<Long> m = e.getValue();
          TestStacks.sendCommand(
              producer,
              new ClientCommand(
                  m.get(0),
                  "d",
                  "create-" + e.getKey(),
                  e.getKey(),
                  now,
                  CommandBody.createThread(new CreateThread(m.subList(1, 3)))));
        }
        producer.flush();

        // A steady stream of sends; the streams app is killed a third of the way through.
        Map<String, Long> senderOf = new HashMap<>();
        AtomicInteger sent = new AtomicInteger();
        long start = System.nanoTime();
        long killedAt = 0;
        long restartedIn = 0;
        for (int i = 0; i < SENDS; i++) {
          long t = 1 + random.nextInt(THREADS);
          long sender = members.get(t).get(random.nextInt(3));
          String clientId = "m" + i;
          senderOf.put(clientId, sender);
          TestStacks.sendCommand(
              producer,
              new ClientCommand(
                  sender,
                  "d" + sender,
                  clientId,
                  t,
                  System.currentTimeMillis(),
                  CommandBody.sendMessage(new SendMessage("message " + i))));
          sent.incrementAndGet();
          if (i == SENDS / 3) {
            first.kill();
            killedAt = System.nanoTime();
            second = LauncherProcess.start(env, "streams", "--instance", "a", "--ops-port", "0");
          }
          if (second != null
              && restartedIn == 0
              && second.stdout().contains("streams app running")) {
            restartedIn = System.nanoTime() - killedAt;
          }
          long due = start + (long) (i + 1) * 1_000_000_000L / SENDS_PER_SECOND;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            // Pacing: SENDS_PER_SECOND, so that the kill falls in a steady stream of sends.
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
        }
        producer.flush();
        if (restartedIn == 0) {
          second.awaitOutput("streams app running", Duration.ofSeconds(90));
          restartedIn = System.nanoTime() - killedAt;
        }

        int expected = THREADS * 3 + SENDS * 3;
        Map<Long, List<Delta>> byUser =
            readLog(kafka.bootstrapServers(), expected, Duration.ofSeconds(120));
        int total = byUser.values().stream().mapToInt(List::size).sum();
        assertEquals(expected, total, "every delta exactly once");

        Set<String> confirmed = new HashSet<>();
        for (var e : byUser.entrySet()) {
          List<Delta> ds = e.getValue();
          Set<String> messages = new HashSet<>();
          Map<Long, Long> lastMessage = new java.util.HashMap<>();
          for (int i = 0; i < ds.size(); i++) {
            Delta d = ds.get(i);
            // Each thread's messages in order, once: a repeat would show as a duplicate message
            // or a message id out of order.
            if (d.getBody().isSetNewMessage()) {
              var m = d.getBody().getNewMessage();
              assertTrue(
                  messages.add(d.getThreadId() + "/" + m.getMessageId()), "duplicate message " + m);
              long before = lastMessage.getOrDefault(d.getThreadId(), 0L);
              assertEquals(
                  before + 1,
                  m.getMessageId(),
                  "user " + e.getKey() + ", thread " + d.getThreadId() + ": none lost, in order");
              lastMessage.put(d.getThreadId(), m.getMessageId());
              if (m.isSetClientId()) {
                assertEquals(senderOf.get(m.getClientId()), e.getKey());
                assertTrue(confirmed.add(m.getClientId()), "confirmed twice: " + m.getClientId());
              }
            }
          }
        }
        assertEquals(
            senderOf.keySet(), confirmed, "every send confirmed to its sender exactly once");
        // The restarted instance came back as the same static member (the id kept in its state
        // directory), which is why it need not wait for the dead one's session to expire.
        String kept =
            java.nio.file.Files.readString(
                    dir.resolve("streams").resolve("a").resolve("iris-group-instance-id"))
                .trim();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
          var groupMembers =
              admin
                  .describeConsumerGroups(List.of(io.iris.topics.Names.STREAMS_APPLICATION_ID))
                  .all()
                  .get()
                  .get(io.iris.topics.Names.STREAMS_APPLICATION_ID)
                  .members();
          assertEquals(
              Set.of(java.util.Optional.of(kept + "-1")),
              groupMembers.stream()
                  .map(m -> m.groupInstanceId())
                  .collect(java.util.stream.Collectors.toSet()),
              "one member, the same static member as before the kill");
        }
        FaultReport.row(
            "streams app killed (SIGKILL) and restarted",
            String.format("%,d sends at %d/s", SENDS, SENDS_PER_SECOND),
            "kill -9 after send " + (SENDS / 3 + 1),
            "0 (" + total + " deltas checked in iris.log)",
            "0 (no delta repeated, every send confirmed once)",
            String.format("new instance running %.1f s after the kill", restartedIn / 1e9));
        System.out.printf(
            "streams crash test (%s): %d sends at %d/s, killed after %d, new instance running %.1f s after"
                + " the kill, %d deltas checked%n",
            env.get("IRIS_STREAMS_PROCESSING_GUARANTEE"),
            SENDS,
            SENDS_PER_SECOND,
            SENDS / 3 + 1,
            restartedIn / 1e9,
            total);
      } finally {
        first.close();
        if (second != null) {
          second.close();
        }
      }
    } finally {
      TestStacks.delete(dir);
    }
  }

  static KafkaProducer<Long, byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
  }

  static Map<Long, List<Delta>> readLog(String bootstrap, int expected, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "crash-it-reader");
    Map<Long, List<Delta>> byUser = new HashMap<>();
    int[] count = {0};
    try (KafkaConsumer<Long, Delta> consumer =
        new KafkaConsumer<>(p, new LongDeserializer(), Topics.LOG.valueSerde().deserializer())) {
      consumer.subscribe(List.of(Topics.LOG.name()));
      Waits.await(
          expected + " deltas on iris.log",
          timeout,
          () -> count[0] += read(consumer, byUser),
          n -> n >= expected);
      // Keep reading a little past the expected count: a duplicate would show up as extra.
      Waits.holds(
          "no delta beyond the expected " + expected,
          Duration.ofSeconds(3),
          () -> (count[0] += read(consumer, byUser)) == expected);
    }
    return byUser;
  }

  /** One poll of iris.log into {@code byUser}; returns how many deltas it read. */
  private static int read(KafkaConsumer<Long, Delta> consumer, Map<Long, List<Delta>> byUser) {
    int got = 0;
    for (ConsumerRecord<Long, Delta> r : consumer.poll(Duration.ofMillis(500))) {
      byUser.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
      got++;
    }
    return got;
  }
}
