package io.iris.launcher;

/**
 * A Kafka Connect REST call that did not do what was asked: Connect could not be reached, answered
 * with an error, or answered something this client cannot read. The message says which call, what
 * Connect said and what to do; it never holds a request body (a connector configuration holds the
 * MySQL password).
 */
public final class ConnectRestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** No HTTP answer at all: Connect was not reached or did not answer in time. */
  public static final int NO_ANSWER = -1;

  private final int httpStatus;

  ConnectRestException(int httpStatus, String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
  }

  /** The HTTP status Connect answered, or {@link #NO_ANSWER}. */
  public int httpStatus() {
    return httpStatus;
  }
}
