package io.iris.topics;

import io.iris.protocol.thrift.Attachment;
import io.iris.protocol.thrift.DeviceRecord;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.MessageFormatter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.thrift.TBase;
import org.apache.thrift.TException;
import org.apache.thrift.TSerializer;
import org.apache.thrift.protocol.TField;
import org.apache.thrift.protocol.TSimpleJSONProtocol;
import org.apache.thrift.protocol.TStruct;
import org.apache.thrift.protocol.TType;

/**
 * Prints the project's records as one JSON object per line, for Kafka's stock console consumer:
 *
 * <pre>
 * ./iris kafka kafka-console-consumer --bootstrap-server 127.0.0.1:9092 --topic iris.log \
 *     --from-beginning --formatter io.iris.topics.IrisRecordFormatter
 * </pre>
 *
 * Keys and values are decoded as the topic registry ({@link Topics}) says. A key the registry does
 * not decode (a dead letter's, any key of a topic outside the registry, a string key that is not
 * UTF-8) is printed as base64 under {@code "key_base64"} instead of {@code "key"}; a value that
 * does not decode as {@code {"base64":..}} with the reason; dead letters with their headers. Device
 * token hashes and salts are never printed. Long keys (user and thread ids) are JSON numbers, which
 * a JavaScript or jq reader rounds past 2^53. Binary fields are printed as hex (an attachment's
 * sha256 as {@code sha256sum} prints it), except an attachment's preview, of which only the size is
 * printed ({@code "preview":{"bytes":812}}): an image is no use in a terminal.
 */
public final class IrisRecordFormatter implements MessageFormatter {
  @Override
  public void configure(Map<String, ?> configs) {}

  @Override
  public void writeTo(ConsumerRecord<byte[], byte[]> record, PrintStream output) {
    output.println(toJson(record));
  }

  /** One record as a JSON object. */
  public static String toJson(ConsumerRecord<byte[], byte[]> r) {
    Topic<?, ?> topic =
        Topics.ALL.stream().filter(t -> t.name().equals(r.topic())).findFirst().orElse(null);
    StringBuilder b = new StringBuilder("{");
    b.append("\"topic\":").append(quote(r.topic()));
    b.append(",\"partition\":").append(r.partition());
    b.append(",\"offset\":").append(quote(Long.toString(r.offset())));
    b.append(",\"timestamp\":").append(quote(Long.toString(r.timestamp())));
    appendKey(b, topic, r.key());
    b.append(",\"value\":").append(value(topic, r));
    if (r.headers().toArray().length > 0) {
      b.append(",\"headers\":{");
      boolean first = true;
      for (Header h : r.headers()) {
        if (!first) {
          b.append(',');
        }
        first = false;
        b.append(quote(h.key()))
            .append(':')
            .append(
                h.value() == null ? "null" : quote(new String(h.value(), StandardCharsets.UTF_8)));
      }
      b.append('}');
    }
    return b.append('}').toString();
  }

  /**
   * {@code "key":} the key as the registry decodes it (a long key as a decimal string, like every
   * int64 here, a string key as text), or {@code "key_base64":} its bytes when the registry does
   * not decode it: a dead letter's key (any bytes a client sent), a key of a topic not in the
   * registry, a string key that is not UTF-8.
   */
  private static void appendKey(StringBuilder b, Topic<?, ?> topic, byte[] k) {
    if (k == null) {
      b.append(",\"key\":null");
      return;
    }
    if (topic != null && topic != Topics.DLQ && topic != Topics.SINK_DLQ) {
      Object deserializer = topic.keySerde().deserializer();
      if (deserializer instanceof LongDeserializer && k.length == 8) {
        b.append(",\"key\":").append(quote(Long.toString(ByteBuffer.wrap(k).getLong())));
        return;
      }
      String text = deserializer instanceof StringDeserializer ? utf8(k) : null;
      if (text != null) {
        b.append(",\"key\":").append(quote(text));
        return;
      }
    }
    b.append(",\"key_base64\":").append(quote(Base64.getEncoder().encodeToString(k)));
  }

