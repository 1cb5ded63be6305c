package io.iris.streams.internals;

import io.iris.protocol.IdLimits;
import io.iris.protocol.thrift.AddParticipants;
import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.DeleteMessage;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.EditMessage;
import io.iris.protocol.thrift.MarkDelivered;
import io.iris.protocol.thrift.MarkRead;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.MessageFacts;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.React;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.RemoveParticipants;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.protocol.thrift.ThreadDeliveries;
import io.iris.protocol.thrift.ThreadState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongFunction;

/**
 * The rules of a thread, apart from Kafka: whether a decoded command is applied, and what it
 * changes. No store, no clock: the caller passes the time, the thread's state, what was applied
 * before and what is known of the thread's recent messages, and gets a {@link Decision} back.
 * {@link CommandProcessor} does the reading, storing and forwarding.
 *
 * <p>The checks run in this order, so a command that breaks several rules gets the first one's
 * rejection: the envelope (ids and key), the command type, typing (never applied), a resend of an
 * applied command, then the command's own rules ({@link #apply}): the thread exists, the sender is
 * a member, then per command type. For a send: the attachments, empty text, the text's size. For an
 * edit: the message id, the message's facts (unknown: the window passed), its sender, deleted, the
 * edit window, empty text, the text's size. For a delete: the message id, its facts (unknown: the
 * window passed), its sender, deleted already, the delete window. For a reaction: the message id,
 * the emoji's size, deleted (only when the facts are still known: a reaction has no time limit).
 *
 * <p>Edits and deletes are judged by what the messages store remembers of a message ({@link
 * MessageFacts}: sender, time, deleted, attachments), kept a little longer than the longer of the
 * two windows; a message it no longer knows is past both. The windows are measured in the thread's
 * server time (the time of its deltas, never going back), the same clock as the message's time.
 * Edits, deletes and reactions do not change the thread state: they do not reorder anyone's inbox.
 *
 * <p>Delivery marks ({@link MarkDelivered}, written by the bridge from a device's Ack, never sent
 * by the device as a command) are judged apart ({@link #markDelivered}): no resend check (a mark is
 * idempotent: one at or below the device's current one changes nothing), and a rejection is never
 * told to the sender, who did not send it. An accepted mark is stored in the thread's {@link
 * ThreadDeliveries}, with no delta: the caller sends the senders one {@link DeliveryUpdate} per
 * batch ({@link #deliveryUpdates}).
 */
public final class ThreadRules {
  /** Largest sender device id and client id, in UTF-8 bytes (the protocol's one rule). */
  static final int MAX_ID_BYTES = IdLimits.MAX_ID_BYTES;

  /** Most attachments one message may carry. */
  static final int MAX_ATTACHMENTS = 10;

  /** Largest attachment content type and name, in UTF-8 bytes. */
  static final int MAX_ATTACHMENT_LABEL_BYTES = 255;

  /** Largest attachment url, in UTF-8 bytes. */
  static final int MAX_ATTACHMENT_URL_BYTES = 1024;

  /** The size of an attachment's SHA-256. */
  static final int SHA256_BYTES = 32;

  /** Largest reaction, in UTF-8 bytes: one emoji, however many code points it takes. */
  static final int MAX_EMOJI_BYTES = 64;

  private final int maxTextBytes;
  private final int maxParticipants;
  private final long dedupWindowMs;
  private final long editWindowMs;
  private final long deleteWindowMs;
  private final int maxPreviewBytes;

  /**
   * @param editWindow how long after a message its sender may edit it; zero: never
   * @param deleteWindow how long after a message its sender may delete it; zero: never
   * @param maxPreviewBytes largest attachment preview
   */
  public ThreadRules(
      int maxTextBytes,
      int maxParticipants,
      Duration dedupWindow,
      Duration editWindow,
      Duration deleteWindow,
      int maxPreviewBytes) {
    this.maxTextBytes = maxTextBytes;
    this.maxParticipants = maxParticipants;
    this.dedupWindowMs = dedupWindow.toMillis();
    this.editWindowMs = editWindow.toMillis();
    this.deleteWindowMs = deleteWindow.toMillis();
    this.maxPreviewBytes = maxPreviewBytes;
  }

