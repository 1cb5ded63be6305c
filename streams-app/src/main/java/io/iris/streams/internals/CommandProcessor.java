package io.iris.streams.internals;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.protocol.thrift.ThreadState;
import io.iris.topics.DeadLetters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes, validates and applies the commands of {@code iris.commands} against the thread state
 * kept in this task, and fans each applied command out as one delta draft per member. Input is
 * keyed by thread id, so every command of a thread is applied here, in one order, which is the
 * order every member sees.
 *
 * <p>Nothing that arrives stops it: every rejected record goes to the dead-letter branch as it was
 * received, with the reason in headers, and is counted; a rejected command of a known sender also
 * becomes a {@link CommandRejected} delta in the sender's own queue.
 */
public final class CommandProcessor implements Processor<byte[], byte[], Long, Routed> {
  private static final Logger log = LoggerFactory.getLogger(CommandProcessor.class);
  static final int MAX_ID_BYTES = 64;

  /** Settings of the command rules. */
  public record Rules(
      int maxTextBytes, int maxParticipants, Duration dedupWindow, int maxFrameBytes) {}

  private final Rules rules;
  private final String threadStore;
  private final String dedupStore;
  private final FrameCodec codec;
  private ProcessorContext<Long, Routed> context;
  private KeyValueStore<Long, ThreadState> threads;
  private WindowStore<String, Long> dedup;
  private final Map<Rejection, Sensor> rejected = new EnumMap<>(Rejection.class);
  private Sensor applied;
  private Sensor duplicates;
  private Sensor typingDropped;

  public CommandProcessor(Rules rules, String threadStore, String dedupStore) {
    this.rules = rules;
    this.threadStore = threadStore;
    this.dedupStore = dedupStore;
    this.codec = new FrameCodec(rules.maxFrameBytes()).acceptingText();
  }

  @Override
  public void init(ProcessorContext<Long, Routed> context) {
    this.context = context;
    this.threads = context.getStateStore(threadStore);
    this.dedup = context.getStateStore(dedupStore);
    String task = context.taskId().toString();
    for (Rejection r : Rejection.values()) {
      rejected.put(r, sensor(task, r.metricName()));
    }
    applied = sensor(task, "applied");
    duplicates = sensor(task, "duplicates");
    typingDropped = sensor(task, "typing-dropped");
  }

  private Sensor sensor(String task, String operation) {
    return context
        .metrics()
        .addRateTotalSensor("iris-commands", task, operation, Sensor.RecordingLevel.INFO);
  }

