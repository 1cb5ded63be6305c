package io.iris.topics.serde;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.thrift.TBase;

/**
 * Reads a versioned frame into a Thrift struct; {@code null} (a tombstone) stays {@code null}.
 * Anything else that is not a valid frame throws {@link FrameException}, which Kafka Streams and
 * consumers surface as a deserialization error.
 */
public class ThriftDeserializer<T extends TBase<?, ?>> implements Deserializer<T> {
  private final FrameCodec codec;
  private final Supplier<T> factory;

  public ThriftDeserializer(Supplier<T> factory) {
    this(FrameCodec.defaults(), factory);
  }

  public ThriftDeserializer(FrameCodec codec, Supplier<T> factory) {
    this.codec = codec;
    this.factory = factory;
  }

  @Override
  public T deserialize(String topic, byte[] data) throws FrameException {
    return data == null ? null : codec.decode(data, factory);
  }
}
