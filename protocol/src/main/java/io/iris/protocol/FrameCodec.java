package io.iris.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.thrift.TBase;
import org.apache.thrift.TByteArrayOutputStream;
import org.apache.thrift.TConfiguration;
import org.apache.thrift.TException;
import org.apache.thrift.TFieldIdEnum;
import org.apache.thrift.TUnion;
import org.apache.thrift.meta_data.FieldMetaData;
import org.apache.thrift.meta_data.FieldValueMetaData;
import org.apache.thrift.meta_data.ListMetaData;
import org.apache.thrift.meta_data.MapMetaData;
import org.apache.thrift.meta_data.SetMetaData;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TJSONProtocol;
import org.apache.thrift.protocol.TType;
import org.apache.thrift.transport.TIOStreamTransport;
import org.apache.thrift.transport.TMemoryInputTransport;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.TTransportException;

/**
 * Encodes and decodes versioned frames: one version byte, then the Thrift compact encoding of one
 * struct. This is the only place that knows the layout; every topic value and every MQTT payload
 * goes through it.
 *
 * <p>Decoding is defensive: it never allocates more than the frame's own size for a string or a
 * list (lengths are checked against the bytes that remain), refuses frames above {@link
 * #maxFrameBytes()}, unknown versions, trailing bytes, missing required fields and strings that are
 * not UTF-8, and reports each case as a {@link FrameException} with a countable {@link
 * FrameException.Reason}.
 *
 * <p>A union member this version does not know (a newer writer's) is skipped by Thrift and leaves
 * the union empty: that is a valid frame, not a malformed one (docs/PROTOCOL.md, "Frames"). Whoever
 * reads a union checks {@code getSetField() != null} and skips what it does not know; {@link
 * #holdsUnknownMember} tells whether a decoded struct holds such a union anywhere.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class FrameCodec {

  /**
   * Version 1: positions were per-user counters (seq). Retired; never read. The only frame written
   * in it is the answer to a version-1 frame ({@link #encodeRetired}), so that an old app can read
   * that it must upgrade and take a new snapshot.
   */
  public static final byte VERSION_1 = 1;

  /**
   * Version 2 (positions are offsets of iris.log): what this code writes, and the only one it
   * reads.
   */
  public static final byte VERSION_2 = 2;

  /** The version this code writes. */
  public static final byte VERSION = VERSION_2;

  /**
   * The current version in text: {@code 'J'} then the struct in Thrift's JSON protocol. Printable,
   * and newline-free (the JSON protocol escapes control characters), so a frame is one line of a
   * text file, which is what {@code kafka-producer-perf-test --payload-file} sends. Only a codec
   * made with {@link #acceptingText()} reads it; devices never send it.
   */
  public static final byte VERSION_TEXT = 'J';

  /** Default upper bound of one frame: 1 MiB. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 1 << 20;

  private static final FrameCodec DEFAULT = new FrameCodec(DEFAULT_MAX_FRAME_BYTES);

  private final int maxFrameBytes;
  private final TConfiguration configuration;
  private final boolean acceptText;

  public FrameCodec(int maxFrameBytes) {
    this(maxFrameBytes, false);
  }

  private FrameCodec(int maxFrameBytes, boolean acceptText) {
    this.acceptText = acceptText;
    if (maxFrameBytes < 2) {
      throw new IllegalArgumentException("maxFrameBytes must be at least 2, was " + maxFrameBytes);
    }
    this.maxFrameBytes = maxFrameBytes;
    this.configuration =
        new TConfiguration(maxFrameBytes, maxFrameBytes, TConfiguration.DEFAULT_RECURSION_DEPTH);
  }

  /** A codec with the default 1 MiB frame limit. */
  public static FrameCodec defaults() {
    return DEFAULT;
  }

  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  /** The same limits, and text frames ({@link #VERSION_TEXT}) read as well as binary ones. */
  public FrameCodec acceptingText() {
    return new FrameCodec(maxFrameBytes, true);
  }

  /** Encodes {@code value} as a text frame: {@code 'J'} then Thrift JSON, one line. */
  public String encodeText(TBase<?, ?> value) {
    TByteArrayOutputStream out = new TByteArrayOutputStream(256);
    out.write(VERSION_TEXT);
    try {
      value.write(new TJSONProtocol(new TIOStreamTransport(configuration, out)));
    } catch (TException e) {
      throw new IllegalArgumentException(
          "cannot encode " + value.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
    return new String(out.get(), 0, out.len(), StandardCharsets.UTF_8);
  }

  /** Encodes {@code value} as a frame of the current version. */
  public byte[] encode(TBase<?, ?> value) {
    return encode(VERSION, value);
  }

  /**
   * Encodes {@code value} in the retired version 1, for the one answer given to a version-1 frame:
   * a {@code ServerFrame} with a {@code ServerError}, whose layout did not change between versions.
   */
  public byte[] encodeRetired(TBase<?, ?> value) {
    return encode(VERSION_1, value);
  }

  private byte[] encode(byte version, TBase<?, ?> value) {
    FrameOutput out = new FrameOutput(configuration);
    out.write(version);
    try {
      value.write(new TCompactProtocol(out));
    } catch (TException e) {
      // Only a struct with an unset required field fails here: a programming error.
      throw new IllegalArgumentException(
          "cannot encode " + value.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
    if (out.len > maxFrameBytes) {
      throw new FrameException(
          FrameException.Reason.FRAME_TOO_LARGE,
          value.getClass().getSimpleName()
              + " encodes to "
              + out.len
              + " bytes, above the limit of "
              + maxFrameBytes);
    }
    return Arrays.copyOf(out.bytes, out.len);
  }

  /**
   * Decodes a frame into a new instance from {@code factory}.
   *
   * @throws FrameException when the frame is empty, too large, of an unknown version, or does not
   *     parse as exactly one complete struct
   */
  public <T extends TBase<?, ?>> T decode(byte[] frame, Supplier<T> factory) {
    if (frame == null || frame.length == 0) {
      throw new FrameException(FrameException.Reason.EMPTY, "empty frame");
    }
    if (frame.length > maxFrameBytes) {
      throw new FrameException(
          FrameException.Reason.FRAME_TOO_LARGE,
          "frame of " + frame.length + " bytes is above the limit of " + maxFrameBytes);
    }
    boolean text = acceptText && frame[0] == VERSION_TEXT;
    if (frame[0] == VERSION_1) {
      throw new FrameException(
          FrameException.Reason.RETIRED_VERSION,
          "frame version 1 is retired: positions are now offsets of iris.log (version "
              + VERSION
              + "); upgrade the app, then take a new snapshot");
    }
    if (frame[0] != VERSION && !text) {
      throw new FrameException(
          FrameException.Reason.UNSUPPORTED_VERSION,
          "frame version "
              + (frame[0] & 0xff)
              + " is not supported (this side speaks "
              + VERSION
              + ")");
    }
    T value = factory.get();
    try {
      TMemoryInputTransport in =
          new TMemoryInputTransport(configuration, frame, 1, frame.length - 1);
      value.read(text ? new TJSONProtocol(in) : new StrictCompactProtocol(in, maxFrameBytes));
      if (in.getBytesRemainingInBuffer() != 0) {
        throw new FrameException(
            FrameException.Reason.MALFORMED,
            in.getBytesRemainingInBuffer()
                + " trailing bytes after "
                + value.getClass().getSimpleName());
      }
    } catch (TException | RuntimeException e) {
      if (e instanceof FrameException fe) {
        if (fe.reason() == FrameException.Reason.INVALID_UTF8) {
          throw new FrameException(
              fe.reason(),
              "a string in the " + value.getClass().getSimpleName() + " is not valid UTF-8");
        }
        throw fe;
      }
      throw new FrameException(
          FrameException.Reason.MALFORMED, malformed(value.getClass().getSimpleName(), e), e);
    }
    return value;
  }

  private static final java.util.regex.Pattern REQUIRED_FIELD =
      java.util.regex.Pattern.compile("Required field '(\\w+)'");

  /**
   * Why a frame did not parse, in the protocol's terms: a device's developer reads it in an error
   * frame, so it names the struct and the field, never Thrift's or Java's internals (those stay in
   * the cause, for the server's log).
   */
  static String malformed(String struct, Exception e) {
    String m = String.valueOf(e.getMessage());
    if (e instanceof TTransportException) {
      return "truncated " + struct + ": the frame ends inside it";
    }
    java.util.regex.Matcher required = REQUIRED_FIELD.matcher(m);
    if (required.find()) {
      return "required field '" + required.group(1) + "' missing in a struct of the " + struct;
    }
    if (m.contains("exceeds limit") || m.contains("Negative length")) {
      return "a length inside the " + struct + " does not fit the frame";
    }
    return "not a valid " + struct + " in Thrift compact encoding (corrupt or of another kind)";
  }

  /**
   * Whether {@code node} holds, at any depth, a union with none of its members set: a member of a
   * newer writer that this version skipped (Thrift reads it without complaint). Such a struct is
   * valid but cannot be encoded again by this version (Thrift refuses to write an empty union):
   * whoever forwards it forwards its bytes (see {@link DeltaFrames}).
   *
   * <p>The walk visits only the fields that can hold a union ({@link #UNION_FIELDS}): a thread
   * state, whose fields are numbers, strings and lists and maps of numbers, costs one lookup.
   */
  @SuppressWarnings({"rawtypes", "unchecked"})
  public static boolean holdsUnknownMember(Object node) {
    if (node instanceof TUnion union) {
      return union.getSetField() == null || holdsUnknownMember(union.getFieldValue());
    } else if (node instanceof TBase struct) {
      for (TFieldIdEnum id : UNION_FIELDS.get(struct.getClass())) {
        if (struct.isSet(id) && holdsUnknownMember(struct.getFieldValue(id))) {
          return true;
        }
      }
    } else if (node instanceof Collection<?> items) {
      for (Object item : items) {
        if (!(item instanceof TBase<?, ?>)) {
          return false; // a list of scalars: nothing below
        }
        if (holdsUnknownMember(item)) {
          return true;
        }
      }
    } else if (node instanceof Map<?, ?> map) {
      return holdsUnknownMember(map.keySet()) || holdsUnknownMember(map.values());
    }
    return false;
  }

  /**
   * The requestId of a {@code DeviceRequest} frame that is refused as a whole (too large,
   * malformed), read from its first field when that is one: Thrift writes fields in id order, and
   * the requestId is field 1. Best effort, so that the error frame names the request it answers;
   * null when the frame does not start that way.
   */
  public static String requestIdOf(byte[] frame) {
    return requestIdOf(frame, VERSION);
  }

  /** {@link #requestIdOf(byte[])} of a frame of the given version (1: the retired one). */
  public static String requestIdOf(byte[] frame, byte version) {
    if (frame == null || frame.length < 3 || frame[0] != version) {
      return null;
    }
    try {
      TMemoryInputTransport in =
          new TMemoryInputTransport(DEFAULT.configuration, frame, 1, frame.length - 1);
      StrictCompactProtocol p = new StrictCompactProtocol(in, frame.length);
      p.readStructBegin();
      org.apache.thrift.protocol.TField f = p.readFieldBegin();
      if (f.id != 1 || f.type != TType.STRING) {
        return null;
      }
      String id = p.readString();
      return IdLimits.validId(id) ? id : null;
    } catch (TException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Thrift's compact protocol, refusing a string that is not UTF-8 instead of replacing its bytes
   * with U+FFFD as {@code new String(bytes, UTF_8)} does: a device's text is stored and shown as
   * sent, or refused with a reason.
   */
  private static final class StrictCompactProtocol extends TCompactProtocol {
    private static final ThreadLocal<java.nio.charset.CharsetDecoder> UTF8 =
        ThreadLocal.withInitial(StandardCharsets.UTF_8::newDecoder);

    StrictCompactProtocol(TTransport in, int maxFrameBytes) {
      super(in, maxFrameBytes, maxFrameBytes);
    }

    @Override
    public String readString() throws TException {
      java.nio.ByteBuffer bytes = readBinary();
      try {
        return UTF8.get().reset().decode(bytes).toString();
      } catch (java.nio.charset.CharacterCodingException e) {
        throw new FrameException(
            FrameException.Reason.INVALID_UTF8, "a string in the frame is not valid UTF-8");
      }
    }
  }

  /**
   * Per struct class, from Thrift's metadata, the fields that can hold a union: a struct or union,
   * or a container with one inside. Fields of numbers, strings, enums and containers of those
   * cannot, and the union check skips them.
   */
  static final ClassValue<List<TFieldIdEnum>> UNION_FIELDS =
      new ClassValue<>() {
        @Override
        @SuppressWarnings({"unchecked", "rawtypes"})
        protected List<TFieldIdEnum> computeValue(Class<?> type) {
          List<TFieldIdEnum> fields = new ArrayList<>();
          Map<? extends TFieldIdEnum, FieldMetaData> meta =
              FieldMetaData.getStructMetaDataMap((Class) type);
          meta.forEach(
              (id, field) -> {
                if (mayHoldStruct(field.valueMetaData)) {
                  fields.add(id);
                }
              });
          return List.copyOf(fields);
        }
      };

  /** Whether a value of this type can be or contain a struct (unions are structs). */
  static boolean mayHoldStruct(FieldValueMetaData type) {
    if (type.type == TType.STRUCT) {
      return true;
    }
    if (type instanceof ListMetaData list) {
      return mayHoldStruct(list.elemMetaData);
    }
    if (type instanceof SetMetaData set) {
      return mayHoldStruct(set.elemMetaData);
    }
    if (type instanceof MapMetaData map) {
      return mayHoldStruct(map.keyMetaData) || mayHoldStruct(map.valueMetaData);
    }
    // A container named by a typedef carries no element types: assume the worst.
    return type.type == TType.LIST || type.type == TType.SET || type.type == TType.MAP;
  }
}