  @Override
  public void close() {
    rejected.values().forEach(s -> context.metrics().removeSensor(s));
    for (Sensor s : List.of(applied, duplicates, typingDropped)) {
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
    String envelopeProblem = envelopeProblem(command, keyThreadId);
    if (envelopeProblem != null) {
      reject(
          record,
          Rejection.INVALID_COMMAND,
          envelopeProblem,
          validSender(command) ? command : null);
      return;
    }
    CommandBody body = command.getBody();
    if (body.getSetField() == null) {
      reject(
          record, Rejection.UNSUPPORTED_COMMAND, "command type unknown to this version", command);
      return;
    }
    if (body.isSetTyping()) {
      // Ephemeral: the bridge relays typing device to device; it never enters iris.log.
      typingDropped.record();
      return;
    }
    String dedupKey =
        command.getSenderUserId() + "/" + command.getSenderDeviceId() + "/" + command.getClientId();
    long ts = record.timestamp();
    if (seen(dedupKey, ts)) {
      duplicates.record();
      return;
    }
    Outcome outcome = apply(command, threads.get(command.getThreadId()));
    if (outcome.rejection != null) {
      reject(record, outcome.rejection, outcome.message, command);
      return;
    }
    dedup.put(dedupKey, ts, ts);
    threads.put(command.getThreadId(), outcome.state);
    for (Delta draft : outcome.drafts) {
      context.forward(
          new Record<Long, Routed>(
              draft.getUserId(), new Routed.UserDelta(draft), ts, new RecordHeaders()));
    }
    applied.record();
  }

  private boolean seen(String dedupKey, long ts) {
    long window = rules.dedupWindow().toMillis();
    try (WindowStoreIterator<Long> it = dedup.fetch(dedupKey, ts - window, ts + window)) {
      return it.hasNext();
    }
  }

  private static boolean validSender(ClientCommand c) {
    return c.getSenderUserId() > 0 && idOk(c.getSenderDeviceId()) && idOk(c.getClientId());
  }

  private static boolean idOk(String id) {
    return id != null
        && !id.isBlank()
        && id.getBytes(StandardCharsets.UTF_8).length <= MAX_ID_BYTES;
  }

  private static String envelopeProblem(ClientCommand c, long keyThreadId) {
    if (c.getSenderUserId() <= 0) {
      return "senderUserId must be positive";
    }
    if (!idOk(c.getSenderDeviceId())) {
      return "senderDeviceId must be 1 to " + MAX_ID_BYTES + " bytes";
    }
    if (!idOk(c.getClientId())) {
      return "clientId must be 1 to " + MAX_ID_BYTES + " bytes";
    }
    if (c.getThreadId() <= 0) {
      return "threadId must be positive";
    }
    if (c.getThreadId() != keyThreadId) {
      return "threadId " + c.getThreadId() + " differs from the record key " + keyThreadId;
    }
    return null;
  }

  /** The result of applying one command: the new thread state and drafts, or a rejection. */
  private record Outcome(
      ThreadState state, List<Delta> drafts, Rejection rejection, String message) {
    static Outcome ok(ThreadState state, List<Delta> drafts) {
      return new Outcome(state, drafts, null, null);
    }

    static Outcome no(Rejection rejection, String message) {
      return new Outcome(null, List.of(), rejection, message);
    }
  }

  private Outcome apply(ClientCommand c, ThreadState thread) {
    CommandBody body = c.getBody();
    if (body.isSetCreateThread()) {
      return create(c, body.getCreateThread(), thread);
    }
    if (thread == null) {
      return Outcome.no(Rejection.UNKNOWN_THREAD, "thread " + c.getThreadId() + " does not exist");
    }
    if (!thread.getParticipantUserIds().contains(c.getSenderUserId())) {
      return Outcome.no(
          Rejection.NOT_A_MEMBER,
          "user " + c.getSenderUserId() + " is not a member of thread " + c.getThreadId());
    }
    if (body.isSetSendMessage()) {
      return send(c, body.getSendMessage().getText(), thread);
    }
    if (body.isSetAddParticipants()) {
      return add(c, body.getAddParticipants(), thread);
    }
    if (body.isSetRemoveParticipants()) {
      return remove(c, body.getRemoveParticipants(), thread);
    }
    if (body.isSetMarkRead()) {
      return markRead(c, body.getMarkRead(), thread);
    }
    return Outcome.no(Rejection.UNSUPPORTED_COMMAND, "command type unknown to this version");
  }

  private long serverTime(ClientCommand c, ThreadState thread) {
    // Monotone per thread even if bridges' clocks differ.
    return thread == null
        ? c.getReceivedAtMs()
        : Math.max(c.getReceivedAtMs(), thread.getLastActivityMs());
  }

  private Outcome create(ClientCommand c, CreateThread create, ThreadState existing) {
    if (existing != null) {
      if (existing.getCreatorUserId() == c.getSenderUserId()
          && existing.getCreatedByClientId().equals(c.getClientId())) {
        // The same create again, after the dedup window: it already took effect.
        return Outcome.ok(existing, List.of());
      }
      return Outcome.no(Rejection.THREAD_EXISTS, "thread " + c.getThreadId() + " already exists");
    }
    Set<Long> members = new LinkedHashSet<>();
    members.add(c.getSenderUserId());
    for (long id : create.getParticipantUserIds()) {
      if (id <= 0) {
        return Outcome.no(
            Rejection.INVALID_PARTICIPANTS, "participant id " + id + " is not positive");
      }
      members.add(id);
    }
    if (members.size() > rules.maxParticipants()) {
      return Outcome.no(
          Rejection.TOO_MANY_PARTICIPANTS,
          members.size() + " participants, the limit is " + rules.maxParticipants());
    }
    if (create.isSetName() && tooLong(create.getName())) {
      return Outcome.no(
          Rejection.TEXT_TOO_LARGE, "thread name above " + rules.maxTextBytes() + " bytes");
    }
    long now = c.getReceivedAtMs();
    List<Long> list = new ArrayList<>(members);
    ThreadState state =
        new ThreadState(
            c.getThreadId(),
            c.getSenderUserId(),
            list,
            0L,
            now,
            now,
            c.getClientId(),
            new HashMap<>());
    if (create.isSetName()) {
      state.setName(create.getName());
    }
    List<Delta> drafts = new ArrayList<>(list.size());
    for (long user : list) {
      ThreadCreated tc = new ThreadCreated(c.getSenderUserId(), list);
      if (create.isSetName()) {
        tc.setName(create.getName());
      }
      if (user == c.getSenderUserId()) {
        tc.setClientId(c.getClientId());
      }
      drafts.add(draft(user, c, now, DeltaBody.threadCreated(tc)));
    }
    return Outcome.ok(state, drafts);
  }

  private boolean tooLong(String text) {
    return text.getBytes(StandardCharsets.UTF_8).length > rules.maxTextBytes();
  }

  private Outcome send(ClientCommand c, String text, ThreadState thread) {
    if (text == null || text.isBlank()) {
      return Outcome.no(Rejection.EMPTY_TEXT, "message text is empty");
    }
    if (tooLong(text)) {
      return Outcome.no(
          Rejection.TEXT_TOO_LARGE,
          "message text is "
              + text.getBytes(StandardCharsets.UTF_8).length
              + " bytes, the limit is "
              + rules.maxTextBytes());
    }
    long now = serverTime(c, thread);
    long messageId = thread.getLastMessageId() + 1;
    ThreadState next = thread.deepCopy().setLastMessageId(messageId).setLastActivityMs(now);
    List<Delta> drafts = new ArrayList<>(thread.getParticipantUserIdsSize());
    for (long user : thread.getParticipantUserIds()) {
      NewMessage m = new NewMessage(messageId, c.getSenderUserId(), text);
      if (user == c.getSenderUserId()) {
        m.setClientId(c.getClientId()).setSenderDeviceId(c.getSenderDeviceId());
      }
      drafts.add(draft(user, c, now, DeltaBody.newMessage(m)));
    }
    return Outcome.ok(next, drafts);
  }

  private Outcome add(ClientCommand c, AddParticipants add, ThreadState thread) {
    Set<Long> members = new LinkedHashSet<>(thread.getParticipantUserIds());
    List<Long> added = new ArrayList<>();
    for (long id : add.getUserIds()) {
      if (id <= 0) {
        return Outcome.no(
            Rejection.INVALID_PARTICIPANTS, "participant id " + id + " is not positive");
      }
      if (members.add(id)) {
        added.add(id);
      }
    }
    if (members.size() > rules.maxParticipants()) {
      return Outcome.no(
          Rejection.TOO_MANY_PARTICIPANTS,
          members.size() + " participants, the limit is " + rules.maxParticipants());
    }
    return membershipChange(c, thread, members, added, List.of(), List.of());
  }

  private Outcome remove(ClientCommand c, RemoveParticipants remove, ThreadState thread) {
    Set<Long> members = new LinkedHashSet<>(thread.getParticipantUserIds());
    List<Long> removed = new ArrayList<>();
    for (long id : remove.getUserIds()) {
      if (!members.contains(id)) {
        if (removed.contains(id)) {
          continue;
        }
        return Outcome.no(Rejection.INVALID_PARTICIPANTS, "user " + id + " is not a member");
      }
      members.remove(id);
      removed.add(id);
    }
    // The removed users learn that they are out, then hear nothing more of the thread.
    return membershipChange(c, thread, members, List.of(), removed, removed);
  }

  private Outcome membershipChange(
      ClientCommand c,
      ThreadState thread,
      Set<Long> members,
      List<Long> added,
      List<Long> removed,
      List<Long> alsoTell) {
    long now = serverTime(c, thread);
    List<Long> after = new ArrayList<>(members);
    ThreadState next = thread.deepCopy().setParticipantUserIds(after).setLastActivityMs(now);
    for (long gone : removed) {
      next.getReadUpTo().remove(gone);
    }
    List<Long> recipients = new ArrayList<>(after);
    recipients.addAll(alsoTell);
    List<Delta> drafts = new ArrayList<>(recipients.size());
    for (long user : recipients) {
      ParticipantsChanged pc = new ParticipantsChanged(c.getSenderUserId(), added, removed, after);
      if (thread.isSetName()) {
        pc.setThreadName(thread.getName());
      }
      if (user == c.getSenderUserId()) {
        pc.setClientId(c.getClientId());
      }
      drafts.add(draft(user, c, now, DeltaBody.participantsChanged(pc)));
    }
    return Outcome.ok(next, drafts);
  }

  private Outcome markRead(ClientCommand c, MarkRead mark, ThreadState thread) {
    long upTo = mark.getUpToMessageId();
    if (upTo <= 0 || upTo > thread.getLastMessageId()) {
      return Outcome.no(
          Rejection.INVALID_READ_MARK,
          "message "
              + upTo
              + " is not in thread "
              + c.getThreadId()
              + " (last is "
              + thread.getLastMessageId()
              + ")");
    }
    long current = thread.getReadUpTo().getOrDefault(c.getSenderUserId(), 0L);
    if (upTo <= current) {
      // Already read that far: nothing changes, nobody is told.
      return Outcome.ok(thread, List.of());
    }
    long now = serverTime(c, thread);
    ThreadState next = thread.deepCopy().setLastActivityMs(now);
    next.getReadUpTo().put(c.getSenderUserId(), upTo);
    List<Delta> drafts = new ArrayList<>(thread.getParticipantUserIdsSize());
    for (long user : thread.getParticipantUserIds()) {
      ReadReceipt rr = new ReadReceipt(c.getSenderUserId(), upTo);
      if (user == c.getSenderUserId()) {
        rr.setClientId(c.getClientId());
      }
      drafts.add(draft(user, c, now, DeltaBody.readReceipt(rr)));
    }
    return Outcome.ok(next, drafts);
  }

  private static Delta draft(long user, ClientCommand c, long now, DeltaBody body) {
    return new Delta(user, 0L, 0L, c.getThreadId(), now, body);
  }

  private void reject(
      Record<byte[], byte[]> record, Rejection why, String message, ClientCommand command) {
    rejected.get(why).record();
    Headers headers = new RecordHeaders();
    record.headers().forEach(headers::add);
    headers.add(DeadLetters.REASON, bytes(why.name()));
    headers.add(DeadLetters.MESSAGE, bytes(message));
    headers.add(DeadLetters.REJECTED_BY, bytes("streams-app"));
    headers.add(DeadLetters.REJECTED_AT, bytes(Long.toString(System.currentTimeMillis())));
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
      CommandRejected cr = new CommandRejected(command.getClientId(), why.errorCode(), message);
      Delta d =
          new Delta(
              command.getSenderUserId(),
              0L,
              0L,
              command.getThreadId(),
              command.getReceivedAtMs(),
              DeltaBody.commandRejected(cr));
      context.forward(
          new Record<Long, Routed>(
              command.getSenderUserId(),
              new Routed.UserDelta(d),
              record.timestamp(),
              new RecordHeaders()));
    }
    if (log.isDebugEnabled()) {
      log.debug("Rejected {}: {}", why, message);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
