package io.iris.topics.serde;

import io.iris.protocol.FrameCodec;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serde;
import org.apache.thrift.TBase;

/** Serde for one Thrift struct type in versioned frames. */
public class ThriftSerde<T extends TBase<?, ?>> implements Serde<T> {
  private final ThriftSerializer<T> serializer;
  private final ThriftDeserializer<T> deserializer;

  public ThriftSerde(Supplier<T> factory) {
    this(FrameCodec.defaults(), factory);
  }

  public ThriftSerde(FrameCodec codec, Supplier<T> factory) {
    this.serializer = new ThriftSerializer<>(codec);
    this.deserializer = new ThriftDeserializer<>(codec, factory);
  }

  @Override
  public ThriftSerializer<T> serializer() {
    return serializer;
  }

  @Override
  public ThriftDeserializer<T> deserializer() {
    return deserializer;
  }
}
