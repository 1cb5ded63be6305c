package io.iris.protocol;

import io.iris.protocol.thrift.ErrorCode;
import org.apache.kafka.common.errors.SerializationException;

/**
 * A frame that could not be decoded. The {@link #reason()} says why in a form that can be counted
 * and put in a dead-letter header; {@link #errorCode()} is what a device is told.
 */
public final class FrameException extends SerializationException {
  private static final long serialVersionUID = 1L;

  /** Why a frame was refused. Stable names: they appear in metrics and dead-letter headers. */
  public enum Reason {
    EMPTY(ErrorCode.MALFORMED_FRAME),
    UNSUPPORTED_VERSION(ErrorCode.UNSUPPORTED_VERSION),
    TOO_LARGE(ErrorCode.FRAME_TOO_LARGE),
    MALFORMED(ErrorCode.MALFORMED_FRAME);

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
