package io.iris.sdk.internals;

import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.SendResult;
import io.iris.protocol.thrift.ServerError;
import io.iris.sdk.IrisDevice.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * The commands sent and not yet confirmed, by client id (docs/PROTOCOL.md, "Sending"). A command is
 * settled by its own delta (confirmed, or refused by a {@code CommandRejected}), by an answer that
 * refuses it for good, or by its deadline; until then it goes out again, with the same client id:
 *
 * <ul>
 *   <li>unanswered: {@code resendAfter} after it went out, then after twice as long each time, up
 *       to {@code maxResendInterval};
 *   <li>accepted by a bridge (it is in Kafka, and its delta will come by push or catch-up): only
 *       {@code maxResendInterval} after the acceptance, as a safety net, not on a reconnect;
 *   <li>refused for now with a retry-after: then. {@code RATE_LIMITED} ones are paced one
 *       retry-after apart, in the order refused, so that a device over its budget resends at the
 *       rate the bridge names instead of all together.
 * </ul>
 *
 * After an outage of Kafka, a device resending every unconfirmed command every few seconds would
 * bury the bridges and the streams app in copies of the same commands (measured on the cluster,
 * docs/operations.md): the backoff and the acceptance bound that.
 */
final class PendingSends {
  /** One command waiting for its confirmation. */
  static final class PendingSend {
    final DeviceCommand command;
    final CompletableFuture<Delta> result;
    final long deadlineNanos;
    long sentAtNanos;
    int attempts;

    /** A bridge answered that it is in Kafka: only the safety-net resend is left. */
    boolean accepted;

    /** When a refusal with a retry-after set it: goes out again then, not resendAfter later. */
    long retryAtNanos;

    boolean retryAtSet;

    PendingSend(DeviceCommand command, CompletableFuture<Delta> result, long deadlineNanos) {
      this.command = command;
      this.result = result;
      this.deadlineNanos = deadlineNanos;
    }
  }

  private final Duration resendAfter;
  private final Duration maxResendInterval;
  private final Duration sendDeadline;

  /** When the last RATE_LIMITED command was told to go out again: the next goes a retry later. */
  private long lastPacedRetryNanos;

  private boolean pacing;

  // In the order sent, so that a reconnect repeats them in that order.
  private final Map<String, PendingSend> sends = new LinkedHashMap<>();

  PendingSends(Duration resendAfter, Duration maxResendInterval, Duration sendDeadline) {
    if (maxResendInterval.compareTo(resendAfter) < 0) {
      throw new IllegalArgumentException(
          "maxResendInterval " + maxResendInterval + " is shorter than resendAfter " + resendAfter);
    }
    this.resendAfter = resendAfter;
    this.maxResendInterval = maxResendInterval;
    this.sendDeadline = sendDeadline;
  }

  /**
   * A new command, accepted at {@code submittedAtNanos}; it expires {@code sendDeadline} later. A
   * command with the client id of a pending one replaces it.
   */
  PendingSend add(DeviceCommand command, CompletableFuture<Delta> result, long submittedAtNanos) {
    PendingSend p = new PendingSend(command, result, submittedAtNanos + sendDeadline.toNanos());
    sends.put(command.getClientId(), p);
    return p;
  }

  int size() {
    return sends.size();
  }

  /** Every pending command, in the order they were first sent. */
  Collection<PendingSend> all() {
    return sends.values();
  }

  /**
   * The commands a new connection sends at once, in the order first sent: every one not yet
   * accepted (a command accepted before is in Kafka; its delta comes with the catch-up).
   */
  List<PendingSend> toResendOnConnect() {
    List<PendingSend> out = new ArrayList<>();
    for (PendingSend p : sends.values()) {
      if (!p.accepted) {
        out.add(p);
      }
    }
    return out;
  }

  /** Records that {@code p} goes out (again) now. */
  static void sent(PendingSend p, long nowNanos) {
    p.sentAtNanos = nowNanos;
    p.attempts++;
    p.retryAtSet = false;
  }

  /** Fails and forgets the commands whose deadline has passed. */
  void expire(long nowNanos) {
    for (var it = sends.values().iterator(); it.hasNext(); ) {
      PendingSend p = it.next();
      if (nowNanos - p.deadlineNanos > 0) {
        it.remove();
        p.result.completeExceptionally(
            new TimeoutException(
                "not confirmed after " + p.attempts + " attempts in " + sendDeadline));
      }
    }
  }

  /**
   * The commands due to go out again: refused with a retry-after, at that time; otherwise when they
   * have waited longer than their interval since they last went out (or were accepted).
   */
  List<PendingSend> dueForResend(long nowNanos) {
    List<PendingSend> due = new ArrayList<>();
    for (PendingSend p : sends.values()) {
      if (p.retryAtSet ? nowNanos - p.retryAtNanos >= 0 : nowNanos - p.sentAtNanos > interval(p)) {
        due.add(p);
      }
    }
    return due;
  }

