package io.iris.connect;

import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.ThreadCreated;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

/**
 * The Connect schema of a {@link Delta}: one flat row per delta, the body union flattened into
 * typed, optional columns, so that a stock JDBC sink writes it as is. {@code kind} says which union
 * member the row holds; columns that do not apply to it are null. Lists of user ids are
 * comma-separated strings (MySQL has no array type).
 */
public final class DeltaSchema {
  private DeltaSchema() {}

  public static final String KIND_NEW_MESSAGE = "new_message";
  public static final String KIND_THREAD_CREATED = "thread_created";
  public static final String KIND_PARTICIPANTS_CHANGED = "participants_changed";
  public static final String KIND_READ_RECEIPT = "read_receipt";
  public static final String KIND_COMMAND_REJECTED = "command_rejected";

  public static final Schema SCHEMA =
      SchemaBuilder.struct()
          .name("io.iris.Delta")
          .version(1)
          .doc("One delta of iris.log; see protocol/src/main/thrift/iris.thrift")
          .field("user_id", Schema.INT64_SCHEMA)
          .field("seq", Schema.INT64_SCHEMA)
          .field("prev_seq", Schema.INT64_SCHEMA)
          .field("thread_id", Schema.INT64_SCHEMA)
          .field("server_ts_ms", Schema.INT64_SCHEMA)
          .field("kind", Schema.STRING_SCHEMA)
          .field("actor_user_id", Schema.OPTIONAL_INT64_SCHEMA)
          .field("message_id", Schema.OPTIONAL_INT64_SCHEMA)
          .field("text", Schema.OPTIONAL_STRING_SCHEMA)
          .field("client_id", Schema.OPTIONAL_STRING_SCHEMA)
          .field("sender_device_id", Schema.OPTIONAL_STRING_SCHEMA)
          .field("thread_name", Schema.OPTIONAL_STRING_SCHEMA)
          .field("participant_ids", Schema.OPTIONAL_STRING_SCHEMA)
          .field("added_ids", Schema.OPTIONAL_STRING_SCHEMA)
          .field("removed_ids", Schema.OPTIONAL_STRING_SCHEMA)
          .field("read_up_to_message_id", Schema.OPTIONAL_INT64_SCHEMA)
          .field("error_code", Schema.OPTIONAL_STRING_SCHEMA)
          .build();

  /** The row of one delta. */
  public static Struct toStruct(Delta d) {
    Struct s =
        new Struct(SCHEMA)
            .put("user_id", d.getUserId())
            .put("seq", d.getSeq())
            .put("prev_seq", d.getPrevSeq())
            .put("thread_id", d.getThreadId())
            .put("server_ts_ms", d.getServerTimestampMs());
    DeltaBody body = d.getBody();
    if (body == null || body.getSetField() == null) {
      throw new DataException(
          "delta seq "
              + d.getSeq()
              + " of user "
              + d.getUserId()
              + " has a body kind this converter does not know; upgrade the iris plugin");
    }
    switch (body.getSetField()) {
      case NEW_MESSAGE -> {
        NewMessage m = body.getNewMessage();
        s.put("kind", KIND_NEW_MESSAGE)
            .put("actor_user_id", m.getSenderUserId())
            .put("message_id", m.getMessageId())
            .put("text", m.getText())
            .put("client_id", m.getClientId())
            .put("sender_device_id", m.getSenderDeviceId());
      }
      case THREAD_CREATED -> {
        ThreadCreated t = body.getThreadCreated();
        s.put("kind", KIND_THREAD_CREATED)
            .put("actor_user_id", t.getCreatorUserId())
            .put("participant_ids", ids(t.getParticipantUserIds()))
            .put("thread_name", t.getName())
            .put("client_id", t.getClientId());
      }
      case PARTICIPANTS_CHANGED -> {
        ParticipantsChanged p = body.getParticipantsChanged();
        s.put("kind", KIND_PARTICIPANTS_CHANGED)
            .put("actor_user_id", p.getActorUserId())
            .put("participant_ids", ids(p.getParticipantUserIds()))
            .put("added_ids", ids(p.getAddedUserIds()))
            .put("removed_ids", ids(p.getRemovedUserIds()))
            .put("thread_name", p.getThreadName())
            .put("client_id", p.getClientId());
      }
      case READ_RECEIPT -> {
        ReadReceipt r = body.getReadReceipt();
        s.put("kind", KIND_READ_RECEIPT)
            .put("actor_user_id", r.getReaderUserId())
            .put("read_up_to_message_id", r.getUpToMessageId())
            .put("client_id", r.getClientId());
      }
      case COMMAND_REJECTED -> {
        CommandRejected c = body.getCommandRejected();
        s.put("kind", KIND_COMMAND_REJECTED)
            .put("actor_user_id", d.getUserId())
            .put("client_id", c.getClientId())
            .put("error_code", c.getCode().name())
            .put("text", c.getReason());
      }
    }
    return s;
  }

  /** The delta of one row; the inverse of {@link #toStruct}. */
  public static Delta fromStruct(Struct s) {
    String kind = s.getString("kind");
    long actor = s.getInt64("actor_user_id") == null ? 0L : s.getInt64("actor_user_id");
    DeltaBody body =
        switch (kind) {
          case KIND_NEW_MESSAGE ->
              DeltaBody.newMessage(
                  new NewMessage(s.getInt64("message_id"), actor, s.getString("text"))
                      .setClientId(s.getString("client_id"))
                      .setSenderDeviceId(s.getString("sender_device_id")));
          case KIND_THREAD_CREATED ->
              DeltaBody.threadCreated(
                  new ThreadCreated(actor, parse(s.getString("participant_ids")))
                      .setName(s.getString("thread_name"))
                      .setClientId(s.getString("client_id")));
          case KIND_PARTICIPANTS_CHANGED ->
              DeltaBody.participantsChanged(
                  new ParticipantsChanged(
                          actor,
                          parse(s.getString("added_ids")),
                          parse(s.getString("removed_ids")),
                          parse(s.getString("participant_ids")))
                      .setThreadName(s.getString("thread_name"))
                      .setClientId(s.getString("client_id")));
          case KIND_READ_RECEIPT ->
              DeltaBody.readReceipt(
                  new ReadReceipt(actor, s.getInt64("read_up_to_message_id"))
                      .setClientId(s.getString("client_id")));
          case KIND_COMMAND_REJECTED ->
              DeltaBody.commandRejected(
                  new CommandRejected(
                      s.getString("client_id"),
                      ErrorCode.valueOf(s.getString("error_code")),
                      s.getString("text")));
          default -> throw new DataException("unknown delta kind '" + kind + "'");
        };
    return new Delta(
        s.getInt64("user_id"),
        s.getInt64("seq"),
        s.getInt64("prev_seq"),
        s.getInt64("thread_id"),
        s.getInt64("server_ts_ms"),
        body);
  }

  static String ids(List<Long> ids) {
    return ids == null ? null : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  static List<Long> parse(String ids) {
    if (ids == null || ids.isEmpty()) {
      return new java.util.ArrayList<>();
    }
    return Arrays.stream(ids.split(",")).map(Long::valueOf).collect(Collectors.toList());
  }
}
