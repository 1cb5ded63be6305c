package io.iris.connect;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.Delta;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.components.Versioned;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.storage.Converter;

/**
 * Kafka Connect converter between iris.log's Delta frames (a version byte and Thrift compact) and a
 * flat Connect {@link Struct} ({@link DeltaSchema}), so that a stock JDBC sink can write the log to
 * MySQL. Use it as the sink's {@code value.converter}:
 *
 * <pre>
 * "value.converter": "io.iris.connect.IrisDeltaConverter"
 * </pre>
 *
 * A null value is a tombstone and converts to null. Bytes that are not a Delta frame throw {@link
 * DataException} saying why, which the framework retries or routes to the dead-letter topic.
 *
 * <p>The struct has no position (a delta's bytes carry none): the sink's {@code InsertField}
 * transform adds the record's offset as the {@code position} column (see {@link DeltaSchema}).
 */
public class IrisDeltaConverter implements Converter, Versioned {
  private FrameCodec codec = FrameCodec.defaults();

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    IrisDeltaConverterConfig config = new IrisDeltaConverterConfig(withType(configs, isKey));
    codec = new FrameCodec(config.maxFrameBytes());
  }

  private static Map<String, Object> withType(Map<String, ?> configs, boolean isKey) {
    Map<String, Object> m = new java.util.HashMap<>(configs);
    m.putIfAbsent("converter.type", isKey ? "key" : "value");
    return m;
  }

  @Override
  public ConfigDef config() {
    return IrisDeltaConverterConfig.configDef();
  }

  @Override
  public String version() {
    String v = IrisDeltaConverter.class.getPackage().getImplementationVersion();
    return v == null ? "unknown" : v;
  }

  @Override
  public byte[] fromConnectData(String topic, Schema schema, Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof Struct struct)
        || !DeltaSchema.SCHEMA.name().equals(struct.schema().name())) {
      throw new DataException(
          "IrisDeltaConverter writes only "
              + DeltaSchema.SCHEMA.name()
              + " structs to "
              + topic
              + ", got "
              + (value.getClass().getSimpleName()));
    }
    Delta delta = DeltaSchema.fromStruct(struct);
    // iris.log's values carry no position: it is the record's offset there.
    delta.unsetPos();
    delta.unsetPrevPos();
    return codec.encode(delta);
  }

  @Override
  public SchemaAndValue toConnectData(String topic, byte[] value) {
    if (value == null) {
      return SchemaAndValue.NULL;
    }
    Delta delta;
    try {
      delta = codec.decode(value, Delta::new);
    } catch (FrameException e) {
      throw new DataException(
          "record of "
              + topic
              + " is not a Delta frame ("
              + e.reason()
              + ": "
              + e.getMessage()
              + "); IrisDeltaConverter reads only iris.log, check the connector's topics and"
              + " value.converter",
          e);
    }
    return new SchemaAndValue(DeltaSchema.SCHEMA, DeltaSchema.toStruct(delta));
  }
}
