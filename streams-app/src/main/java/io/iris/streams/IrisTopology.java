package io.iris.streams;

import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.ThreadState;
import io.iris.streams.internals.CommandProcessor;
import io.iris.streams.internals.KeyByThread;
import io.iris.streams.internals.Routed;
import io.iris.topics.Topics;
import io.iris.topics.serde.DeltaSerde;
import io.iris.topics.serde.ThriftSerde;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The Iris topology: {@code iris.commands} (key thread id) in, {@code iris.log} (key user id) and
 * {@code iris.dlq} out.
 *
 * <pre>
 * commands-source ─┬─ keyed ────────────────────────────────────┬─▶ apply-commands ─▶ route ─┐
 *   (bytes)        └─ no key ─▶ key-by-thread ─▶ commands-by-thread ┘   [threads, dedup,        │
 *                                                                        messages, deliveries,  │
 *                                                                        deliveries-pending]    │
 *                               (text frames, "@" client ids)  (repartition)                    │
 *   ┌───────────────────────────────────────────────────────────────────────────────────────────┘
 *   ├─▶ dead-letters ─▶ dlq-sink (iris.dlq)
 *   └─▶ log-sink (iris.log, key user id: one delta per member)
 * </pre>
 *
 * <p>The thread's task writes each member's delta straight into iris.log, in the same exactly-once
 * transaction that updates the thread state and the dedup and messages windows: one hop, one
 * commit, from a command to every device. Delivery receipts take the same way, batched by a
 * wall-clock punctuator of the same task ({@link CommandProcessor}). A delta's position is the
 * offset the log gives it (Iris v2); nothing here counts per user. The default partitioner keeps
 * each user in one partition of iris.log.
 *
 * <p>The keyed path is the product path (the bridge keys every command by thread id); the unkeyed
 * path serves producers that cannot set a key, such as {@code kafka-producer-perf-test}.
 *
 * <p>Every processor, store and the repartition topic is named, so the topology can change without
 * orphaning state (the changelogs are {@code <application.id>-threads-changelog} and so on).
 */
public final class IrisTopology {
  public static final String SOURCE = "commands-source";
  public static final String APPLY = "apply-commands";
  public static final String THREADS_STORE = "threads";
  public static final String DEDUP_STORE = "dedup";

  /** What each recent message's edits and deletes are judged by ({@link MessageFacts}). */
  public static final String MESSAGES_STORE = "messages";

  /** Each thread's delivery marks per device, and those not yet sent ({@link ThreadDeliveries}). */
  public static final String DELIVERIES_STORE = "deliveries";

  /** The threads with delivery marks to send at the next flush (thread id to first mark's time). */
  public static final String DELIVERIES_PENDING_STORE = "deliveries-pending";

  public static final String KEY_BY_THREAD = "key-by-thread";
  public static final String COMMANDS_BY_THREAD = "commands-by-thread";

  private IrisTopology() {}

  /** Builds the topology; the same method serves {@code main} and the tests. */
  public static Topology build(StreamsAppConfig config) {
    StreamsBuilder builder = new StreamsBuilder();
    CommandProcessor.Rules rules =
        new CommandProcessor.Rules(
            config.maxTextBytes(),
            config.maxParticipants(),
            config.dedupWindow(),
            config.maxFrameBytes(),
            config.editWindow(),
            config.deleteWindow(),
            config.maxPreviewBytes(),
            config.deliveryBatch());
    Duration window = config.dedupWindow();

    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(THREADS_STORE),
                Serdes.Long(),
                new ThriftSerde<>(ThreadState::new))
            .withCachingEnabled());
    builder.addStateStore(
        Stores.windowStoreBuilder(
            // Retention twice the window: a resend is recognised up to a window after the first.
            Stores.persistentWindowStore(DEDUP_STORE, window.multipliedBy(2), window, false),
            Serdes.String(),
            Serdes.Long()));
    // One record per message for the longer of the edit and delete windows (and a minute's grace),
    // at the message's server time: a delete's put replaces the send's. Added even when both
    // windows are zero (then never written), so that the topology and its changelogs do not depend
    // on the settings.
    Duration messagesRetention = rules.messagesRetention();
    builder.addStateStore(
        Stores.windowStoreBuilder(
            Stores.persistentWindowStore(
                MESSAGES_STORE, messagesRetention, messagesRetention, false),
            Serdes.ByteArray(),
            new ThriftSerde<>(MessageFacts::new)));
    // Delivery marks: one record per thread (each device's mark and the pending ones), rewritten
    // by every mark; the cache absorbs a batch interval's rewrites of a busy thread between
    // commits. The pending index is small (threads marked since the last flush) and its entries
    // are deleted by the flush, often before a commit writes them. Both added whatever the batch.
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(DELIVERIES_STORE),
                Serdes.Long(),
                new ThriftSerde<>(ThreadDeliveries::new))
            .withCachingEnabled());
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(DELIVERIES_PENDING_STORE),
                Serdes.Long(),
                Serdes.Long())
            .withCachingEnabled());

    Map<String, KStream<byte[], byte[]>> ingress =
        builder.stream(
                Topics.COMMANDS.name(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(SOURCE))
            .split(Named.as("ingress-"))
            .branch((k, v) -> k == null, Branched.as("unkeyed"))
            .defaultBranch(Branched.as("keyed"));
    KStream<byte[], byte[]> keyedByThread =
        ingress
            .get("ingress-unkeyed")
            .process(() -> new KeyByThread(config.maxFrameBytes()), Named.as(KEY_BY_THREAD))
            .repartition(
                Repartitioned.with(Serdes.ByteArray(), Serdes.ByteArray())
                    .withName(COMMANDS_BY_THREAD));

    KStream<Long, Routed> routed =
        ingress
            .get("ingress-keyed")
            .merge(keyedByThread, Named.as("all-commands"))
            .process(
                () ->
                    new CommandProcessor(
                        rules,
                        THREADS_STORE,
                        DEDUP_STORE,
                        MESSAGES_STORE,
                        DELIVERIES_STORE,
                        DELIVERIES_PENDING_STORE),
                Named.as(APPLY),
                THREADS_STORE,
                DEDUP_STORE,
                MESSAGES_STORE,
                DELIVERIES_STORE,
                DELIVERIES_PENDING_STORE);

    Map<String, KStream<Long, Routed>> branches =
        routed
            .split(Named.as("route-"))
            .branch((k, v) -> v instanceof Routed.DeadLetter, Branched.as("dead-letters"))
            .defaultBranch(Branched.as("deltas"));

    branches
        .get("route-dead-letters")
        .map(
            (k, v) -> {
              Routed.DeadLetter d = (Routed.DeadLetter) v;
              return KeyValue.pair(d.key(), d.value());
            },
            Named.as("unwrap-dead-letters"))
        .to(
            Topics.DLQ.name(),
            Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("dlq-sink"));

    DeltaSerde deltas = new DeltaSerde();
    branches
        .get("route-deltas")
        .mapValues(v -> ((Routed.UserDelta) v).delta(), Named.as("unwrap-deltas"))
        .to(Topics.LOG.name(), Produced.with(Serdes.Long(), deltas).withName("log-sink"));

    return builder.build();
  }
}