  /** The bytes as a string if they are well-formed UTF-8, else null. */
  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static String value(Topic<?, ?> topic, ConsumerRecord<byte[], byte[]> r) {
    byte[] v = r.value();
    if (v == null) {
      return "null";
    }
    if (topic == null || topic == Topics.DLQ || topic == Topics.SINK_DLQ) {
      return "{\"base64\":" + quote(Base64.getEncoder().encodeToString(v)) + "}";
    }
    try {
      Object o = topic.valueSerde().deserializer().deserialize(r.topic(), v);
      if (o instanceof DeviceRecord d) {
        d = d.deepCopy(); // hash and salt are not the token, but are nobody's business either
        d.setTokenHash(new byte[0]);
        d.setSalt(new byte[0]);
        o = d;
      }
      if (io.iris.protocol.FrameCodec.holdsUnknownMember(o)) {
        // Valid, of a newer writer: this version cannot print what it does not know.
        return "{\"newerKind\":"
            + quote("holds a kind newer than this tool (a union member it does not know)")
            + ",\"base64\":"
            + quote(Base64.getEncoder().encodeToString(v))
            + "}";
      }
      return json((TBase<?, ?>) o);
    } catch (RuntimeException e) {
      if (topic == Topics.DEVICES) {
        return "{\"undecodable\":\"not a DeviceRecord frame\"}"; // its message may hold the hash
      }
      return "{\"undecodable\":"
          + quote(String.valueOf(e.getMessage()))
          + ",\"base64\":"
          + quote(Base64.getEncoder().encodeToString(v))
          + "}";
    }
  }

  /**
   * A Thrift struct as JSON with field names (Thrift's simple JSON protocol), every i64 as a
   * decimal string, as protobuf's JSON mapping does: ids use all 63 bits (derived thread ids), and
   * JavaScript and jq read JSON numbers as doubles, exact only below 2^53. Binary fields as hex, a
   * preview as its size only (see {@link Int64AsString}).
   */
  public static String json(TBase<?, ?> struct) {
    try {
      return new String(
          new TSerializer(Int64AsString::new).serialize(struct), StandardCharsets.UTF_8);
    } catch (TException e) {
      throw new IllegalStateException(e);
    }
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /**
   * Thrift's simple JSON protocol with i64 values written as JSON strings, and binary values as hex
   * instead of its raw bytes taken as UTF-8 (unreadable, and lossy). The field named {@code
   * preview} (Attachment's, up to commands.max.preview.bytes of an image) is written as {@code
   * {"bytes":N}}: its size, never its bytes.
   */
  static final class Int64AsString extends TSimpleJSONProtocol {
    /** The name of the field being written; a binary value is always a field's own. */
    private String field = "";

    Int64AsString(org.apache.thrift.transport.TTransport transport) {
      super(transport);
    }

    @Override
    public void writeFieldBegin(TField f) throws TException {
      field = f.name;
      super.writeFieldBegin(f);
    }

    @Override
    public void writeI64(long i64) throws TException {
      writeString(Long.toString(i64));
    }

    @Override
    public void writeBinary(ByteBuffer bin) throws TException {
      if (PREVIEW.equals(field)) {
        writeStructBegin(new TStruct());
        writeFieldBegin(new TField("bytes", TType.I32, (short) 1));
        writeI32(bin.remaining());
        writeFieldEnd();
        writeFieldStop();
        writeStructEnd();
        return;
      }
      byte[] bytes = new byte[bin.remaining()];
      bin.duplicate().get(bytes);
      writeString(HexFormat.of().formatHex(bytes));
    }
  }

  private static final String PREVIEW =
      Attachment.metaDataMap.get(Attachment._Fields.PREVIEW).fieldName;
}
