package io.iris.streams.internals;

import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.ErrorCode;
import java.util.Locale;

/**
 * Why a command was not applied. The name is stable: it is the {@code iris.dlq.reason} header and
 * part of the metric name ({@code rejected-<name>-total}).
 */
public enum Rejection {
  /** The record key is not an 8-byte thread id. */
  MALFORMED_KEY(ErrorCode.MALFORMED_FRAME),
  /** The value is empty. */
  EMPTY(ErrorCode.MALFORMED_FRAME),
  /** The value's version byte is unknown. */
  UNSUPPORTED_VERSION(ErrorCode.UNSUPPORTED_VERSION),
  /** The value is a frame of the retired version 1. */
  RETIRED_VERSION(ErrorCode.RESNAPSHOT_REQUIRED),
  /** The value is above commands.max.frame.bytes. */
  FRAME_TOO_LARGE(ErrorCode.FRAME_TOO_LARGE),
  /** The value does not parse as a ClientCommand. */
  MALFORMED(ErrorCode.MALFORMED_FRAME),
  /** A string of the command is not UTF-8 (refused, never replaced). */
  INVALID_UTF8(ErrorCode.INVALID_ARGUMENT),
  /** The envelope is inconsistent: ids missing or out of range, key and thread id differ. */
  INVALID_COMMAND(ErrorCode.INVALID_ARGUMENT),
  /** The command type is not known to this version. */
  UNSUPPORTED_COMMAND(ErrorCode.INVALID_ARGUMENT),
  UNKNOWN_THREAD(ErrorCode.UNKNOWN_THREAD),
  NOT_A_MEMBER(ErrorCode.NOT_A_MEMBER),
  EMPTY_TEXT(ErrorCode.INVALID_ARGUMENT),
  MESSAGE_TOO_LARGE(ErrorCode.MESSAGE_TOO_LARGE),
  TOO_MANY_PARTICIPANTS(ErrorCode.TOO_MANY_PARTICIPANTS),
  /** A participant id is not positive, or a removed user is not a member. */
  INVALID_PARTICIPANTS(ErrorCode.INVALID_ARGUMENT),
  /** The thread id is taken by a thread created by another command. */
  THREAD_EXISTS(ErrorCode.THREAD_EXISTS),
  /** A mark-read beyond the thread's last message. */
  INVALID_READ_MARK(ErrorCode.INVALID_ARGUMENT),
  /** An edit, delete or reaction names a message id that is not in the thread (yet). */
  UNKNOWN_MESSAGE(ErrorCode.INVALID_ARGUMENT),
  /**
   * An edit or delete of another user's message. UNAUTHORISED: acting for another user, the code an
   * app already handles; the rule says which.
   */
  NOT_THE_SENDER(ErrorCode.UNAUTHORISED),
  /** An edit after commands.edit.window.ms, or of a message the messages store no longer holds. */
  EDIT_WINDOW_PASSED(ErrorCode.INVALID_ARGUMENT),
  /** A delete after commands.delete.window.ms, or of a message the store no longer holds. */
  DELETE_WINDOW_PASSED(ErrorCode.INVALID_ARGUMENT),
  /** An edit of, or reaction to, a deleted message. */
  MESSAGE_DELETED(ErrorCode.INVALID_ARGUMENT),
  /** An attachment breaks a limit; the message names its index and the field. */
  INVALID_ATTACHMENT(ErrorCode.INVALID_ARGUMENT),
  /** A reaction above 64 UTF-8 bytes. */
  INVALID_REACTION(ErrorCode.INVALID_ARGUMENT);

  private final ErrorCode errorCode;

  Rejection(ErrorCode errorCode) {
    this.errorCode = errorCode;
  }

  public ErrorCode errorCode() {
    return errorCode;
  }

  /** The metric operation name, e.g. {@code rejected-unknown-thread}. */
  public String metricName() {
    return "rejected-" + name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static Rejection of(FrameException.Reason reason) {
    return switch (reason) {
      case EMPTY -> EMPTY;
      case UNSUPPORTED_VERSION -> UNSUPPORTED_VERSION;
      case RETIRED_VERSION -> RETIRED_VERSION;
      case FRAME_TOO_LARGE -> FRAME_TOO_LARGE;
      case MALFORMED -> MALFORMED;
      case INVALID_UTF8 -> INVALID_UTF8;
    };
  }
}
