package io.iris.streams;

import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.streams.StreamsConfig;

/** Configuration of the streams app: the command rules and how Kafka Streams runs them. */
public final class StreamsAppConfig extends AbstractConfig {

  public static final String APPLICATION_ID_CONFIG = "streams.application.id";
  private static final String APPLICATION_ID_DOC =
      "Kafka Streams application id: the consumer group on iris.commands and the prefix of the"
          + " app's internal topics. Every instance of one deployment uses the same id.";

  public static final String PROCESSING_GUARANTEE_CONFIG = "streams.processing.guarantee";
  private static final String PROCESSING_GUARANTEE_DOC =
      "exactly_once_v2 (default) applies each command once and writes its deltas with the thread"
          + " state in one transaction, so a crash never repeats nor loses a delta; at_least_once"
          + " can repeat deltas after a crash and is for experiments only.";

  public static final String NUM_THREADS_CONFIG = "streams.num.threads";
  private static final String NUM_THREADS_DOC = "Stream threads per instance.";

  public static final String COMMIT_INTERVAL_MS_CONFIG = "streams.commit.interval.ms";
  private static final String COMMIT_INTERVAL_MS_DOC =
      "How often a transaction commits: the upper bound of added delivery latency under"
          + " exactly_once_v2.";

  public static final String MAX_TASK_IDLE_MS_CONFIG = "streams.max.task.idle.ms";
  private static final String MAX_TASK_IDLE_MS_DOC =
      "Kafka Streams' max.task.idle.ms: how long a task with several input partitions (iris.commands"
          + " and the commands-by-thread repartition of unkeyed commands) waits for data on all of"
          + " them. 0 (default, Kafka's): no extra wait. -1 (never wait for lagging partitions)"
          + " measured 4x worse p50 and 10x worse p99 on the bench edge run here.";

  public static final String TRANSACTIONAL_STATE_STORES_CONFIG =
      "streams.transactional.state.stores";
  private static final String TRANSACTIONAL_STATE_STORES_DOC =
      "Kafka Streams' enable.transactional.statestores (KIP-892): the stores buffer writes until"
          + " their changelog transaction commits. Off by default, by measurement (./iris bench"
          + " recovery, ./iris bench edge): with the Kafka 4.4 jars an unclean start still wipes"
          + " the stores and restores every changelog (its start-up store check is made"
          + " non-transactional), so recovery after kill -9 was no faster (1M commands of history:"
          + " 19-20 s on, 14-23 s off), while the write buffer cost latency (bench edge p50/p99"
          + " 203/498 ms on, 156-165/267-310 off) and a tenth of the stream thread's time (a"
          + " TreeMap copy per dedup lookup). Turn it on once Kafka honours it at start-up.";

  public static final String SESSION_TIMEOUT_MS_CONFIG = "streams.session.timeout.ms";
  private static final String SESSION_TIMEOUT_MS_DOC =
      "How long the group waits for an instance that stopped without leaving (killed, crashed)"
          + " before its partitions move to the others: the worst-case pause after a hard failure.";

  public static final String STALL_TIMEOUT_MS_CONFIG = "streams.stall.timeout.ms";
  private static final String STALL_TIMEOUT_MS_DOC =
      "How long an instance may go without a commit while commands wait for it before its"
          + " /health fails (component streams-commits): a transaction hanging at its coordinator"
          + " leaves the instance RUNNING but stalled, and a supervisor should restart it. 0: never.";

  public static final String NUM_STANDBY_REPLICAS_CONFIG = "streams.num.standby.replicas";
  private static final String NUM_STANDBY_REPLICAS_DOC =
      "Kafka Streams' num.standby.replicas: how many other instances keep a warm copy of each"
          + " task's stores (the thread states, the dedup window, the recent messages and the"
          + " delivery marks), so that a task moved off a failed instance resumes without"
          + " restoring its changelogs from the start. Needs as many instances beyond the one"
          + " running the task; 1 in a cluster of two or more.";

  public static final String STATIC_MEMBERSHIP_CONFIG = "streams.static.membership";
  private static final String STATIC_MEMBERSHIP_DOC =
      "Join the group as a static member (Kafka's group.instance.id): an instance killed and"
          + " restarted on the same state directory within the session timeout takes its tasks"
          + " back at once, without a rebalance and without waiting for the dead member's session"
          + " to expire (measured: ./iris bench recovery). A clean stop still leaves the group at"
          + " once. false: dynamic membership, a restart after a crash waits for the session"
          + " timeout.";