  /**
   * Added to the longer window for the messages store's retention. The store drops what is older
   * than its retention measured from the newest message it holds of any thread of the task, while
   * the rules measure from the thread's own server time: without a margin, a message at exactly the
   * window's end would be gone when another thread, on a bridge whose clock runs ahead, has moved
   * the store's time on.
   */
  public static final Duration MESSAGES_GRACE = Duration.ofMinutes(1);

  /**
   * How long the messages store must keep a message's facts: the longer of the two windows, plus
   * {@link #MESSAGES_GRACE}. Zero when both windows are: edits and deletes are off, the store is
   * never written nor read.
   */
  public static Duration messagesRetention(Duration editWindow, Duration deleteWindow) {
    Duration longer = editWindow.compareTo(deleteWindow) >= 0 ? editWindow : deleteWindow;
    return longer.isZero() ? Duration.ZERO : longer.plus(MESSAGES_GRACE);
  }

  /** What the rules may ask about commands applied before. */
  @FunctionalInterface
  public interface AppliedCommands {
    /** Whether a command with {@code dedupKey} was applied at a time in [fromMs, toMs]. */
    boolean appliedBetween(String dedupKey, long fromMs, long toMs);
  }

  /** What the rules may ask about the recent messages of a thread. */
  @FunctionalInterface
  public interface RecentMessages {
    /**
     * The facts of message {@code messageId} of thread {@code threadId} if it was sent at a time in
     * [fromMs, toMs] and is still remembered, else {@code null}.
     */
    MessageFacts facts(long threadId, long messageId, long fromMs, long toMs);
  }

  /** No recent message known: for callers that have no messages store. */
  public static final RecentMessages NO_RECENT_MESSAGES = (t, m, from, to) -> null;

  /** What the rules may ask about the delivery marks of a thread. */
  @FunctionalInterface
  public interface DeliveryMarks {
    /** The delivery marks of thread {@code threadId}, {@code null} when none was ever recorded. */
    ThreadDeliveries of(long threadId);
  }

  /**
   * Facts to store for message {@code messageId} of thread {@code threadId}, at the window
   * timestamp {@link #windowTimestamp()} (the message's server time): a later put for the same
   * message replaces the earlier one.
   */
  public record RememberMessage(long threadId, long messageId, MessageFacts facts) {
    public long windowTimestamp() {
      return facts.getSentAtMs();
    }
  }

  /** What to do with one command. */
  public sealed interface Decision permits Apply, RecordDelivery, Reject, Ignore {}

  /**
   * Apply: store {@code state} as the thread's (when {@code threadChanged}), remember {@code
   * dedupKey} at the command's time, store {@code messages} in the messages store and send each
   * draft to its user. No drafts means the command already took effect: nobody is told.
   */
  public record Apply(
      ThreadState state,
      boolean threadChanged,
      List<Delta> drafts,
      String dedupKey,
      List<RememberMessage> messages)
      implements Decision {}

  /**
   * A device's delivery mark moved up: store {@code deliveries} as the thread's (its upTo and its
   * pending entries changed). No delta now, and nothing to remember for resends: the senders hear
   * of it in the next {@link #deliveryUpdates flush}.
   */
  public record RecordDelivery(long threadId, ThreadDeliveries deliveries) implements Decision {}

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
    TYPING,
    /** A delivery mark at or below the device's current one (a resend, or a late Ack). */
    DELIVERED_ALREADY
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
   * @param messages what is remembered of recent messages, asked only by edits, deletes and
   *     reactions that get that far
   * @param deliveries the delivery marks of a thread, asked only by delivery marks that get that
   *     far
   */
  public Decision decide(
      ClientCommand command,
      long keyThreadId,
      long nowMs,
      LongFunction<ThreadState> threads,
      AppliedCommands applied,
      RecentMessages messages,
      DeliveryMarks deliveries) {
    String envelopeProblem = envelopeProblem(command, keyThreadId);
    if (envelopeProblem != null) {
      return new Reject(
          Rejection.INVALID_COMMAND,
          envelopeProblem,
          validSender(command) && !isMarkDelivered(command));
    }
    CommandBody body = command.getBody();
    if (body.getSetField() == null) {
      return new Reject(
          Rejection.UNSUPPORTED_COMMAND, "command type unknown to this version", true);
    }
    if (body.isSetTyping()) {
      return Ignore.TYPING;
    }
    if (body.isSetMarkDelivered()) {
      // Before the resend check: a mark is never remembered there (one per device and message
      // would fill the dedup store), and needs not be, as a mark again changes nothing.
      return markDelivered(command, threads.apply(command.getThreadId()), deliveries);
    }
    String dedupKey = dedupKey(command);
    if (applied.appliedBetween(dedupKey, nowMs - dedupWindowMs, nowMs + dedupWindowMs)) {
      return Ignore.DUPLICATE;
    }
    ThreadState before = threads.apply(command.getThreadId());
    Outcome outcome = apply(command, before, messages);
    if (outcome.rejection() != null) {
      return new Reject(outcome.rejection(), outcome.message(), true);
    }
    return new Apply(
        outcome.state(), outcome.state() != before, outcome.drafts(), dedupKey, outcome.messages());
  }

