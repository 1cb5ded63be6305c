package io.iris.streams.internals;

import io.iris.protocol.thrift.Delta;

/** What the command processor emits: a delta for one user, or rejected input for iris.dlq. */
public sealed interface Routed {

  /** A delta for {@code delta.userId}; its position is the offset iris.log gives it. */
  record UserDelta(Delta delta) implements Routed {}

  /** The rejected record, key and value as received; the reason is in the record's headers. */
  record DeadLetter(byte[] key, byte[] value) implements Routed {}
}
