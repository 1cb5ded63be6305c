package io.iris.topics;

import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.CommandRejected;
import io.iris.protocol.thrift.DeliveryUpdate;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceDelivery;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.MessageDeleted;
import io.iris.protocol.thrift.MessageEdited;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.ReactionChanged;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.ThreadCreated;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.thrift.TBase;
import org.apache.thrift.TException;
import org.apache.thrift.protocol.TJSONProtocol;
import org.apache.thrift.protocol.TList;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.protocol.TType;
import org.apache.thrift.transport.TMemoryBuffer;
import org.apache.thrift.transport.TMemoryInputTransport;

/**
 * A {@link Delta} as one flat row: the fields of the delta, then its body union flattened into
 * optional columns, {@code kind} saying which member the row holds. Columns that do not apply to a
 * kind are null. Lists of user ids are comma-separated strings; a list of structs (attachments,
 * deliveries) is Thrift's JSON protocol text ({@link #ATTACHMENTS}, {@link #DELIVERIES}). The one
 * mapping shared by the Connect converter (rows the JDBC sink writes) and the storage tier (rows
 * read back): every delta round-trips exactly.
 */
public final class DeltaColumns {
  private DeltaColumns() {}

  public static final String USER_ID = "user_id";

  /**
   * The delta's position: its offset in the user's partition of iris.log. Not in the delta's bytes:
   * the sink adds it from the record's offset (Connect's {@code InsertField}), and it is read back
   * into {@link Delta#pos}.
   */
  public static final String POSITION = "position";

  public static final String THREAD_ID = "thread_id";
  public static final String SERVER_TS_MS = "server_ts_ms";
  public static final String KIND = "kind";
  public static final String ACTOR_USER_ID = "actor_user_id";
  public static final String MESSAGE_ID = "message_id";
  public static final String TEXT = "text";
  public static final String CLIENT_ID = "client_id";
  public static final String SENDER_DEVICE_ID = "sender_device_id";
  public static final String THREAD_NAME = "thread_name";
  public static final String PARTICIPANT_IDS = "participant_ids";
  public static final String ADDED_IDS = "added_ids";
  public static final String REMOVED_IDS = "removed_ids";
  public static final String READ_UP_TO_MESSAGE_ID = "read_up_to_message_id";
  public static final String ERROR_CODE = "error_code";

  /** A reaction's emoji; null in a reaction_changed row: the reactor removed theirs. */
  public static final String EMOJI = "emoji";

  /**
   * A new message's attachments, null when it has none: the list in Thrift's own JSON protocol
   * ({@code TJSONProtocol}), which round-trips every field exactly (binary sha256 and preview as
   * base64, unset optionals absent) and is valid JSON that MySQL's JSON functions read. Its fields
   * are named by their ids in the IDL ({@code Attachment}), each with its type: {@code
   * ["rec",1,{"1":{"str":"image/jpeg"},"2":{"i64":5120},"3":{"str":"<sha256, base64>"},
   * "4":{"str":"https://..."}}]}, so {@code JSON_VALUE(attachments, '$[2]."4".str')} is the first
   * attachment's url. (Field names would read better, but Thrift's only JSON protocol with names
   * cannot be read back.)
   */
  public static final String ATTACHMENTS = "attachments";

  /** The rule that refused a command (CommandRejected.rule), the same name as the dlq reason. */
  public static final String RULE = "rule";

  /**
   * A delivery update's list of device marks, never null in a delivery_update row: the list in
   * Thrift's JSON protocol as {@link #ATTACHMENTS} is, fields by their ids in the IDL's {@code
   * DeviceDelivery} ({@code 1} userId, {@code 2} deviceId, {@code 3} upToMessageId): {@code
   * ["rec",1,{"1":{"i64":43},"2":{"str":"phone"},"3":{"i64":17}}]}, so {@code
   * JSON_VALUE(deliveries, '$[2]."3".i64')} is the first device's mark.
   */
  public static final String DELIVERIES = "deliveries";

