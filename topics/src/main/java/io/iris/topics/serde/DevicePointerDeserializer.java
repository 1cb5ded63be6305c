package io.iris.topics.serde;

import io.iris.protocol.thrift.DevicePointer;

/**
 * Deserializer for {@link DevicePointer} values, usable by class name (for example {@code
 * --value-deserializer} of Kafka's console consumer).
 */
public class DevicePointerDeserializer extends ThriftDeserializer<DevicePointer> {
  public DevicePointerDeserializer() {
    super(DevicePointer::new);
  }
}
