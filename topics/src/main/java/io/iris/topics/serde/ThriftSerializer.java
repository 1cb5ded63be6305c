package io.iris.topics.serde;

import io.iris.protocol.FrameCodec;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.thrift.TBase;

/** Writes a Thrift struct as a versioned frame; {@code null} stays {@code null} (a tombstone). */
public class ThriftSerializer<T extends TBase<?, ?>> implements Serializer<T> {
  private final FrameCodec codec;

  public ThriftSerializer() {
    this(FrameCodec.defaults());
  }

  public ThriftSerializer(FrameCodec codec) {
    this.codec = codec;
  }

  @Override
  public byte[] serialize(String topic, T data) {
    return data == null ? null : codec.encode(data);
  }
}
