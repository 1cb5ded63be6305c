package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.bridge.down.StoragePointers;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.Snapshot;
import io.iris.storage.SnapshotBuilder;
import io.iris.storage.SnapshotService;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
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
 * Snapshots taken while sends flow through the whole pipeline and the sink lags behind iris.log:
 * each one equals the replay of exactly the user's deltas up to the position it states.
 */
class SnapshotWhileSendingIT {
  static final long USER = UserIds.next();
  // The other two members of thread t: FRIENDS + t and FRIENDS + 5 + t.
  static final long FRIENDS = UserIds.block(10);
  static final long FIRST_THREAD = 8_000_001L;

  @Test
  void everySnapshotShouldReflectExactlyTheDeltasUpToItsPosition() throws Exception {
    IrisStack stack = TestStacks.shared();
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(stack.jdbcUrl());
    hc.setUsername("root");
    hc.setMaximumPoolSize(2);
    List<Snapshot> taken = new ArrayList<>();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    String epoch = stack.bridge().layout().epoch();
    int partition = stack.bridge().layout().partitionOf(USER);
    try (HikariDataSource ds = new HikariDataSource(hc);
        Admin admin = Admin.create(stack.adminConfig());
        KafkaProducer<Long, byte[]> producer =
            new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer())) {
      SnapshotService snapshots = new SnapshotService(ds);
      StoragePointers pointers = new StoragePointers(admin, Duration.ZERO);
      Random r = new Random(5);
      int[] messages = new int[5];
      for (int t = 0; t < 5; t++) {
        TestStacks.sendCommand(
            producer,
            new ClientCommand(
                USER,
                "d",
                "snap-create-" + t,
                FIRST_THREAD + t,
                System.currentTimeMillis(),
                CommandBody.createThread(
                    new CreateThread(List.of(FRIENDS + t, FRIENDS + 5 + t)).setName("t" + t))));
      }
      for (int i = 0; i < 1500; i++) {
        int t = r.nextInt(5);
        long sender = r.nextInt(3) == 0 ? USER : FRIENDS + t;
        CommandBody body;
        if (r.nextInt(10) == 0 && messages[t] > 0) {
          body = CommandBody.markRead(new MarkRead(1 + r.nextInt(messages[t])));
          sender = USER;
        } else {
          body = CommandBody.sendMessage(new SendMessage("m" + i));
          messages[t]++;
        }
        TestStacks.sendCommand(
            producer,
            new ClientCommand(
                sender,
                "d" + sender,
                "snap-" + i,
                FIRST_THREAD + t,
                System.currentTimeMillis(),
                body));
        if (i % 50 == 0) {
          producer.flush();
          // As the bridge takes one: the storage pointer first, then MySQL.
          long storedThrough = pointers.storedThrough(partition);
          taken.add(snapshots.snapshot(USER, 3, 5, storedThrough, epoch));
        }
        // Pacing: sends spread out, so that snapshots fall while the sink lags behind iris.log.
        Thread.sleep(2);
      }
      producer.flush();
    }
    List<Delta> log = readUserLog(stack, Duration.ofSeconds(60));
    long lastPos = log.get(log.size() - 1).getPos();
    assertTrue(
        taken.stream().anyMatch(s -> s.getPos() >= log.get(0).getPos() && s.getPos() < lastPos),
        "some snapshots were taken while MySQL lagged behind iris.log");
    long previous = -1;
    for (Snapshot s : taken) {
      assertTrue(s.getPos() >= previous, "the position never goes back");
      assertEquals(epoch, s.getEpoch());
      previous = s.getPos();
      SnapshotBuilder b = new SnapshotBuilder(USER);
      log.stream().filter(d -> d.getPos() <= s.getPos()).forEach(b::apply);
      assertEquals(
          b.build(3, 5, 0, s.getPos(), epoch),
          s.deepCopy().setTakenAtMs(0),
          "snapshot at position " + s.getPos());
    }
    System.out.printf(
        "snapshots while sending: %d taken, positions %d..%d, the user's deltas %d..%d (%d)%n",
        taken.size(),
        taken.get(0).getPos(),
        taken.get(taken.size() - 1).getPos(),
        log.get(0).getPos(),
        lastPos,
        log.size());
  }

  /** Every delta of the user on iris.log with its position (it settles when no more arrive). */
  static List<Delta> readUserLog(IrisStack stack, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "snapshot-it");
    List<Delta> out = new ArrayList<>();
    try (KafkaConsumer<Long, byte[]> consumer =
        new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.LOG.name()));
      long[] lastNew = {System.nanoTime()};
      Waits.await(
          "no new delta of user " + USER + " on iris.log for 5 s",
          timeout,
          () -> {
            for (ConsumerRecord<Long, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
              // Decode only this user's records: iris.log may hold junk another test put there.
              if (r.key() == USER) {
                out.add(FrameCodec.defaults().decode(r.value(), Delta::new).setPos(r.offset()));
                lastNew[0] = System.nanoTime();
              }
            }
            return System.nanoTime() - lastNew[0] >= Duration.ofSeconds(5).toNanos();
          });
    }
    for (int i = 1; i < out.size(); i++) {
      assertTrue(out.get(i).getPos() > out.get(i - 1).getPos(), "one partition, in order");
    }
    return out;
  }
}