  public static final String GROUP_INSTANCE_ID_CONFIG = "streams.group.instance.id";
  private static final String GROUP_INSTANCE_ID_DOC =
      "This instance's static member id (Kafka Streams adds the stream thread's number), as"
          + " kafka-consumer-groups --describe --members shows it. Empty (default): generated on"
          + " the first start and kept in the state directory (file iris-group-instance-id), so it"
          + " belongs to the state and no two instances can share it by accident. Two live"
          + " instances with the same id fence each other: give each its own.";

  public static final String REPLICATION_FACTOR_CONFIG = "streams.replication.factor";
  private static final String REPLICATION_FACTOR_DOC =
      "Replication factor of the app's internal topics (changelogs, repartition); -1 takes the"
          + " broker's default.";

  public static final String MAX_TEXT_BYTES_CONFIG = "commands.max.text.bytes";
  private static final String MAX_TEXT_BYTES_DOC =
      "Largest message text in UTF-8 bytes; longer sends are rejected (MESSAGE_TOO_LARGE).";

  public static final String MAX_PARTICIPANTS_CONFIG = "commands.max.participants";
  private static final String MAX_PARTICIPANTS_DOC =
      "Most members a thread may have; commands that exceed it are rejected (TOO_MANY_PARTICIPANTS).";

  public static final String DEDUP_WINDOW_MS_CONFIG = "commands.dedup.window.ms";
  private static final String DEDUP_WINDOW_MS_DOC =
      "How long a (sender, device, client id) is remembered: a resend within this window has no"
          + " effect. Bounds the dedup store.";

  public static final String EDIT_WINDOW_MS_CONFIG = "commands.edit.window.ms";
  private static final String EDIT_WINDOW_MS_DOC =
      "How long after a message its sender may edit it; later edits are rejected"
          + " (EDIT_WINDOW_PASSED). 0: no edits. The messages store keeps one small record per"
          + " message (sender, time, deleted, has attachments) for the longer of this and"
          + " commands.delete.window.ms, plus a minute: a longer window costs disk, and a longer"
          + " changelog to restore after an unclean stop.";

  public static final String DELETE_WINDOW_MS_CONFIG = "commands.delete.window.ms";
  private static final String DELETE_WINDOW_MS_DOC =
      "How long after a message its sender may delete it for everyone; later deletes are rejected"
          + " (DELETE_WINDOW_PASSED). 0: no deletes. Bounds the messages store with"
          + " commands.edit.window.ms (see there); both 0: the store is never written (one"
          + " changelog append per message less: about a fifth more commands/s in ./iris bench"
          + " streams).";

  public static final String MAX_PREVIEW_BYTES_CONFIG = "commands.max.preview.bytes";
  private static final String MAX_PREVIEW_BYTES_DOC =
      "Largest attachment preview (a thumbnail carried in the message) in bytes; a larger one is"
          + " rejected (INVALID_ATTACHMENT). Each preview is copied into every member's delta, in"
          + " iris.log and in MySQL.";

  public static final String DELIVERY_BATCH_MS_CONFIG = "commands.delivery.batch.ms";
  private static final String DELIVERY_BATCH_MS_DOC =
      "How often a thread's new delivery marks (a device holds its messages up to an id, from the"
          + " device's Acks) are sent to the members whose messages they cover: at most one"
          + " DeliveryUpdate per member and thread per interval, however many devices acknowledged"
          + " meanwhile (in a group of 250 members, one instead of hundreds). A longer interval"
          + " sends fewer deltas and shows a receipt later. 0: no batching, each mark is sent at"
          + " once.";

  public static final String MAX_FRAME_BYTES_CONFIG = "commands.max.frame.bytes";
  private static final String MAX_FRAME_BYTES_DOC =
      "Largest command frame accepted from iris.commands; larger ones go to iris.dlq.";

