package io.iris.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.Topics;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * After a fault: what a device ended with, what iris.log holds for its user (read_committed) and
 * what MySQL holds must be the same chain of (position, thread, kind, message id, client id): the
 * same positions, increasing, none missing, none repeated.
 */
public final class ThreeWay {
  private ThreeWay() {}

  /** One delta as all three places can say it. */
  public static String describe(
      long pos, long thread, String kind, long messageId, String clientId) {
    return pos
        + "/"
        + thread
        + "/"
        + kind
        + "/"
        + messageId
        + "/"
        + (clientId == null ? "" : clientId);
  }

  public static String describe(Delta d) {
    var b = d.getBody();
    // newMessage -> new_message, as the sink names kinds
    String kind =
        b.getSetField()
            .getFieldName()
            .replaceAll("([A-Z])", "_$1")
            .toLowerCase(java.util.Locale.ROOT);
    long messageId =
        switch (b.getSetField()) {
          case NEW_MESSAGE -> b.getNewMessage().getMessageId();
          case MESSAGE_EDITED -> b.getMessageEdited().getMessageId();
          case MESSAGE_DELETED -> b.getMessageDeleted().getMessageId();
          case REACTION_CHANGED -> b.getReactionChanged().getMessageId();
          default -> 0;
        };
    String clientId =
        switch (b.getSetField()) {
          case NEW_MESSAGE -> b.getNewMessage().getClientId();
          case THREAD_CREATED -> b.getThreadCreated().getClientId();
          case COMMAND_REJECTED -> b.getCommandRejected().getClientId();
          case MESSAGE_EDITED -> b.getMessageEdited().getClientId();
          case MESSAGE_DELETED -> b.getMessageDeleted().getClientId();
          case REACTION_CHANGED -> b.getReactionChanged().getClientId();
          default -> null;
        };
    return describe(d.getPos(), d.getThreadId(), kind, messageId, clientId);
  }

  /** The same, for a delta read from iris.log at {@code offset} (its position). */
  private static String describe(Delta d, long offset) {
    return describe(d.deepCopy().setPos(offset));
  }

  /** Checks the three agree for {@code user}; returns how many deltas they hold. */
  public static int check(IrisStack stack, long user, List<Delta> device) throws Exception {
    checkAll(stack, Map.of(user, device));
    return device.size();
  }

  /** The same for several users, reading iris.log once. */
  public static void checkAll(IrisStack stack, Map<Long, List<Delta>> devices) throws Exception {
    checkAll(Deployment.of(stack), devices);
  }

  /** {@link #checkAll(IrisStack, Map)} for any deployment. */
  public static void checkAll(Deployment d, Map<Long, List<Delta>> devices) throws Exception {
    Map<Long, List<String>> logs = log(d, devices.keySet());
    for (Map.Entry<Long, List<Delta>> e : devices.entrySet()) {
      compare(d, e.getKey(), e.getValue(), logs.getOrDefault(e.getKey(), List.of()));
    }
  }

  private static void compare(Deployment stack, long user, List<Delta> device, List<String> fromLog)
      throws Exception {
    assertEquals(
        device.stream().map(ThreeWay::describe).toList(),
        fromLog,
        "device and iris.log of user " + user);
    checkMysql(stack, user, device);
  }

  /**
   * Device against MySQL alone: for a test that deleted part of iris.log on purpose, as retention
   * would.
   */
  public static void checkMysql(IrisStack stack, long user, List<Delta> device) throws Exception {
    checkMysql(Deployment.of(stack), user, device);
  }

  private static void checkMysql(Deployment stack, long user, List<Delta> device) throws Exception {
    List<String> fromDevice = device.stream().map(ThreeWay::describe).toList();
    Phone.assertChained(device, -1);
    List<String> fromMysql =
        Waits.every(Duration.ofMillis(500))
            .await(
                "MySQL to hold the " + fromDevice.size() + " deltas of user " + user,
                Duration.ofSeconds(120),
                () -> mysql(stack, user),
                rows -> rows.size() >= fromDevice.size());
    assertEquals(fromDevice, fromMysql, "device and MySQL of user " + user);
  }

  private static Map<Long, List<String>> log(Deployment stack, java.util.Set<Long> users) {
    Properties p = stack.kafka().properties();
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    Map<Long, List<String>> out = new java.util.HashMap<>();
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts =
          c.partitionsFor(Topics.LOG.name()).stream()
              .map(i -> new TopicPartition(Topics.LOG.name(), i.partition()))
              .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      var end = c.endOffsets(parts);
      Waits.await(
          "iris.log read to its end",
          Duration.ofSeconds(60),
          () -> {
            if (parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
              return true;
            }
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
              if (r.key() == null || r.key().length != Long.BYTES) {
                continue;
              }
              long user = ByteBuffer.wrap(r.key()).getLong();
              if (!users.contains(user)) {
                continue;
              }
              try {
                out.computeIfAbsent(user, k -> new ArrayList<>())
                    .add(describe(FrameCodec.defaults().decode(r.value(), Delta::new), r.offset()));
              } catch (FrameException e) {
                // a poison record another test put there on purpose
              }
            }
            return false;
          });
    }
    return out;
  }

  private static List<String> mysql(Deployment stack, long user) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(stack.jdbcUrl(), stack.jdbcUser(), stack.jdbcPassword());
        PreparedStatement q =
            c.prepareStatement(
                "SELECT position, thread_id, kind, COALESCE(message_id, 0), client_id FROM"
                    + " iris_deltas WHERE user_id = ? ORDER BY position")) {
      q.setLong(1, user);
      try (ResultSet rs = q.executeQuery()) {
        while (rs.next()) {
          out.add(
              describe(
                  rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getString(5)));
        }
      }
    }
    return out;
  }
}
