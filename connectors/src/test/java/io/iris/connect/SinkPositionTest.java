package io.iris.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import io.iris.topics.Names;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.transforms.Transformation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sink's row key: the converter's struct run through the transform that {@code
 * connect/iris-mysql-sink.json} configures (the real {@code InsertField$Value} of Kafka's
 * connect-transforms, built from the JSON itself), as the worker does before the sink sees a
 * record.
 */
class SinkPositionTest {
  static Map<String, String> sinkConfig() throws Exception {
    try (InputStream in =
        SinkPositionTest.class
            .getClassLoader()
            .getResourceAsStream("connect/iris-mysql-sink.json")) {
      return new ObjectMapper().readValue(in, new TypeReference<Map<String, String>>() {});
    }
  }

  IrisDeltaConverter converter;
  Transformation<SinkRecord> transform;
  Map<String, String> sink;

  @BeforeEach
  @SuppressWarnings("unchecked")
  void setUp() throws Exception {
    converter = new IrisDeltaConverter();
    converter.configure(Map.of(), false);
    sink = sinkConfig();
    assertEquals("position", sink.get("transforms"), "one transform, named position");
    // What the worker does with transforms.<name>.*: instantiate type, configure with the rest.
    String prefix = "transforms.position.";
    Map<String, String> props = new HashMap<>();
    sink.forEach(
        (k, v) -> {
          if (k.startsWith(prefix) && !k.equals(prefix + "type")) {
            props.put(k.substring(prefix.length()), v);
          }
        });
    transform =
        (Transformation<SinkRecord>)
            Class.forName(sink.get(prefix + "type")).getDeclaredConstructor().newInstance();
    transform.configure(props);
  }

  @AfterEach
  void tearDown() {
    transform.close();
  }

  SinkRecord record(Delta d, long offset) {
    SchemaAndValue sv = converter.toConnectData("iris.log", FrameCodec.defaults().encode(d));
    return new SinkRecord(
        "iris.log", 3, Schema.INT64_SCHEMA, d.getUserId(), sv.schema(), sv.value(), offset);
  }

  @Test
  void shouldAddTheRecordOffsetAsARequiredPositionColumn() {
    List<Delta> deltas = IrisDeltaConverterTest.everyKind();
    long[] offsets = {0, 10, 13, 40, 41, 42, 50, 51, 60, 77, 78, 80, 1L << 40, Long.MAX_VALUE - 1};
    assertEquals(deltas.size(), offsets.length);
    for (int i = 0; i < deltas.size(); i++) {
      Delta d = deltas.get(i);
      SinkRecord out = transform.apply(record(d, offsets[i]));
      Struct row = (Struct) out.value();
      row.validate();
      assertEquals(offsets[i], row.getInt64(DeltaColumns.POSITION));
      Field position = out.valueSchema().field(DeltaColumns.POSITION);
      assertEquals(Schema.Type.INT64, position.schema().type());
      assertFalse(position.schema().isOptional(), "position! makes it required");
      assertEquals(DeltaSchema.SCHEMA.name(), out.valueSchema().name());
      for (Field f : DeltaSchema.SCHEMA.fields()) {
        assertEquals(f.schema(), out.valueSchema().field(f.name()).schema(), f.name());
      }
      assertEquals(
          DeltaSchema.SCHEMA.fields().size() + 1,
          out.valueSchema().fields().size(),
          "the converter's columns and position, nothing else");
      assertEquals(d.deepCopy().setPos(offsets[i]), DeltaSchema.fromStruct(row));
      assertEquals(offsets[i], out.kafkaOffset());
      assertEquals(d.getUserId(), out.key());
    }
  }

  @Test
  void shouldKeyRowsByUserAndPosition() {
    SinkRecord out = transform.apply(record(IrisDeltaConverterTest.everyKind().get(0), 12));
    assertEquals("record_value", sink.get("primary.key.mode"));
    List<String> key = Arrays.asList(sink.get("primary.key.fields").split(","));
    assertEquals(List.of(DeltaColumns.USER_ID, DeltaColumns.POSITION), key);
    for (String column : key) {
      Field f = out.valueSchema().field(column);
      assertNotNull(f, column);
      assertFalse(f.schema().isOptional(), column + " is part of the key");
    }
    assertEquals(Names.DELTAS_TABLE, sink.get("collection.name.format"));
    assertEquals("read_committed", sink.get("consumer.override.isolation.level"));
    assertEquals("false", sink.get("use.reduction.buffer"), "a partition is written in order");
  }

  @Test
  void shouldLetATombstoneThrough() {
    SinkRecord tombstone = new SinkRecord("iris.log", 0, Schema.INT64_SCHEMA, 42L, null, null, 5);
    SinkRecord out = transform.apply(tombstone);
    assertNull(out.value());
  }

  @Test
  void shouldNeverWriteAPositionBackIntoIrisLog() {
    Delta d = IrisDeltaConverterTest.everyKind().get(0);
    SinkRecord out = transform.apply(record(d, 77));
    assertEquals(
        Arrays.toString(FrameCodec.defaults().encode(d)),
        Arrays.toString(converter.fromConnectData("iris.log", out.valueSchema(), out.value())),
        "a Delta in iris.log has no pos: its offset is its position");
  }
}
