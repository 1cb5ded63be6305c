package io.iris.protocol;

import io.iris.protocol.thrift.ErrorCode;

/**
 * A frame that could not be decoded. The {@link #reason()} says why in a form that can be counted
 * and put in a dead-letter header; {@link #errorCode()} is what a device is told. Unchecked, and
 * free of Kafka types so that a device depends on Thrift alone; Kafka clients surface it from a
 * deserializer as a deserialization error like any other runtime exception.
 */
public final class FrameException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why a frame was refused. Stable names: they appear in metrics and dead-letter headers. */
  public enum Reason {
    EMPTY(ErrorCode.MALFORMED_FRAME),
    UNSUPPORTED_VERSION(ErrorCode.UNSUPPORTED_VERSION),
    /** Version 1: its positions mean nothing now; the app must take a new snapshot. */
    RETIRED_VERSION(ErrorCode.RESNAPSHOT_REQUIRED),
    FRAME_TOO_LARGE(ErrorCode.FRAME_TOO_LARGE),
    MALFORMED(ErrorCode.MALFORMED_FRAME),
    /** A string field holds bytes that are not UTF-8 (refused, never replaced). */
    INVALID_UTF8(ErrorCode.INVALID_ARGUMENT);

    private final ErrorCode errorCode;

    Reason(ErrorCode errorCode) {
      this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
      return errorCode;
    }
  }

  private final Reason reason;

  public FrameException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public FrameException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  public ErrorCode errorCode() {
    return reason.errorCode();
  }
}
