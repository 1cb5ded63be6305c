package io.iris.topics.serde;

import io.iris.protocol.thrift.Delta;

/** Serde for {@link Delta} values; usable by class name in Kafka client and Streams configs. */
public class DeltaSerde extends ThriftSerde<Delta> {
  public DeltaSerde() {
    super(Delta::new);
  }
}