  /** The key under which an applied command is remembered: sender, device and client id. */
  public static String dedupKey(ClientCommand c) {
    return c.getSenderUserId() + "/" + c.getSenderDeviceId() + "/" + c.getClientId();
  }

  /**
   * Whether {@code c} is a delivery mark: written by the bridge from an Ack, so its sender, who
   * never sent it as a command, is told of no rejection.
   */
  static boolean isMarkDelivered(ClientCommand c) {
    return c.isSetBody() && c.getBody().isSetMarkDelivered();
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
   * The result of applying one command: the new thread state (the same instance when the command
   * changes nothing of it), drafts and facts of messages to remember, or a rejection (then {@code
   * state} is {@code null}).
   */
  public record Outcome(
      ThreadState state,
      List<Delta> drafts,
      List<RememberMessage> messages,
      Rejection rejection,
      String message) {
    static Outcome ok(ThreadState state, List<Delta> drafts) {
      return new Outcome(state, drafts, List.of(), null, null);
    }

    static Outcome ok(ThreadState state, List<Delta> drafts, RememberMessage remember) {
      return new Outcome(state, drafts, List.of(remember), null, null);
    }

    static Outcome no(Rejection rejection, String message) {
      return new Outcome(null, List.of(), List.of(), rejection, message);
    }
  }

  /** {@link #apply(ClientCommand, ThreadState, RecentMessages)} knowing no recent message. */
  public Outcome apply(ClientCommand c, ThreadState thread) {
    return apply(c, thread, NO_RECENT_MESSAGES);
  }

  /**
   * Applies a command with a valid envelope to its thread ({@code null} if it does not exist). The
   * thread passed in is not changed. Each draft is a delta for one user; its position is the offset
   * iris.log gives it.
   */
  public Outcome apply(ClientCommand c, ThreadState thread, RecentMessages messages) {
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
      return send(c, body.getSendMessage(), thread);
    }
    if (body.isSetEditMessage()) {
      return edit(c, body.getEditMessage(), thread, messages);
    }
    if (body.isSetDeleteMessage()) {
      return delete(c, body.getDeleteMessage(), thread, messages);
    }
    if (body.isSetReact()) {
      return react(c, body.getReact(), thread, messages);
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
    if (body.isSetMarkDelivered()) {
      // It changes the thread's deliveries, not its state: see markDelivered.
      return Outcome.no(
          Rejection.UNSUPPORTED_COMMAND, "markDelivered is decided with the thread's deliveries");
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

  private Outcome send(ClientCommand c, SendMessage send, ThreadState thread) {
    List<Attachment> attachments = send.getAttachments();
    boolean hasAttachments = attachments != null && !attachments.isEmpty();
    if (hasAttachments) {
      String problem = attachmentProblem(attachments);
      if (problem != null) {
        return Outcome.no(Rejection.INVALID_ATTACHMENT, problem);
      }
    }
    String text = send.getText();
    if (text == null || (text.isBlank() && !hasAttachments)) {
      return Outcome.no(Rejection.EMPTY_TEXT, "message text is empty");
    }
    Outcome tooLarge = textTooLarge(text);
    if (tooLarge != null) {
      return tooLarge;
    }
    long now = serverTime(c, thread);
    long messageId = thread.getLastMessageId() + 1;
    ThreadState next = thread.deepCopy().setLastMessageId(messageId).setLastActivityMs(now);
    next.putToLastSentBy(c.getSenderUserId(), messageId);
    List<Delta> drafts =
        toEachMember(
            thread,
            c,
            now,
            actor -> {
              NewMessage m = new NewMessage(messageId, c.getSenderUserId(), text);
              if (hasAttachments) {
                m.setAttachments(attachments);
              }
              if (actor) {
                m.setClientId(c.getClientId()).setSenderDeviceId(c.getSenderDeviceId());
              }
              return DeltaBody.newMessage(m);
            });
    if (longerWindowMs() == 0) {
      return Outcome.ok(next, drafts);
    }
    // Optional fields only when true: the store holds one of these per recent message.
    MessageFacts facts = new MessageFacts(c.getSenderUserId(), now);
    if (hasAttachments) {
      facts.setHasAttachments(true);
    }
    return Outcome.ok(next, drafts, new RememberMessage(c.getThreadId(), messageId, facts));
  }

  private Outcome textTooLarge(String text) {
    if (!tooLong(text)) {
      return null;
    }
    return Outcome.no(
        Rejection.MESSAGE_TOO_LARGE,
        "message text is "
            + text.getBytes(StandardCharsets.UTF_8).length
            + " bytes, the limit is "
            + maxTextBytes);
  }

  /** What is wrong with the attachments, naming the first bad one's index and field, or null. */
  private String attachmentProblem(List<Attachment> attachments) {
    if (attachments.size() > MAX_ATTACHMENTS) {
      return attachments.size() + " attachments, the limit is " + MAX_ATTACHMENTS;
    }
    for (int i = 0; i < attachments.size(); i++) {
      String problem = attachmentProblem(attachments.get(i));
      if (problem != null) {
        return "attachment " + i + ": " + problem;
      }
    }
    return null;
  }

  private String attachmentProblem(Attachment a) {
    int contentType = utf8Length(a.getContentType());
    if (contentType < 1 || contentType > MAX_ATTACHMENT_LABEL_BYTES) {
      return "contentType must be 1 to " + MAX_ATTACHMENT_LABEL_BYTES + " bytes";
    }
    if (a.isSetName() && utf8Length(a.getName()) > MAX_ATTACHMENT_LABEL_BYTES) {
      return "name must be at most " + MAX_ATTACHMENT_LABEL_BYTES + " bytes";
    }
    int url = utf8Length(a.getUrl());
    if (url < 1 || url > MAX_ATTACHMENT_URL_BYTES) {
      return "url must be 1 to " + MAX_ATTACHMENT_URL_BYTES + " bytes";
    }
    if (a.getSizeBytes() < 0) {
      return "sizeBytes must not be negative";
    }
    ByteBuffer sha256 = a.bufferForSha256();
    if (sha256 == null || sha256.remaining() != SHA256_BYTES) {
      return "sha256 must be " + SHA256_BYTES + " bytes";
    }
    if (a.isSetWidth() && a.getWidth() < 0) {
      return "width must not be negative";
    }
    if (a.isSetHeight() && a.getHeight() < 0) {
      return "height must not be negative";
    }
    if (a.isSetDurationMs() && a.getDurationMs() < 0) {
      return "durationMs must not be negative";
    }
    if (a.isSetPreview() && a.bufferForPreview().remaining() > maxPreviewBytes) {
      return "preview is "
          + a.bufferForPreview().remaining()
          + " bytes, the limit is "
          + maxPreviewBytes;
    }
    return null;
  }

  /** UTF-8 length of {@code s}, -1 when absent. */
  private static int utf8Length(String s) {
    return s == null ? -1 : s.getBytes(StandardCharsets.UTF_8).length;
  }

  private long longerWindowMs() {
    return Math.max(editWindowMs, deleteWindowMs);
  }

  /** Unknown id: not in (0, lastMessageId]; else {@code null}. */
  private static Outcome unknownMessage(ClientCommand c, long messageId, ThreadState thread) {
    if (messageId > 0 && messageId <= thread.getLastMessageId()) {
      return null;
    }
    return Outcome.no(
        Rejection.UNKNOWN_MESSAGE,
        "message "
            + messageId
            + " is not in thread "
            + c.getThreadId()
            + " (last is "
            + thread.getLastMessageId()
            + ")");
  }

  /**
   * What the messages store remembers of a message sent by {@code now} (every message of the thread
   * was: a thread's server time never goes back), {@code null} when nothing.
   */
  private MessageFacts recentFacts(
      ClientCommand c, long messageId, long now, RecentMessages messages) {
    long longer = longerWindowMs();
    if (longer == 0) {
      return null;
    }
    return messages.facts(c.getThreadId(), messageId, now - longer, now);
  }

  private static Outcome notTheSender(ClientCommand c, long messageId, MessageFacts facts) {
    if (facts.getSenderUserId() == c.getSenderUserId()) {
      return null;
    }
    return Outcome.no(
        Rejection.NOT_THE_SENDER,
        "message "
            + messageId
            + " was sent by user "
            + facts.getSenderUserId()
            + ", not by user "
            + c.getSenderUserId());
  }

  /** Past a window: {@code age > window}, or the window is zero (off). */
  private static boolean past(long ageMs, long windowMs) {
    return windowMs == 0 || ageMs > windowMs;
  }

  private static String windowPassed(String what, long messageId, long windowMs) {
    return "message " + messageId + " is past the " + what + " window (" + windowMs + " ms)";
  }

  /**
   * What an edit or a delete may change: the sender's own message, known to the messages store, not
   * deleted (the message says "deleted already" for a delete), within {@code windowMs}. Either
   * {@code facts} or a {@code refusal}.
   */
  private record OwnMessage(MessageFacts facts, Outcome refusal) {}

  private OwnMessage ownMessage(
      ClientCommand c,
      long messageId,
      ThreadState thread,
      RecentMessages messages,
      long now,
      long windowMs,
      Rejection windowPassed,
      String what) {
    Outcome unknown = unknownMessage(c, messageId, thread);
    if (unknown != null) {
      return new OwnMessage(null, unknown);
    }
    MessageFacts facts = recentFacts(c, messageId, now, messages);
    if (facts == null) {
      return new OwnMessage(
          null, Outcome.no(windowPassed, windowPassed(what, messageId, windowMs)));
    }
    Outcome notSender = notTheSender(c, messageId, facts);
    if (notSender != null) {
      return new OwnMessage(null, notSender);
    }
    if (facts.isDeleted()) {
      // For a delete too: refused rather than ignored, since the sender's app waits for an answer
      // to its command, and a delete of a deleted message has no delta of its own to give.
      return new OwnMessage(
          null,
          Outcome.no(
              Rejection.MESSAGE_DELETED,
              "message "
                  + messageId
                  + (what.equals("delete") ? " is deleted already" : " is deleted")));
    }
    if (past(now - facts.getSentAtMs(), windowMs)) {
      return new OwnMessage(
          null, Outcome.no(windowPassed, windowPassed(what, messageId, windowMs)));
    }
    return new OwnMessage(facts, null);
  }

  private Outcome edit(
      ClientCommand c, EditMessage edit, ThreadState thread, RecentMessages messages) {
    long messageId = edit.getMessageId();
    long now = serverTime(c, thread);
    OwnMessage own =
        ownMessage(
            c,
            messageId,
            thread,
            messages,
            now,
            editWindowMs,
            Rejection.EDIT_WINDOW_PASSED,
            "edit");
    if (own.refusal() != null) {
      return own.refusal();
    }
    MessageFacts facts = own.facts();
    String text = edit.getText();
    if (text == null || (text.isBlank() && !facts.isHasAttachments())) {
      return Outcome.no(Rejection.EMPTY_TEXT, "message text is empty");
    }
    Outcome tooLarge = textTooLarge(text);
    if (tooLarge != null) {
      return tooLarge;
    }
    List<Delta> drafts =
        toEachMember(
            thread,
            c,
            now,
            actor -> {
              MessageEdited m = new MessageEdited(messageId, c.getSenderUserId(), text);
              return DeltaBody.messageEdited(actor ? m.setClientId(c.getClientId()) : m);
            });
    return Outcome.ok(thread, drafts);
  }

  private Outcome delete(
      ClientCommand c, DeleteMessage delete, ThreadState thread, RecentMessages messages) {
    long messageId = delete.getMessageId();
    long now = serverTime(c, thread);
    OwnMessage own =
        ownMessage(
            c,
            messageId,
            thread,
            messages,
            now,
            deleteWindowMs,
            Rejection.DELETE_WINDOW_PASSED,
            "delete");
    if (own.refusal() != null) {
      return own.refusal();
    }
    MessageFacts facts = own.facts();
    List<Delta> drafts =
        toEachMember(
            thread,
            c,
            now,
            actor -> {
              MessageDeleted m = new MessageDeleted(messageId, c.getSenderUserId());
              return DeltaBody.messageDeleted(actor ? m.setClientId(c.getClientId()) : m);
            });
    MessageFacts deleted = facts.deepCopy().setDeleted(true);
    return Outcome.ok(thread, drafts, new RememberMessage(c.getThreadId(), messageId, deleted));
  }

  private Outcome react(ClientCommand c, React react, ThreadState thread, RecentMessages messages) {
    long messageId = react.getMessageId();
    Outcome unknown = unknownMessage(c, messageId, thread);
    if (unknown != null) {
      return unknown;
    }
    String emoji = react.isSetEmoji() && !react.getEmoji().isEmpty() ? react.getEmoji() : null;
    if (emoji != null && utf8Length(emoji) > MAX_EMOJI_BYTES) {
      return Outcome.no(
          Rejection.INVALID_REACTION,
          "reaction is " + utf8Length(emoji) + " bytes, the limit is " + MAX_EMOJI_BYTES);
    }
    long now = serverTime(c, thread);
    // No time limit: a message the store no longer knows is accepted (it may be deleted, which
    // storage and snapshots account for).
    MessageFacts facts = recentFacts(c, messageId, now, messages);
    if (facts != null && facts.isDeleted()) {
      return Outcome.no(Rejection.MESSAGE_DELETED, "message " + messageId + " is deleted");
    }
    List<Delta> drafts =
        toEachMember(
            thread,
            c,
            now,
            actor -> {
              ReactionChanged r = new ReactionChanged(messageId, c.getSenderUserId());
              if (emoji != null) {
                r.setEmoji(emoji);
              }
              return DeltaBody.reactionChanged(actor ? r.setClientId(c.getClientId()) : r);
            });
    return Outcome.ok(thread, drafts);
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
      if (next.isSetLastSentBy()) {
        next.getLastSentBy().remove(gone);
      }
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
    List<Delta> drafts =
        toEachMember(
            thread,
            c,
            now,
            actor -> {
              ReadReceipt rr = new ReadReceipt(c.getSenderUserId(), upTo);
              return DeltaBody.readReceipt(actor ? rr.setClientId(c.getClientId()) : rr);
            });
    return Outcome.ok(next, drafts);
  }

  /** The key of a device in {@link ThreadDeliveries#getUpTo()}: {@code "<userId>:<deviceId>"}. */
  public static String deviceKey(long userId, String deviceId) {
    return userId + ":" + deviceId;
  }

  /**
   * Decides on a delivery mark with a valid envelope: the sender's device holds the thread's
   * messages up to {@code upToMessageId}. The thread must exist, the sender be a member and the id
   * be one of the thread's messages; a rejection is not told to the sender (the bridge wrote the
   * command from an Ack, the device never sent it), only dead-lettered and counted. A mark at or
   * below the device's current one changes nothing ({@link Ignore#DELIVERED_ALREADY}). Otherwise
   * the device's mark moves up, its entry in the pending list is replaced by one at the end (one
   * entry per device, in the order received), and {@code pendingFrom} becomes the lowest mark a
   * pending entry moved up from (0 for a device's first mark). Neither argument is changed.
   *
   * @param thread the thread's state, {@code null} if it does not exist
   * @param deliveries the delivery marks of a thread, asked only for a mark that gets that far
   */
  public Decision markDelivered(ClientCommand c, ThreadState thread, DeliveryMarks deliveries) {
    if (thread == null) {
      return new Reject(
          Rejection.UNKNOWN_THREAD, "thread " + c.getThreadId() + " does not exist", false);
    }
    long sender = c.getSenderUserId();
    if (!thread.getParticipantUserIds().contains(sender)) {
      return new Reject(
          Rejection.NOT_A_MEMBER,
          "user " + sender + " is not a member of thread " + c.getThreadId(),
          false);
    }
    MarkDelivered mark = c.getBody().getMarkDelivered();
    long upTo = mark.getUpToMessageId();
    Outcome unknown = unknownMessage(c, upTo, thread);
    if (unknown != null) {
      return new Reject(unknown.rejection(), unknown.message(), false);
    }
    ThreadDeliveries before = deliveries.of(c.getThreadId());
    String device = c.getSenderDeviceId();
    String key = deviceKey(sender, device);
    long current =
        before == null || !before.isSetUpTo() ? 0L : before.getUpTo().getOrDefault(key, 0L);
    if (upTo <= current) {
      return Ignore.DELIVERED_ALREADY;
    }
    ThreadDeliveries next =
        before == null
            ? new ThreadDeliveries(new HashMap<>(), new ArrayList<>())
            : before.deepCopy();
    if (!next.isSetUpTo()) {
      next.setUpTo(new HashMap<>());
    }
    if (!next.isSetPending()) {
      next.setPending(new ArrayList<>());
    }
    next.getUpTo().put(key, upTo);
    next.getPending().removeIf(d -> d.getUserId() == sender && device.equals(d.getDeviceId()));
    next.getPending().add(new DeviceDelivery(sender, device, upTo));
    next.setPendingFrom(
        next.isSetPendingFrom() ? Math.min(next.getPendingFrom(), current) : current);
    return new RecordDelivery(c.getThreadId(), next);
  }

  /**
   * What a flush of a thread's pending delivery marks sends and leaves: one {@link DeliveryUpdate}
   * draft per recipient, and the deliveries to store (the marks kept, nothing pending).
   */
  public record DeliveryFlush(List<Delta> drafts, ThreadDeliveries deliveries) {}

  /**
   * Flushes the pending delivery marks of a thread at {@code nowMs}. The recipients are the members
   * whose last message is above {@code pendingFrom}, in the thread's member order: each has a
   * message that a pending mark may cover (members who sent nothing since get nothing, whoever's
   * devices are in the list, their own included). Each gets one {@link DeliveryUpdate} with every
   * pending entry, in the order received, at {@code nowMs} but not before the thread's last
   * activity (the thread's deltas do not go back in time; its activity is not changed: receipts do
   * not reorder the inbox). With no recipient the pending entries are just cleared. Neither
   * argument is changed.
   *
   * @param thread the thread's state, {@code null} if unknown (nobody to tell)
   * @param deliveries the thread's delivery marks, {@code null} when none
   * @return {@code null} when nothing is pending
   */
  public static DeliveryFlush deliveryUpdates(
      long threadId, ThreadState thread, ThreadDeliveries deliveries, long nowMs) {
    if (deliveries == null || deliveries.getPendingSize() == 0) {
      return null;
    }
    ThreadDeliveries cleared = deliveries.deepCopy().setPending(new ArrayList<>());
    cleared.unsetPendingFrom();
    if (thread == null) {
      return new DeliveryFlush(List.of(), cleared);
    }
    long from = deliveries.isSetPendingFrom() ? deliveries.getPendingFrom() : 0L;
    Map<Long, Long> lastSentBy = thread.isSetLastSentBy() ? thread.getLastSentBy() : Map.of();
    long now = Math.max(nowMs, thread.getLastActivityMs());
    List<Delta> drafts = new ArrayList<>();
    for (long user : thread.getParticipantUserIds()) {
      if (lastSentBy.getOrDefault(user, 0L) > from) {
        DeliveryUpdate update = new DeliveryUpdate(new ArrayList<>(deliveries.getPending()));
        drafts.add(new Delta(user, threadId, now, DeltaBody.deliveryUpdate(update)));
      }
    }
    return new DeliveryFlush(drafts, cleared);
  }

  private static Delta draft(long user, ClientCommand c, long now, DeltaBody body) {
    return new Delta(user, c.getThreadId(), now, body);
  }

  /**
   * One draft per member of {@code thread}, in member order, each with a body of its own: {@code
   * body.apply(true)} for the command's sender (whose copy carries the client id, its
   * confirmation), {@code body.apply(false)} for the others.
   */
  private static List<Delta> toEachMember(
      ThreadState thread,
      ClientCommand c,
      long now,
      java.util.function.Function<Boolean, DeltaBody> body) {
    List<Delta> drafts = new ArrayList<>(thread.getParticipantUserIdsSize());
    for (long user : thread.getParticipantUserIds()) {
      drafts.add(draft(user, c, now, body.apply(user == c.getSenderUserId())));
    }
    return drafts;
  }

  /**
   * The delta that tells the sender of a rejected command why, in their own queue: the command's
   * client id, the rejection's error code, the message and the rule (the rejection's name, which an
   * app may branch on). Its server time is the command's receive time.
   */
  public static Delta rejectionDraft(ClientCommand command, Rejection why, String message) {
    return new Delta(
        command.getSenderUserId(),
        command.getThreadId(),
        command.getReceivedAtMs(),
        DeltaBody.commandRejected(
            new CommandRejected(command.getClientId(), why.errorCode(), message)
                .setRule(why.name())));
  }
}
