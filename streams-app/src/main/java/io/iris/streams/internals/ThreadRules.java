package io.iris.streams.internals;

import io.iris.protocol.IdLimits;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongFunction;

/**
 * The rules of a thread, apart from Kafka: whether a decoded command is applied, and what it
 * changes. No store, no clock: the caller passes the time, the thread's state and what was applied
 * before, and gets a {@link Decision} back. {@link CommandProcessor} does the reading, storing and
 * forwarding.
 *
 * <p>The checks run in this order, so a command that breaks several rules gets the first one's
 * rejection: the envelope (ids and key), the command type, typing (never applied), a resend of an
 * applied command, then the command's own rules ({@link #apply}).
 */
public final class ThreadRules {
  /** Largest sender device id and client id, in UTF-8 bytes (the protocol's one rule). */
  static final int MAX_ID_BYTES = IdLimits.MAX_ID_BYTES;

  private final int maxTextBytes;
  private final int maxParticipants;
  private final long dedupWindowMs;

  public ThreadRules(int maxTextBytes, int maxParticipants, Duration dedupWindow) {
    this.maxTextBytes = maxTextBytes;
    this.maxParticipants = maxParticipants;
    this.dedupWindowMs = dedupWindow.toMillis();
  }

  /** What the rules may ask about commands applied before. */
  @FunctionalInterface
  public interface AppliedCommands {
    /** Whether a command with {@code dedupKey} was applied at a time in [fromMs, toMs]. */
    boolean appliedBetween(String dedupKey, long fromMs, long toMs);
  }

  /** What to do with one command. */
  public sealed interface Decision permits Apply, Reject, Ignore {}

  /**
   * Apply: store {@code state} as the thread's, remember {@code dedupKey} at the command's time and
   * send each draft to its user. No drafts means the command already took effect: nobody is told.
   */
  public record Apply(ThreadState state, List<Delta> drafts, String dedupKey) implements Decision {}

  /**
   * Do not apply, for {@code rejection}. When {@code tellSender}, the sender's ids are valid and
   * the sender hears of it in their own queue.
   */
  public record Reject(Rejection rejection, String message, boolean tellSender)
      implements Decision {}

  /** Commands that change nothing and are not rejected either. */
  public enum Ignore implements Decision {
    /** A resend of a command applied within the dedup window. */
    DUPLICATE,
    /** Typing: ephemeral, relayed device to device by the bridge, never in iris.log. */
    TYPING
  }

  /**
   * Decides what to do with {@code command}.
   *
   * @param keyThreadId the thread id the record was keyed by
   * @param nowMs the command's time in the stream (the record timestamp); resends are recognised
   *     within the dedup window either side of it
   * @param threads the state of a thread by id, {@code null} for a thread that does not exist;
   *     asked only when the command gets that far
   * @param applied what was applied before, asked only when the command gets that far
   */
  public Decision decide(
      ClientCommand command,
      long keyThreadId,
      long nowMs,
      LongFunction<ThreadState> threads,
      AppliedCommands applied) {
    String envelopeProblem = envelopeProblem(command, keyThreadId);
    if (envelopeProblem != null) {
      return new Reject(Rejection.INVALID_COMMAND, envelopeProblem, validSender(command));
    }
    CommandBody body = command.getBody();
    if (body.getSetField() == null) {
      return new Reject(
          Rejection.UNSUPPORTED_COMMAND, "command type unknown to this version", true);
    }
    if (body.isSetTyping()) {
      return Ignore.TYPING;
    }
    String dedupKey = dedupKey(command);
    if (applied.appliedBetween(dedupKey, nowMs - dedupWindowMs, nowMs + dedupWindowMs)) {
      return Ignore.DUPLICATE;
    }
    Outcome outcome = apply(command, threads.apply(command.getThreadId()));
    if (outcome.rejection() != null) {
      return new Reject(outcome.rejection(), outcome.message(), true);
    }
    return new Apply(outcome.state(), outcome.drafts(), dedupKey);
  }

  /** The key under which an applied command is remembered: sender, device and client id. */
  public static String dedupKey(ClientCommand c) {
    return c.getSenderUserId() + "/" + c.getSenderDeviceId() + "/" + c.getClientId();
  }

  static boolean validSender(ClientCommand c) {
    return c.getSenderUserId() > 0 && idOk(c.getSenderDeviceId()) && idOk(c.getClientId());
  }

  private static boolean idOk(String id) {
    return IdLimits.validId(id);
  }

  /** What is wrong with the command's ids, or {@code null}. */
  static String envelopeProblem(ClientCommand c, long keyThreadId) {
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

  /**
   * The result of applying one command: the new thread state and drafts, or a rejection (then
   * {@code state} is {@code null}).
   */
  public record Outcome(
      ThreadState state, List<Delta> drafts, Rejection rejection, String message) {
    static Outcome ok(ThreadState state, List<Delta> drafts) {
      return new Outcome(state, drafts, null, null);
    }

    static Outcome no(Rejection rejection, String message) {
      return new Outcome(null, List.of(), rejection, message);
    }
  }

  /**
   * Applies a command with a valid envelope to its thread ({@code null} if it does not exist). The
   * thread passed in is not changed. Each draft is a delta for one user; its position is the offset
   * iris.log gives it.
   */
  public Outcome apply(ClientCommand c, ThreadState thread) {
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

  private static long serverTime(ClientCommand c, ThreadState thread) {
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
    if (members.size() > maxParticipants) {
      return Outcome.no(
          Rejection.TOO_MANY_PARTICIPANTS,
          members.size() + " participants, the limit is " + maxParticipants);
    }
    if (create.isSetName() && tooLong(create.getName())) {
      return Outcome.no(
          Rejection.MESSAGE_TOO_LARGE, "thread name above " + maxTextBytes + " bytes");
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
    return text.getBytes(StandardCharsets.UTF_8).length > maxTextBytes;
  }

  private Outcome send(ClientCommand c, String text, ThreadState thread) {
    if (text == null || text.isBlank()) {
      return Outcome.no(Rejection.EMPTY_TEXT, "message text is empty");
    }
    if (tooLong(text)) {
      return Outcome.no(
          Rejection.MESSAGE_TOO_LARGE,
          "message text is "
              + text.getBytes(StandardCharsets.UTF_8).length
              + " bytes, the limit is "
              + maxTextBytes);
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
    if (members.size() > maxParticipants) {
      return Outcome.no(
          Rejection.TOO_MANY_PARTICIPANTS,
          members.size() + " participants, the limit is " + maxParticipants);
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

  private static Outcome membershipChange(
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

  private static Outcome markRead(ClientCommand c, MarkRead mark, ThreadState thread) {
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
    return new Delta(user, c.getThreadId(), now, body);
  }

  /**
   * The delta that tells the sender of a rejected command why, in their own queue: the command's
   * client id, the rejection's error code and the message. Its server time is the command's receive
   * time.
   */
  public static Delta rejectionDraft(ClientCommand command, Rejection why, String message) {
    return new Delta(
        command.getSenderUserId(),
        command.getThreadId(),
        command.getReceivedAtMs(),
        DeltaBody.commandRejected(
            new CommandRejected(command.getClientId(), why.errorCode(), message)));
  }
}
