package io.iris.topics;

/**
 * Header names of records in {@link Topics#DLQ}. The value is the rejected bytes exactly as
 * received; these headers say where they came from and why they were rejected.
 */
public final class DeadLetters {
  private DeadLetters() {}

  /** A stable, countable reason, e.g. {@code MALFORMED} or {@code NOT_A_MEMBER}. */
  public static final String REASON = "iris.dlq.reason";

  /** A human-readable explanation. */
  public static final String MESSAGE = "iris.dlq.message";

  /** The component that rejected the record, e.g. {@code streams-app} or {@code mqtt-bridge}. */
  public static final String REJECTED_BY = "iris.dlq.rejected-by";

  /** Where the bytes were read from: topic (or MQTT topic), partition, offset. */
  public static final String SOURCE_TOPIC = "iris.dlq.source.topic";

  public static final String SOURCE_PARTITION = "iris.dlq.source.partition";
  public static final String SOURCE_OFFSET = "iris.dlq.source.offset";

  /** When it was rejected, epoch milliseconds. */
  public static final String REJECTED_AT = "iris.dlq.rejected-at";
}
