package io.iris.launcher;

/**
 * A problem that stops the stack from starting, with one line that says what is wrong and what to
 * do. The launcher prints the message alone, without a stack trace.
 */
public final class StartupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StartupException(String message) {
    super(message);
  }

  public StartupException(String message, Throwable cause) {
    super(message, cause);
  }
}
