package io.iris.topics.serde;

import io.iris.protocol.thrift.DevicePointer;

/**
 * Serde for {@link DevicePointer} values; usable by class name in Kafka client and Streams configs.
 */
public class DevicePointerSerde extends ThriftSerde<DevicePointer> {
  public DevicePointerSerde() {
    super(DevicePointer::new);
  }
}
