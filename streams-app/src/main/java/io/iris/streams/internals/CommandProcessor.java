package io.iris.streams.internals;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.ThreadState;
import io.iris.topics.DeadLetters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes the commands of {@code iris.commands}, has {@link ThreadRules} decide on each against the
 * thread state kept in this task, and carries the decision out: stores the new state, remembers the
 * applied command for dedup, and fans it out as one delta draft per member. Input is keyed by
 * thread id, so every command of a thread is applied here, in one order, which is the order every
 * member sees.
 *
 * <p>The messages store remembers each recent message's {@link MessageFacts} (sender, time,
 * deleted, attachments) so that edits and deletes can be judged: a window store keyed by {@link
 * #messageKey} (16 bytes: thread id, message id), at the message's server time as window timestamp,
 * so that the put of a delete replaces the send's; it drops what is older than the longer of the
 * edit and delete windows and a grace ({@link ThreadRules#MESSAGES_GRACE}).
 *
 * <p>Delivery receipts are batched. An accepted {@code MarkDelivered} only updates the thread's
 * {@link ThreadDeliveries} in the deliveries store and notes the thread in the small
 * deliveries-pending store (thread id to the wall-clock time its first pending mark arrived); a
 * wall-clock punctuator, every {@link Rules#deliveryBatch()}, flushes the threads noted there: one
 * {@link DeliveryUpdate} per sender the marks concern ({@link ThreadRules#deliveryUpdates}), the
 * pending entries cleared, the note deleted. So a thread's senders hear at most once per interval,
 * however many devices marked meanwhile. A batch of zero flushes each mark at once, with no
 * punctuator.
 *
 * <p>Under exactly-once, a punctuation runs on the stream thread between records, and what it
 * forwards and stores belongs to the task's open transaction, committed (or aborted) with the
 * offsets of the marks before it. The pending marks and the note are in stores with changelogs: a
 * crash after marks and before their flush loses nothing (the marks' transaction either committed,
 * and the restored stores still hold them pending, flushed by the first punctuation after the
 * restore, or aborted, and the marks are read again from iris.commands); a crash after a flush and
 * before its commit aborts the flush's deltas with the cleared state, and the next punctuation
 * flushes again. Either way each batch is sent once, possibly a batch interval late.
 *
 * <p>Nothing that arrives stops it: every rejected record goes to the dead-letter branch as it was
 * received, with the reason in headers, and is counted; a rejected command of a known sender also
 * becomes a {@link CommandRejected} delta in the sender's own queue.
 */
public final class CommandProcessor implements Processor<byte[], byte[], Long, Routed> {
  private static final Logger log = LoggerFactory.getLogger(CommandProcessor.class);

  /** Settings of the command rules. */
  public record Rules(
      int maxTextBytes,
      int maxParticipants,
      Duration dedupWindow,
      int maxFrameBytes,
      Duration editWindow,
      Duration deleteWindow,
      int maxPreviewBytes,
      Duration deliveryBatch) {
    /**
     * How long the messages store keeps a message: the longer window and a grace (zero when both
     * windows are: never written).
     */
    public Duration messagesRetention() {
      return ThreadRules.messagesRetention(editWindow, deleteWindow);
    }
  }

  private final ThreadRules rules;
  private final String threadStore;
  private final String dedupStore;
  private final String messagesStore;
  private final String deliveriesStore;
  private final String deliveriesPendingStore;
  private final long deliveryBatchMs;
  private final FrameCodec codec;
  private ProcessorContext<Long, Routed> context;
  private KeyValueStore<Long, ThreadState> threads;
  private WindowStore<String, Long> dedup;
  private WindowStore<byte[], MessageFacts> messages;
  private KeyValueStore<Long, ThreadDeliveries> deliveries;
  private KeyValueStore<Long, Long> deliveriesPending;
  private final Map<Rejection, Sensor> rejected = new EnumMap<>(Rejection.class);
  private Sensor applied;
  private Sensor duplicates;
  private Sensor typingDropped;
  private Sensor deltasOut;
  private Sensor deliveryMarks;
  private Sensor deliveryMarksIgnored;
  private Sensor deliveryUpdates;

  public CommandProcessor(
      Rules rules,
      String threadStore,
      String dedupStore,
      String messagesStore,
      String deliveriesStore,
      String deliveriesPendingStore) {
    this.rules =
        new ThreadRules(
            rules.maxTextBytes(),
            rules.maxParticipants(),
            rules.dedupWindow(),
            rules.editWindow(),
            rules.deleteWindow(),
            rules.maxPreviewBytes());
    this.threadStore = threadStore;
    this.dedupStore = dedupStore;
    this.messagesStore = messagesStore;
    this.deliveriesStore = deliveriesStore;
    this.deliveriesPendingStore = deliveriesPendingStore;
    this.deliveryBatchMs = rules.deliveryBatch().toMillis();
    this.codec = new FrameCodec(rules.maxFrameBytes()).acceptingText();
  }

  @Override
  public void init(ProcessorContext<Long, Routed> context) {
    this.context = context;
    this.threads = context.getStateStore(threadStore);
    this.dedup = context.getStateStore(dedupStore);
    this.messages = context.getStateStore(messagesStore);
    this.deliveries = context.getStateStore(deliveriesStore);
    this.deliveriesPending = context.getStateStore(deliveriesPendingStore);
    String task = context.taskId().toString();
    for (Rejection r : Rejection.values()) {
      rejected.put(r, sensor(task, r.metricName()));
    }
    applied = sensor(task, "applied");
    duplicates = sensor(task, "duplicates");
    typingDropped = sensor(task, "typing-dropped");
    deltasOut = sensor(task, "deltas-out");
    deliveryMarks = sensor(task, "delivery-marks");
    deliveryMarksIgnored = sensor(task, "delivery-marks-ignored");
    deliveryUpdates = sensor(task, "delivery-updates");
    if (deliveryBatchMs > 0) {
      // Wall-clock time: receipts flow while no command arrives (stream time would stand still).
      context.schedule(
          Duration.ofMillis(deliveryBatchMs),
          PunctuationType.WALL_CLOCK_TIME,
          this::flushPendingDeliveries);
    }
  }

  private Sensor sensor(String task, String operation) {
    return context
        .metrics()
        .addRateTotalSensor("iris-commands", task, operation, Sensor.RecordingLevel.INFO);
  }

  @Override
  public void close() {
    rejected.values().forEach(s -> context.metrics().removeSensor(s));
    for (Sensor s :
        List.of(
            applied,
            duplicates,
            typingDropped,
            deltasOut,
            deliveryMarks,
            deliveryMarksIgnored,
            deliveryUpdates)) {
      context.metrics().removeSensor(s);
    }
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    byte[] key = record.key();
    if (key == null || key.length != Long.BYTES) {
      reject(record, Rejection.MALFORMED_KEY, "key must be the 8-byte thread id", null);
      return;
    }
    long keyThreadId = ByteBuffer.wrap(key).getLong();
    ClientCommand command;
    try {
      command = codec.decode(record.value(), ClientCommand::new);
    } catch (FrameException e) {
      reject(record, Rejection.of(e.reason()), e.getMessage(), null);
      return;
    }
    long ts = record.timestamp();
    ThreadRules.Decision decision =
        rules.decide(
            command,
            keyThreadId,
            ts,
            threads::get,
            this::appliedBetween,
            this::recentFacts,
            deliveries::get);
    if (decision instanceof ThreadRules.Apply apply) {
      dedup.put(apply.dedupKey(), ts, ts);
      if (apply.threadChanged()) {
        threads.put(command.getThreadId(), apply.state());
      }
      for (ThreadRules.RememberMessage m : apply.messages()) {
        messages.put(messageKey(m.threadId(), m.messageId()), m.facts(), m.windowTimestamp());
      }
      for (Delta draft : apply.drafts()) {
        forward(draft, ts);
      }
      applied.record();
    } else if (decision instanceof ThreadRules.RecordDelivery mark) {
      recordDelivery(mark, ts);
    } else if (decision instanceof ThreadRules.Reject no) {
      reject(record, no.rejection(), no.message(), no.tellSender() ? command : null);
    } else if (decision == ThreadRules.Ignore.DUPLICATE) {
      duplicates.record();
    } else if (decision == ThreadRules.Ignore.DELIVERED_ALREADY) {
      deliveryMarksIgnored.record();
    } else {
      typingDropped.record();
    }
  }

  /**
   * Stores a moved delivery mark, and flushes it at once or notes the thread for the next flush.
   */
  private void recordDelivery(ThreadRules.RecordDelivery mark, long recordTs) {
    deliveryMarks.record();
    long threadId = mark.threadId();
    if (deliveryBatchMs == 0) {
      if (mark.deliveries().getPendingSize() > 1) {
        // Marks left pending when the batch was not zero yet: flushed now, with this one.
        deliveriesPending.delete(threadId);
      }
      flushDeliveries(threadId, mark.deliveries(), context.currentSystemTimeMs(), recordTs);
      return;
    }
    deliveries.put(threadId, mark.deliveries());
    if (deliveriesPending.get(threadId) == null) {
      deliveriesPending.put(threadId, context.currentSystemTimeMs());
    }
  }

  /** The punctuator: flushes every thread with pending delivery marks. */
  private void flushPendingDeliveries(long nowMs) {
    // Keys first: the flush deletes from the store being iterated.
    List<Long> due = new ArrayList<>();
    try (KeyValueIterator<Long, Long> it = deliveriesPending.all()) {
      it.forEachRemaining(kv -> due.add(kv.key));
    }
    for (long threadId : due) {
      flushDeliveries(threadId, deliveries.get(threadId), nowMs, nowMs);
      deliveriesPending.delete(threadId);
    }
  }

  /**
   * Sends the thread's pending delivery marks to the senders they concern and stores the thread's
   * deliveries with nothing pending.
   */
  private void flushDeliveries(long threadId, ThreadDeliveries pending, long nowMs, long recordTs) {
    ThreadRules.DeliveryFlush flush =
        ThreadRules.deliveryUpdates(threadId, threads.get(threadId), pending, nowMs);
    if (flush == null) {
      return;
    }
    deliveries.put(threadId, flush.deliveries());
    for (Delta draft : flush.drafts()) {
      forward(draft, recordTs);
      deliveryUpdates.record();
    }
  }

  /** Sends a delta draft to its user's queue (iris.log, keyed by user id), and counts it. */
  private void forward(Delta draft, long timestamp) {
    context.forward(
        new Record<Long, Routed>(
            draft.getUserId(), new Routed.UserDelta(draft), timestamp, new RecordHeaders()));
    deltasOut.record();
  }

  private boolean appliedBetween(String dedupKey, long from, long to) {
    try (WindowStoreIterator<Long> it = dedup.fetch(dedupKey, from, to)) {
      return it.hasNext();
    }
  }

  private MessageFacts recentFacts(long threadId, long messageId, long from, long to) {
    MessageFacts newest = null;
    try (WindowStoreIterator<MessageFacts> it =
        messages.fetch(messageKey(threadId, messageId), from, to)) {
      // One window per message (its server time, duplicates not retained); the newest, to be safe.
      while (it.hasNext()) {
        newest = it.next().value;
      }
    }
    return newest;
  }

  /**
   * The messages store's key: thread id and message id, 8 bytes each, big-endian. Fixed size, no
   * text to format or parse per command, and no longer than {@code "threadId:messageId"} once the
   * ids have a few digits (thread ids derived from a hash have 19).
   */
  public static byte[] messageKey(long threadId, long messageId) {
    return ByteBuffer.allocate(2 * Long.BYTES).putLong(threadId).putLong(messageId).array();
  }

  private void reject(
      Record<byte[], byte[]> record, Rejection why, String message, ClientCommand command) {
    rejected.get(why).record();
    Headers headers = new RecordHeaders();
    record.headers().forEach(headers::add);
    headers.add(DeadLetters.REASON, bytes(why.name()));
    headers.add(DeadLetters.MESSAGE, bytes(message));
    headers.add(DeadLetters.REJECTED_BY, bytes("streams-app"));
    headers.add(DeadLetters.REJECTED_AT, bytes(Long.toString(context.currentSystemTimeMs())));
    // A command that came the unkeyed way already names its place in iris.commands.
    context
        .recordMetadata()
        .filter(m -> headers.lastHeader(DeadLetters.SOURCE_TOPIC) == null)
        .ifPresent(
            (RecordMetadata m) -> {
              headers.add(DeadLetters.SOURCE_TOPIC, bytes(m.topic()));
              headers.add(DeadLetters.SOURCE_PARTITION, bytes(Integer.toString(m.partition())));
              headers.add(DeadLetters.SOURCE_OFFSET, bytes(Long.toString(m.offset())));
            });
    context.forward(
        new Record<Long, Routed>(
            null,
            new Routed.DeadLetter(record.key(), record.value()),
            record.timestamp(),
            headers));
    if (command != null) {
      Delta d = ThreadRules.rejectionDraft(command, why, message);
      forward(d, record.timestamp());
    }
    if (log.isDebugEnabled()) {
      log.debug("Rejected {}: {}", why, message);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