  public static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              APPLICATION_ID_CONFIG,
              Type.STRING,
              io.iris.topics.Names.STREAMS_APPLICATION_ID,
              Importance.HIGH,
              APPLICATION_ID_DOC)
          .define(
              PROCESSING_GUARANTEE_CONFIG,
              Type.STRING,
              StreamsConfig.EXACTLY_ONCE_V2,
              ValidString.in(StreamsConfig.EXACTLY_ONCE_V2, StreamsConfig.AT_LEAST_ONCE),
              Importance.HIGH,
              PROCESSING_GUARANTEE_DOC)
          .define(
              NUM_THREADS_CONFIG,
              Type.INT,
              1,
              Range.between(1, 64),
              Importance.MEDIUM,
              NUM_THREADS_DOC)
          .define(
              COMMIT_INTERVAL_MS_CONFIG,
              Type.LONG,
              100L,
              Range.atLeast(1),
              Importance.MEDIUM,
              COMMIT_INTERVAL_MS_DOC)
          .define(
              MAX_TASK_IDLE_MS_CONFIG,
              Type.LONG,
              0L,
              Range.atLeast(-1),
              Importance.LOW,
              MAX_TASK_IDLE_MS_DOC)
          .define(
              TRANSACTIONAL_STATE_STORES_CONFIG,
              Type.BOOLEAN,
              false,
              Importance.MEDIUM,
              TRANSACTIONAL_STATE_STORES_DOC)
          .define(
              SESSION_TIMEOUT_MS_CONFIG,
              Type.INT,
              45_000,
              Range.between(6_000, 300_000),
              Importance.LOW,
              SESSION_TIMEOUT_MS_DOC)
          .define(
              STATIC_MEMBERSHIP_CONFIG,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              STATIC_MEMBERSHIP_DOC)
          .define(GROUP_INSTANCE_ID_CONFIG, Type.STRING, "", Importance.LOW, GROUP_INSTANCE_ID_DOC)
          .define(
              STALL_TIMEOUT_MS_CONFIG,
              Type.LONG,
              300_000L,
              Range.atLeast(0),
              Importance.LOW,
              STALL_TIMEOUT_MS_DOC)
          .define(
              NUM_STANDBY_REPLICAS_CONFIG,
              Type.INT,
              0,
              Range.between(0, 10),
              Importance.MEDIUM,
              NUM_STANDBY_REPLICAS_DOC)
          .define(
              REPLICATION_FACTOR_CONFIG,
              Type.INT,
              -1,
              Range.between(-1, 32767),
              Importance.MEDIUM,
              REPLICATION_FACTOR_DOC)
          .define(
              MAX_TEXT_BYTES_CONFIG,
              Type.INT,
              10_000,
              Range.between(1, 1 << 20),
              Importance.MEDIUM,
              MAX_TEXT_BYTES_DOC)
          .define(
              MAX_PARTICIPANTS_CONFIG,
              Type.INT,
              250,
              Range.between(2, 100_000),
              Importance.MEDIUM,
              MAX_PARTICIPANTS_DOC)
          .define(
              DEDUP_WINDOW_MS_CONFIG,
              Type.LONG,
              Duration.ofDays(1).toMillis(),
              Range.atLeast(1000),
              Importance.MEDIUM,
              DEDUP_WINDOW_MS_DOC)
          .define(
              EDIT_WINDOW_MS_CONFIG,
              Type.LONG,
              Duration.ofMinutes(15).toMillis(),
              Range.between(0, Duration.ofDays(30).toMillis()),
              Importance.MEDIUM,
              EDIT_WINDOW_MS_DOC)
          .define(
              DELETE_WINDOW_MS_CONFIG,
              Type.LONG,
              Duration.ofHours(1).toMillis(),
              Range.between(0, Duration.ofDays(30).toMillis()),
              Importance.MEDIUM,
              DELETE_WINDOW_MS_DOC)
          .define(
              MAX_PREVIEW_BYTES_CONFIG,
              Type.INT,
              2048,
              Range.between(0, 1 << 20),
              Importance.LOW,
              MAX_PREVIEW_BYTES_DOC)
          .define(
              DELIVERY_BATCH_MS_CONFIG,
              Type.LONG,
              1000L,
              Range.between(0, 60_000),
              Importance.LOW,
              DELIVERY_BATCH_MS_DOC)
          .define(
              MAX_FRAME_BYTES_CONFIG,
              Type.INT,
              64 * 1024,
              Range.between(64, 16 << 20),
              Importance.LOW,
              MAX_FRAME_BYTES_DOC);

  public StreamsAppConfig(Map<?, ?> originals) {
    super(CONFIG, originals, false);
  }

  public int maxTextBytes() {
    return getInt(MAX_TEXT_BYTES_CONFIG);
  }

  public int maxParticipants() {
    return getInt(MAX_PARTICIPANTS_CONFIG);
  }

  public Duration dedupWindow() {
    return Duration.ofMillis(getLong(DEDUP_WINDOW_MS_CONFIG));
  }

  public int maxFrameBytes() {
    return getInt(MAX_FRAME_BYTES_CONFIG);
  }

  public Duration editWindow() {
    return Duration.ofMillis(getLong(EDIT_WINDOW_MS_CONFIG));
  }

  public Duration deleteWindow() {
    return Duration.ofMillis(getLong(DELETE_WINDOW_MS_CONFIG));
  }

  public int maxPreviewBytes() {
    return getInt(MAX_PREVIEW_BYTES_CONFIG);
  }

  public Duration deliveryBatch() {
    return Duration.ofMillis(getLong(DELIVERY_BATCH_MS_CONFIG));
  }
}
