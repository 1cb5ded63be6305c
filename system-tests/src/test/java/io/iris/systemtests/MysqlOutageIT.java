package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.SendMessage;
import io.iris.testkit.Conversations;
import io.iris.testkit.FaultReport;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.junit.jupiter.api.Test;

/**
 * MySQL stopped for a minute during a stream of sends: the device path (iris.log) keeps moving, the
 * sink stalls and resumes by itself, and MySQL ends with every delta once.
 */
class MysqlOutageIT {
  static final long THREAD = 9_000_001L;
  static final List<Long> MEMBERS = List.of(UserIds.next(), UserIds.next(), UserIds.next());
  static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("outage.seconds", 60));

  /** 0 before the outage, 1 during, 2 after; and send-to-iris.log latencies (ms) per phase. */
  static final AtomicInteger PHASE = new AtomicInteger();

  static final List<List<Long>> LATENCIES =
      List.of(
          java.util.Collections.synchronizedList(new java.util.ArrayList<>()),
          java.util.Collections.synchronizedList(new java.util.ArrayList<>()),
          java.util.Collections.synchronizedList(new java.util.ArrayList<>()));

  static String percentiles(List<Long> ms) {
    List<Long> sorted;
    synchronized (ms) {
      sorted = ms.stream().sorted().toList();
    }
    if (sorted.isEmpty()) {
      return "-";
    }
    return String.format(
        "p50 %d / p99 %d ms",
        sorted.get(sorted.size() / 2),
        sorted.get((int) Math.min(sorted.size() - 1, sorted.size() * 0.99)));
  }

  @Test
  void shouldStallTheSinkOnlyAndLoseOrDoubleNothing() throws Exception {
    IrisStack stack = TestStacks.shared();
    AtomicBoolean sending = new AtomicBoolean(true);
    AtomicInteger sent = new AtomicInteger();
    AtomicLong logDeltas = new AtomicLong();
    Thread sender = new Thread(() -> sendSteadily(stack, sending, sent), "outage-sender");
    Thread device = new Thread(() -> followLog(stack, sending, logDeltas), "outage-device");
    // And real devices: 3 pairs of SDK phones talking through the bridge the whole time.
    Conversations talk =
        new Conversations(stack, UserIds.block(2 * 3), 3, i -> new String[] {StockMqtt.url(stack)});
    Thread phones =
        new Thread(
            () -> {
              while (sending.get()) {
                talk.round();
                Waits.sleep(300);
              }
            },
            "outage-phones");
    long startMs = System.currentTimeMillis();
    device.start();
    sender.start();
    phones.start();

    // The scenario: 5 s of load before the outage (not a wait for a condition).
    Thread.sleep(5_000);
    long beforeOutage = logDeltas.get();
    stack.embeddedMysql().close();
    long downMs = System.currentTimeMillis();
    PHASE.set(1);
    long outageStart = System.nanoTime();
    // The fault is held for OUTAGE while the load goes on.
    Thread.sleep(OUTAGE.toMillis());
    long duringOutage = logDeltas.get() - beforeOutage;
    stack.embeddedMysql().start();
    long upMs = System.currentTimeMillis();
    PHASE.set(2);
    long restartedIn = System.nanoTime() - outageStart;
    // The scenario: 5 s more of load once MySQL is back.
    Thread.sleep(5_000);
    sending.set(false);
    sender.join();
    device.join();
    phones.join();
    long endMs = System.currentTimeMillis();

    long expected = 3L * (sent.get() + 1);
    long rows =
        Waits.every(Duration.ofMillis(500))
            .await(
                "MySQL to hold the thread's " + expected + " deltas",
                Duration.ofSeconds(180),
                () -> rows(stack, "COUNT(*)"),
                n -> n >= expected);
    long caughtUpAt = System.nanoTime();
    talk.check(stack);
    talk.close();
    String deviceLatency =
        String.format(
            "at the SDK devices before %s, during %s, after %s",
            percentiles(talk.latencies(startMs, downMs)),
            percentiles(talk.latencies(downMs, upMs)),
            percentiles(talk.latencies(upMs, endMs + 60_000)));
    assertTrue(beforeOutage > 0, "deltas flowed before the outage");
    assertTrue(
        duringOutage > 50, "the device path kept delivering while MySQL was down: " + duringOutage);
    assertEquals(expected, rows, "every delta in MySQL after it came back");
    for (long user : MEMBERS) {
      try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT COUNT(*), COUNT(DISTINCT message_id), MAX(message_id) FROM iris_deltas"
                      + " WHERE user_id = "
                      + user
                      + " AND kind = 'new_message'")) {
        rs.next();
        assertEquals(sent.get(), rs.getLong(1), "user " + user);
        assertEquals(rs.getLong(1), rs.getLong(2), "no message twice for user " + user);
        assertEquals(rs.getLong(1), rs.getLong(3), "no message missing for user " + user);
      }
    }
    HttpResponse<String> status =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            stack.connectUrl()
                                + "/connectors/"
                                + io.iris.topics.Names.SINK_CONNECTOR
                                + "/status"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertTrue(!status.body().contains("FAILED"), status.body());
    FaultReport.row(
        "MySQL stopped",
        sent.get() + " sends, 3 members",
        OUTAGE.toSeconds() + " s down",
        "0 (MySQL rows = deltas, per user every message once; 6 SDK devices = iris.log = MySQL, "
            + talk.messages()
            + " messages)",
        "0",
        String.format(
            "devices unaffected (%d deltas delivered during the outage; send to iris.log before %s,"
                + " during %s, after %s; %s); MySQL complete %.1f s after it was back",
            duringOutage,
            percentiles(LATENCIES.get(0)),
            percentiles(LATENCIES.get(1)),
            percentiles(LATENCIES.get(2)),
            deviceLatency,
            (caughtUpAt - outageStart - restartedIn) / 1e9));
    System.out.printf(
        "mysql outage: %.0f s down, %d sends, %d deltas delivered on iris.log during the outage, MySQL"
            + " complete %.1f s after it came back, sink task restarts %d%n",
        OUTAGE.toSeconds() * 1.0,
        sent.get(),
        duringOutage,
        (caughtUpAt - outageStart - restartedIn) / 1e9 + 0.0,
        stack.sinkRestarts());
  }

  static long rows(IrisStack stack, String what) throws Exception {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "root", "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT " + what + " FROM iris_deltas WHERE thread_id = " + THREAD)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static void sendSteadily(IrisStack stack, AtomicBoolean sending, AtomicInteger sent) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<Long, byte[]> producer =
        new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer())) {
      long now = System.currentTimeMillis();
      TestStacks.sendCommand(
          producer,
          new ClientCommand(
              MEMBERS.get(0),
              "d",
              "outage-create",
              THREAD,
              now,
              CommandBody.createThread(new CreateThread(MEMBERS.subList(1, 3)))));
      int i = 0;
      while (sending.get()) {
        long sender = MEMBERS.get(i % 3);
        TestStacks.sendCommand(
            producer,
            new ClientCommand(
                sender,
                "d" + sender,
                "outage-" + i,
                THREAD,
                System.currentTimeMillis(),
                CommandBody.sendMessage(new SendMessage("during the outage " + i))));
        sent.incrementAndGet();
        i++;
        Thread.sleep(20); // pacing: 50 sends/s for the whole scenario
      }
      producer.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** What a device sees: deltas of the thread's members arriving on iris.log. */
  static void followLog(IrisStack stack, AtomicBoolean sending, AtomicLong count) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "outage-device");
    try (KafkaConsumer<Long, byte[]> consumer =
        new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.LOG.name()));
      long quietUntil = 0;
      while (sending.get() || System.nanoTime() < quietUntil) {
        for (ConsumerRecord<Long, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (!MEMBERS.contains(r.key())) {
            continue;
          }
          Delta d = FrameCodec.defaults().decode(r.value(), Delta::new);
          if (d.getThreadId() == THREAD) {
            count.incrementAndGet();
            LATENCIES.get(PHASE.get()).add(System.currentTimeMillis() - d.getServerTimestampMs());
          }
        }
        if (!sending.get() && quietUntil == 0) {
          quietUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        }
      }
    }
  }
}