  public static final String KIND_NEW_MESSAGE = "new_message";
  public static final String KIND_THREAD_CREATED = "thread_created";
  public static final String KIND_PARTICIPANTS_CHANGED = "participants_changed";
  public static final String KIND_READ_RECEIPT = "read_receipt";
  public static final String KIND_COMMAND_REJECTED = "command_rejected";
  public static final String KIND_MESSAGE_EDITED = "message_edited";
  public static final String KIND_MESSAGE_DELETED = "message_deleted";
  public static final String KIND_REACTION_CHANGED = "reaction_changed";
  public static final String KIND_DELIVERY_UPDATE = "delivery_update";

  /** Thrown for a delta or a row that cannot be mapped. */
  public static final class MappingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    MappingException(String message) {
      super(message);
    }
  }

  /** Writes every column of {@code d} (nulls included) to {@code column}. */
  public static void write(Delta d, BiConsumer<String, Object> column) {
    column.accept(USER_ID, d.getUserId());
    column.accept(THREAD_ID, d.getThreadId());
    column.accept(SERVER_TS_MS, d.getServerTimestampMs());
    DeltaBody body = d.getBody();
    if (body == null || body.getSetField() == null) {
      throw new MappingException(
          "delta of thread "
              + d.getThreadId()
              + " for user "
              + d.getUserId()
              + " has a body kind this version does not know");
    }
    Long actor = null;
    Long messageId = null;
    String text = null;
    String clientId = null;
    String device = null;
    String threadName = null;
    String participants = null;
    String added = null;
    String removed = null;
    Long readUpTo = null;
    String error = null;
    String emoji = null;
    String attachments = null;
    String rule = null;
    String deliveries = null;
    String kind;
    switch (body.getSetField()) {
      case NEW_MESSAGE -> {
        NewMessage m = body.getNewMessage();
        kind = KIND_NEW_MESSAGE;
        actor = m.getSenderUserId();
        messageId = m.getMessageId();
        text = m.getText();
        clientId = m.getClientId();
        device = m.getSenderDeviceId();
        attachments = m.isSetAttachments() ? attachments(m.getAttachments()) : null;
      }
      case MESSAGE_EDITED -> {
        MessageEdited e = body.getMessageEdited();
        kind = KIND_MESSAGE_EDITED;
        actor = e.getSenderUserId();
        messageId = e.getMessageId();
        text = e.getText();
        clientId = e.getClientId();
      }
      case MESSAGE_DELETED -> {
        MessageDeleted x = body.getMessageDeleted();
        kind = KIND_MESSAGE_DELETED;
        actor = x.getDeletedByUserId();
        messageId = x.getMessageId();
        clientId = x.getClientId();
      }
      case REACTION_CHANGED -> {
        ReactionChanged r = body.getReactionChanged();
        kind = KIND_REACTION_CHANGED;
        actor = r.getReactorUserId();
        messageId = r.getMessageId();
        emoji = r.getEmoji();
        clientId = r.getClientId();
      }
      case DELIVERY_UPDATE -> {
        // No actor (the marks are of many devices) and no message id (each mark has its own).
        DeliveryUpdate u = body.getDeliveryUpdate();
        kind = KIND_DELIVERY_UPDATE;
        if (u.getDeliveries() == null) {
          throw new MappingException(
              "delivery update of thread " + d.getThreadId() + " has no list of deliveries");
        }
        deliveries = deliveries(u.getDeliveries());
      }
      case THREAD_CREATED -> {
        ThreadCreated t = body.getThreadCreated();
        kind = KIND_THREAD_CREATED;
        actor = t.getCreatorUserId();
        participants = ids(t.getParticipantUserIds());
        threadName = t.getName();
        clientId = t.getClientId();
      }
      case PARTICIPANTS_CHANGED -> {
        ParticipantsChanged p = body.getParticipantsChanged();
        kind = KIND_PARTICIPANTS_CHANGED;
        actor = p.getActorUserId();
        participants = ids(p.getParticipantUserIds());
        added = ids(p.getAddedUserIds());
        removed = ids(p.getRemovedUserIds());
        threadName = p.getThreadName();
        clientId = p.getClientId();
      }
      case READ_RECEIPT -> {
        ReadReceipt r = body.getReadReceipt();
        kind = KIND_READ_RECEIPT;
        actor = r.getReaderUserId();
        readUpTo = r.getUpToMessageId();
        clientId = r.getClientId();
      }
      case COMMAND_REJECTED -> {
        CommandRejected c = body.getCommandRejected();
        kind = KIND_COMMAND_REJECTED;
        actor = d.getUserId();
        clientId = c.getClientId();
        error = c.getCode().name();
        text = c.getReason();
        rule = c.getRule();
      }
      default -> throw new MappingException("unknown body " + body.getSetField());
    }
    column.accept(KIND, kind);
    column.accept(ACTOR_USER_ID, actor);
    column.accept(MESSAGE_ID, messageId);
    column.accept(TEXT, text);
    column.accept(CLIENT_ID, clientId);
    column.accept(SENDER_DEVICE_ID, device);
    column.accept(THREAD_NAME, threadName);
    column.accept(PARTICIPANT_IDS, participants);
    column.accept(ADDED_IDS, added);
    column.accept(REMOVED_IDS, removed);
    column.accept(READ_UP_TO_MESSAGE_ID, readUpTo);
    column.accept(ERROR_CODE, error);
    column.accept(EMOJI, emoji);
    column.accept(ATTACHMENTS, attachments);
    column.accept(RULE, rule);
    column.accept(DELIVERIES, deliveries);
  }

  /** Reads a delta back from its columns; the inverse of {@link #write}. */
  public static Delta read(Function<String, Object> column) {
    String kind = (String) column.apply(KIND);
    long actor = longOr0(column.apply(ACTOR_USER_ID));
    String clientId = (String) column.apply(CLIENT_ID);
    DeltaBody body;
    if (KIND_NEW_MESSAGE.equals(kind)) {
      body =
          DeltaBody.newMessage(
              new NewMessage(longOr0(column.apply(MESSAGE_ID)), actor, (String) column.apply(TEXT))
                  .setClientId(clientId)
                  .setSenderDeviceId((String) column.apply(SENDER_DEVICE_ID))
                  .setAttachments(attachments((String) column.apply(ATTACHMENTS))));
    } else if (KIND_MESSAGE_EDITED.equals(kind)) {
      body =
          DeltaBody.messageEdited(
              new MessageEdited(
                      longOr0(column.apply(MESSAGE_ID)), actor, (String) column.apply(TEXT))
                  .setClientId(clientId));
    } else if (KIND_MESSAGE_DELETED.equals(kind)) {
      body =
          DeltaBody.messageDeleted(
              new MessageDeleted(longOr0(column.apply(MESSAGE_ID)), actor).setClientId(clientId));
    } else if (KIND_REACTION_CHANGED.equals(kind)) {
      body =
          DeltaBody.reactionChanged(
              new ReactionChanged(longOr0(column.apply(MESSAGE_ID)), actor)
                  .setEmoji((String) column.apply(EMOJI))
                  .setClientId(clientId));
    } else if (KIND_DELIVERY_UPDATE.equals(kind)) {
      List<DeviceDelivery> list = deliveries((String) column.apply(DELIVERIES));
      if (list == null) {
        throw new MappingException("delivery_update row without deliveries");
      }
      body = DeltaBody.deliveryUpdate(new DeliveryUpdate(list));
    } else if (KIND_THREAD_CREATED.equals(kind)) {
      body =
          DeltaBody.threadCreated(
              new ThreadCreated(actor, parse(column.apply(PARTICIPANT_IDS)))
                  .setName((String) column.apply(THREAD_NAME))
                  .setClientId(clientId));
    } else if (KIND_PARTICIPANTS_CHANGED.equals(kind)) {
      body =
          DeltaBody.participantsChanged(
              new ParticipantsChanged(
                      actor,
                      parse(column.apply(ADDED_IDS)),
                      parse(column.apply(REMOVED_IDS)),
                      parse(column.apply(PARTICIPANT_IDS)))
                  .setThreadName((String) column.apply(THREAD_NAME))
                  .setClientId(clientId));
    } else if (KIND_READ_RECEIPT.equals(kind)) {
      body =
          DeltaBody.readReceipt(
              new ReadReceipt(actor, longOr0(column.apply(READ_UP_TO_MESSAGE_ID)))
                  .setClientId(clientId));
    } else if (KIND_COMMAND_REJECTED.equals(kind)) {
      body =
          DeltaBody.commandRejected(
              new CommandRejected(
                      clientId,
                      ErrorCode.valueOf((String) column.apply(ERROR_CODE)),
                      (String) column.apply(TEXT))
                  .setRule((String) column.apply(RULE)));
    } else {
      throw new MappingException("unknown delta kind '" + kind + "'");
    }
    Delta d =
        new Delta(
            longOr0(column.apply(USER_ID)),
            longOr0(column.apply(THREAD_ID)),
            longOr0(column.apply(SERVER_TS_MS)),
            body);
    Object position = column.apply(POSITION);
    if (position != null) {
      d.setPos(((Number) position).longValue());
    }
    return d;
  }

  private static long longOr0(Object o) {
    return o == null ? 0L : ((Number) o).longValue();
  }

  static String ids(List<Long> ids) {
    return ids == null ? null : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  static List<Long> parse(Object ids) {
    List<Long> out = new ArrayList<>();
    if (ids != null && !ids.toString().isEmpty()) {
      for (String id : ids.toString().split(",")) {
        out.add(Long.valueOf(id));
      }
    }
    return out;
  }

  /**
   * The {@link #ATTACHMENTS} text of a list: the list alone in Thrift's JSON protocol (no wrapper
   * struct: the protocol writes a list as is, and every attachment is written by its generated
   * code, so a field added to Attachment later is kept without a change here).
   */
  public static String attachments(List<Attachment> list) {
    return structs(list, ATTACHMENTS);
  }

  /** The list of an {@link #ATTACHMENTS} text; null for null (the message has none). */
  public static List<Attachment> attachments(String json) {
    return structs(json, Attachment::new, ATTACHMENTS);
  }

  /** The {@link #DELIVERIES} text of a list, written as {@link #attachments(List)} is. */
  public static String deliveries(List<DeviceDelivery> list) {
    return structs(list, DELIVERIES);
  }

  /** The list of a {@link #DELIVERIES} text; null for null. */
  public static List<DeviceDelivery> deliveries(String json) {
    return structs(json, DeviceDelivery::new, DELIVERIES);
  }

  /**
   * A list of structs as Thrift's JSON protocol text: the list alone (no wrapper struct), each
   * element written by its generated code, so a field added to the struct later is kept without a
   * change here.
   */
  private static String structs(List<? extends TBase<?, ?>> list, String what) {
    try {
      TMemoryBuffer buffer = new TMemoryBuffer(256);
      TProtocol p = new TJSONProtocol(buffer);
      p.writeListBegin(new TList(TType.STRUCT, list.size()));
      for (TBase<?, ?> e : list) {
        e.write(p);
      }
      p.writeListEnd();
      return buffer.toString(StandardCharsets.UTF_8);
    } catch (TException e) {
      throw new MappingException(what + " do not encode: " + e.getMessage());
    }
  }

  /** The list of a {@link #structs(List, String)} text; null for null. */
  private static <T extends TBase<?, ?>> List<T> structs(
      String json, Supplier<T> element, String what) {
    if (json == null) {
      return null;
    }
    try {
      TProtocol p =
          new TJSONProtocol(new TMemoryInputTransport(json.getBytes(StandardCharsets.UTF_8)));
      TList header = p.readListBegin();
      if (header.elemType != TType.STRUCT) {
        throw new MappingException(what + " are not a list of structs: " + json);
      }
      List<T> out = new ArrayList<>(Math.max(0, Math.min(header.size, 1024)));
      for (int i = 0; i < header.size; i++) {
        T e = element.get();
        e.read(p);
        out.add(e);
      }
      p.readListEnd();
      return out;
    } catch (TException e) {
      throw new MappingException(what + " do not decode (" + e.getMessage() + "): " + json);
    }
  }
}