  /**
   * How long {@code p} waits after it last went out: {@code resendAfter} doubled for each attempt
   * after the first, at most {@code maxResendInterval}; the latter once accepted.
   */
  long interval(PendingSend p) {
    if (p.accepted) {
      return maxResendInterval.toNanos();
    }
    int doublings = Math.min(Math.max(p.attempts - 1, 0), 30);
    long nanos = resendAfter.toNanos();
    for (int i = 0; i < doublings && nanos < maxResendInterval.toNanos(); i++) {
      nanos *= 2;
    }
    return Math.min(nanos, maxResendInterval.toNanos());
  }

  /**
   * Settles the command whose own delta this is, if any: a {@code CommandRejected} fails it with
   * the server's code and rule, any other delta completes it.
   */
  void confirm(Delta d) {
    String clientId = clientIdOf(d);
    PendingSend p = clientId == null ? null : sends.remove(clientId);
    if (p == null) {
      return;
    }
    if (d.getBody().isSetCommandRejected()) {
      CommandRejected r = d.getBody().getCommandRejected();
      p.result.completeExceptionally(
          new RejectedException(r.getCode(), r.getReason(), r.isSetRule() ? r.getRule() : null));
    } else {
      p.result.complete(d);
    }
  }

  /**
   * The bridge's answer to a command. Accepted is not the confirmation (the delta is); refused with
   * a code other than {@code UNAVAILABLE} or {@code RATE_LIMITED} fails it for good (a refusal
   * without an error counts as {@code INTERNAL}); those two leave it to be sent again when due.
   */
  void onSendResult(SendResult r, long nowNanos) {
    PendingSend p = sends.get(r.getClientId());
    if (p == null) {
      return;
    }
    if (r.isAccepted()) {
      // In Kafka: its delta will come. The safety-net resend counts from now.
      p.accepted = true;
      p.sentAtNanos = nowNanos;
      p.retryAtSet = false;
      return;
    }
    ErrorCode code = r.isSetError() ? r.getError().getCode() : ErrorCode.INTERNAL;
    if (retryable(code) && r.isSetError() && r.getError().isSetRetryAfterMs()) {
      // Not taken: it goes out again when the server says, not a whole interval later.
      long retryAfter = Math.max(1, r.getError().getRetryAfterMs()) * 1_000_000L;
      long at = nowNanos + retryAfter;
      if (code == ErrorCode.RATE_LIMITED) {
        // The bridge's budget frees one command per retry-after: one resend each, in turn.
        if (pacing && at - (lastPacedRetryNanos + retryAfter) < 0) {
          at = lastPacedRetryNanos + retryAfter;
        }
        lastPacedRetryNanos = at;
        pacing = true;
      }
      p.retryAtNanos = at;
      p.retryAtSet = true;
    }
    if (!retryable(code)) {
      sends.remove(r.getClientId());
      p.result.completeExceptionally(
          new RejectedException(code, r.isSetError() ? r.getError().getMessage() : "refused"));
    }
  }

  /**
   * An error naming a pending command's client id: fails it for good unless the code says to retry.
   * Returns false when the error settles nothing (no such command, or a retryable code).
   */
  boolean onError(ServerError e) {
    PendingSend p = e.isSetClientId() ? sends.get(e.getClientId()) : null;
    if (p == null || retryable(e.getCode())) {
      return false;
    }
    sends.remove(e.getClientId());
    p.result.completeExceptionally(new RejectedException(e.getCode(), e.getMessage()));
    return true;
  }

  static boolean retryable(ErrorCode code) {
    return code == ErrorCode.UNAVAILABLE || code == ErrorCode.RATE_LIMITED;
  }

  /**
   * The client id a delta confirms: set only in the acting user's own deltas; null for a kind this
   * SDK does not know (a newer server's).
   */
  static String clientIdOf(Delta d) {
    if (d.getBody() == null || d.getBody().getSetField() == null) {
      return null;
    }
    // No default: a kind added to the IDL does not compile here until its client id is found.
    return switch (d.getBody().getSetField()) {
      case NEW_MESSAGE -> d.getBody().getNewMessage().getClientId();
      case THREAD_CREATED -> d.getBody().getThreadCreated().getClientId();
      case PARTICIPANTS_CHANGED -> d.getBody().getParticipantsChanged().getClientId();
      case READ_RECEIPT -> d.getBody().getReadReceipt().getClientId();
      case COMMAND_REJECTED -> d.getBody().getCommandRejected().getClientId();
      case MESSAGE_EDITED -> d.getBody().getMessageEdited().getClientId();
      case MESSAGE_DELETED -> d.getBody().getMessageDeleted().getClientId();
      case REACTION_CHANGED -> d.getBody().getReactionChanged().getClientId();
      // Confirms no send: the marks it reports come from acks, never from a device's command.
      case DELIVERY_UPDATE -> null;
    };
  }
}
