package io.iris.topics.serde;

import io.iris.protocol.thrift.Delta;

/**
 * Deserializer for {@link Delta} values, usable by class name (for example {@code
 * --value-deserializer} of Kafka's console consumer).
 */
public class DeltaDeserializer extends ThriftDeserializer<Delta> {
  public DeltaDeserializer() {
    super(Delta::new);
  }
}
