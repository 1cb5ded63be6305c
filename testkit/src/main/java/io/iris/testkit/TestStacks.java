package io.iris.testkit;

import io.iris.bridge.BridgeConfig;
import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.storage.DeltaHistory;
import io.iris.topics.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The embedded stack for integration tests: started once per test JVM on ports from the OS, in a
 * data directory under {@code target/}, stopped and deleted when the JVM exits.
 */
public final class TestStacks {
  private static IrisStack shared;

  private TestStacks() {}

  /** The stack every integration test of this JVM shares. */
  public static synchronized IrisStack shared() {
    if (shared == null) {
      Path dir = newDataDir("shared");
      Map<String, Object> config = ephemeralConfig(dir);
      // Small catch-up tiers, so that tests reach each tier with a few dozen deltas.
      config.put(BridgeConfig.MQTT_TIER1_DELTAS_PER_USER_CONFIG, 8);
      config.put(BridgeConfig.MQTT_RESNAPSHOT_AFTER_DELTAS_CONFIG, 150L);
      // TLS beside plain MQTT, with a certificate made for this run.
      Path keyStore = dir.resolve("edge.p12");
      keyStore(keyStore, TLS_PASSWORD);
      config.put(BridgeConfig.MQTT_TLS_PORT_CONFIG, io.iris.embedded.Ports.freePort());
      config.put(BridgeConfig.MQTT_TLS_KEYSTORE_PATH_CONFIG, keyStore.toString());
      config.put(BridgeConfig.MQTT_TLS_KEYSTORE_PASSWORD_CONFIG, TLS_PASSWORD);
      IrisStack stack = new IrisStack(new IrisConfig(config));
      stack.preflight();
      stack.start(line -> {});
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    stack.close();
                    delete(dir);
                  },
                  "test-stack-shutdown"));
      shared = stack;
    }
    return shared;
  }

  public static final String TLS_PASSWORD = "edge-test-secret";

  public static void keyStore(Path file, String password) {
    io.iris.testkit.SelfSignedTls.keyStore(file, password);
  }

  /** A configuration with every embedded port free and data in {@code dataDir}. */
  public static Map<String, Object> ephemeralConfig(Path dataDir) {
    return IrisConfig.onFreePorts(dataDir);
  }

  public static Path newDataDir(String name) {
    try {
      Path base = Path.of("target", "it-data").toAbsolutePath();
      Files.createDirectories(base);
      return Files.createTempDirectory(base, name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: target/ is cleaned by the next build
    }
  }

  /** A producer of command frames into iris.commands, as the bridge's (acks=all). */
  public static KafkaProducer<Long, byte[]> commandProducer(IrisStack stack) {
    java.util.Properties p = new java.util.Properties();
    p.put(
        org.apache.kafka.clients.producer.ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.bootstrapServers());
    p.put(org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(
        p,
        new org.apache.kafka.common.serialization.LongSerializer(),
        new org.apache.kafka.common.serialization.ByteArraySerializer());
  }

  /** {@code members.get(0)} creates {@code thread} with the other members. */
  public static void createThread(
      KafkaProducer<Long, byte[]> producer,
      long thread,
      java.util.List<Long> members,
      String clientId,
      String name) {
    io.iris.protocol.thrift.CreateThread create =
        new io.iris.protocol.thrift.CreateThread(members.subList(1, members.size()));
    if (name != null) {
      create.setName(name);
    }
    sendCommand(
        producer,
        new ClientCommand(
            members.get(0),
            "d",
            clientId,
            thread,
            System.currentTimeMillis(),
            io.iris.protocol.thrift.CommandBody.createThread(create)));
  }

  /** {@code sender} (device "d" + sender) sends {@code text} into {@code thread}. */
  public static void sendMessage(
      KafkaProducer<Long, byte[]> producer,
      long thread,
      long sender,
      String clientId,
      String text) {
    sendCommand(
        producer,
        new ClientCommand(
            sender,
            "d" + sender,
            clientId,
            thread,
            System.currentTimeMillis(),
            io.iris.protocol.thrift.CommandBody.sendMessage(
                new io.iris.protocol.thrift.SendMessage(text))));
  }

  /** Produces a command to iris.commands as the bridge does: key thread id, value a frame. */
  public static void sendCommand(KafkaProducer<Long, byte[]> producer, ClientCommand c) {
    producer.send(
        new ProducerRecord<>(
            Topics.COMMANDS.name(), c.getThreadId(), FrameCodec.defaults().encode(c)));
  }

  /**
   * Rows of MySQL (at {@code jdbcUrl}, as {@code user}) holding {@code text} for {@code userId}.
   */
  public static long storedMessages(
      String jdbcUrl, String user, String password, long userId, String text) throws Exception {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(jdbcUrl, user, password);
        java.sql.PreparedStatement s =
            c.prepareStatement("SELECT COUNT(*) FROM iris_deltas WHERE user_id = ? AND text = ?")) {
      s.setLong(1, userId);
      s.setString(2, text);
      try (java.sql.ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Waits until the stack's bridge knows at least {@code atLeast} devices. */
  public static void awaitRegistered(IrisStack stack, int atLeast) {
    Waits.await(
        atLeast + " devices registered",
        java.time.Duration.ofSeconds(10),
        () -> stack.devices().size() >= atLeast);
  }

  /**
   * Waits until MySQL holds {@code user}'s deltas up to position {@code pos} and the sink has
   * committed past the partition's end, then deletes the partition's records below its end offset:
   * the log no longer holds the range.
   */
  public static void truncateLogOnceStored(IrisStack stack, long user, long pos) throws Exception {
    com.zaxxer.hikari.HikariConfig hc = new com.zaxxer.hikari.HikariConfig();
    hc.setJdbcUrl(stack.jdbcUrl());
    hc.setUsername("root");
    hc.setMaximumPoolSize(1);
    try (com.zaxxer.hikari.HikariDataSource ds = new com.zaxxer.hikari.HikariDataSource(hc)) {
      DeltaHistory h = new DeltaHistory(ds);
      Waits.ignoringExceptions()
          .await(
              "MySQL at position " + pos, Waits.DEFAULT_TIMEOUT, () -> h.maxPosition(user) >= pos);
    }
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (Admin admin = Admin.create(p)) {
      TopicPartition tp =
          new TopicPartition(Topics.LOG.name(), stack.bridge().layout().partitionOf(user));
      long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
      Waits.ignoringExceptions()
          .await(
              "the sink past offset " + end,
              Waits.DEFAULT_TIMEOUT,
              () -> {
                Map<TopicPartition, OffsetAndMetadata> committed =
                    admin
                        .listConsumerGroupOffsets(io.iris.topics.Names.SINK_GROUP)
                        .partitionsToOffsetAndMetadata()
                        .get();
                OffsetAndMetadata o = committed.get(tp);
                // The last offset is the commit marker of the last transaction, never consumed.
                return o != null && o.offset() >= end - 1;
              });
      admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(end))).all().get();
    }
  }

  /**
   * A second, bridge-only process beside {@code shared} (as {@code iris bridge} runs it): same
   * Kafka and MySQL, its own MQTT port, no streams app, no Connect. The caller closes it.
   */
  public static IrisStack bridgeBeside(IrisStack shared, Path dir) {
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    c.put(IrisConfig.KAFKA_BOOTSTRAP_CONFIG, shared.bootstrapServers());
    c.put(IrisConfig.MYSQL_URL_CONFIG, shared.jdbcUrl());
    c.put(IrisConfig.MYSQL_USER_CONFIG, "root");
    c.put(IrisConfig.RUN_STREAMS_CONFIG, false);
    c.put(IrisConfig.RUN_CONNECT_CONFIG, false);
    IrisStack b = new IrisStack(new IrisConfig(c));
    b.preflight();
    b.start(line -> {});
    return b;
  }

  /** How many deltas each catch-up tier served so far: keys deltas-memory, -log, -storage. */
  public static Map<String, Long> tierCounts(IrisStack stack) {
    Map<String, Long> m = new java.util.TreeMap<>();
    for (String tier : java.util.List.of("memory", "log", "storage")) {
      m.put("deltas-" + tier, stack.catchUp().count("deltas-" + tier));
    }
    return m;
  }

  /** What each tier served between two {@link #tierCounts} readings. */
  public static Map<String, Long> servedSince(IrisStack stack, Map<String, Long> before) {
    Map<String, Long> m = new java.util.TreeMap<>();
    tierCounts(stack).forEach((k, v) -> m.put(k, v - before.getOrDefault(k, 0L)));
    return m;
  }

  /** A {@link #servedSince} result for a report: "log 86 + storage 1", the tiers that served. */
  public static String describeServed(Map<String, Long> served) {
    java.util.List<String> parts = new java.util.ArrayList<>();
    served.forEach(
        (k, v) -> {
          if (v > 0) {
            parts.add(String.format("%s %,d", k.substring("deltas-".length()), v));
          }
        });
    return String.join(" + ", parts);
  }
}
