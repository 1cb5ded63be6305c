package io.iris.connect;

import io.iris.protocol.thrift.Delta;
import io.iris.topics.DeltaColumns;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

/**
 * The Connect schema of a {@link Delta}: one flat row per delta, the body union flattened into
 * typed, optional columns, so that a stock JDBC sink writes it as is. {@code kind} says which union
 * member the row holds; columns that do not apply to it are null. Lists of user ids are
 * comma-separated strings (MySQL has no array type), a list of attachments the text of {@link
 * DeltaColumns#ATTACHMENTS}, a delivery update's list of device marks that of {@link
 * DeltaColumns#DELIVERIES}. The fields are exactly the columns {@link DeltaColumns#write} produces.
 *
 * <p>Version 3 added {@code emoji}, {@code attachments} and {@code rule} (issue 20). The sink does
 * not evolve the table ({@code schema.evolution=none}): migration V7 must have added the columns
 * before a worker with this plugin writes a row. Version 4 added {@code deliveries} (delivery
 * receipts, kind {@code delivery_update}): migration V8 must have added it first, likewise.
 *
 * <p>The row's key column {@code position} (the delta's offset in iris.log) is not in this schema:
 * a Delta's bytes carry no position. The sink adds it from the record's offset with Connect's
 * {@code InsertField$Value} ({@code offset.field=position!}, see {@code
 * connect/iris-mysql-sink.json}), which copies this schema's name and fields and appends a required
 * INT64 {@code position}.
 */
public final class DeltaSchema {
  private DeltaSchema() {}

  public static final Schema SCHEMA =
      SchemaBuilder.struct()
          .name("io.iris.Delta")
          .version(4)
          .doc("One delta of iris.log; see protocol/src/main/thrift/iris.thrift")
          .field(DeltaColumns.USER_ID, Schema.INT64_SCHEMA)
          .field(DeltaColumns.THREAD_ID, Schema.INT64_SCHEMA)
          .field(DeltaColumns.SERVER_TS_MS, Schema.INT64_SCHEMA)
          .field(DeltaColumns.KIND, Schema.STRING_SCHEMA)
          .field(DeltaColumns.ACTOR_USER_ID, Schema.OPTIONAL_INT64_SCHEMA)
          .field(DeltaColumns.MESSAGE_ID, Schema.OPTIONAL_INT64_SCHEMA)
          .field(DeltaColumns.TEXT, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.CLIENT_ID, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.SENDER_DEVICE_ID, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.THREAD_NAME, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.PARTICIPANT_IDS, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.ADDED_IDS, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.REMOVED_IDS, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.READ_UP_TO_MESSAGE_ID, Schema.OPTIONAL_INT64_SCHEMA)
          .field(DeltaColumns.ERROR_CODE, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.EMOJI, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.ATTACHMENTS, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.RULE, Schema.OPTIONAL_STRING_SCHEMA)
          .field(DeltaColumns.DELIVERIES, Schema.OPTIONAL_STRING_SCHEMA)
          .build();

  /** The row of one delta. */
  public static Struct toStruct(Delta d) {
    Struct s = new Struct(SCHEMA);
    try {
      DeltaColumns.write(d, s::put);
    } catch (DeltaColumns.MappingException e) {
      throw new DataException(e.getMessage() + "; upgrade the iris plugin", e);
    }
    return s;
  }

  /**
   * The delta of one row; the inverse of {@link #toStruct}. A row with a {@code position} field
   * (after the sink's {@code InsertField}) gives a delta with {@code pos} set.
   */
  public static Delta fromStruct(Struct s) {
    try {
      return DeltaColumns.read(name -> s.schema().field(name) == null ? null : s.get(name));
    } catch (DeltaColumns.MappingException | ClassCastException e) {
      throw new DataException("not an " + SCHEMA.name() + " row: " + e.getMessage(), e);
    }
  }
}
