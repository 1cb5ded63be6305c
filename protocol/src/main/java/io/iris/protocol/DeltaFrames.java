package io.iris.protocol;

import io.iris.protocol.thrift.CatchUpTier;
import io.iris.protocol.thrift.Delta;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.thrift.TConfiguration;
import org.apache.thrift.TException;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TField;
import org.apache.thrift.protocol.TList;
import org.apache.thrift.protocol.TStruct;
import org.apache.thrift.protocol.TType;

/**
 * Deltas forwarded to devices as the bytes the streams app wrote, with their position added: the
 * bridge never decodes and encodes a delta again on its way to a device.
 *
 * <p>That is what keeps the protocol's forward-compatibility promise across the server's own parts:
 * Thrift's Java reader drops what it does not know (a delta kind, a field), so a bridge older than
 * the streams app that re-encoded a delta would strip a newer kind to an empty union, which it
 * cannot even write. Forwarding bytes hands a newer delta to a newer device intact, and an older
 * device skips it by the protocol's rule. It also saves a decode and an encode per delta on the
 * push path.
 *
 * <p>A delta in iris.log is {@code [version][Delta in compact encoding, ending with its stop byte]}
 * without {@code pos} and {@code prevPos}. {@link #positioned} drops the version byte and the stop
 * byte, and appends fields 7 ({@code pos}) and 8 ({@code prevPos}) with explicit field ids (the
 * compact encoding's long field header, valid whatever field came last), then the stop byte. {@link
 * #batch} writes the {@code ServerFrame} around such deltas.
 */
public final class DeltaFrames {
  private DeltaFrames() {}

  /** Compact protocol's type nibble of an i64 field. */
  private static final byte COMPACT_I64 = 0x06;

  private static final short POS_FIELD = Delta._Fields.POS.getThriftFieldId();
  private static final short PREV_POS_FIELD = Delta._Fields.PREV_POS.getThriftFieldId();

  private static final TConfiguration CONFIGURATION = new TConfiguration();

  /**
   * The Delta of {@code logFrame} (a frame of iris.log that decodes as a {@code Delta}) as a struct
   * with {@code pos} and {@code prevPos} set, without a version byte: an element of {@link
   * #batch}'s list.
   */
  public static byte[] positioned(byte[] logFrame, long pos, long prevPos) {
    int n = logFrame.length;
    if (n < 2 || logFrame[0] != FrameCodec.VERSION || logFrame[n - 1] != TType.STOP) {
      throw new IllegalArgumentException("not a delta frame of version " + FrameCodec.VERSION);
    }
    byte[] out = new byte[positionedLength(n, pos, prevPos)];
    System.arraycopy(logFrame, 1, out, 0, n - 2);
    int at = n - 2;
    at = field(out, at, POS_FIELD, pos);
    at = field(out, at, PREV_POS_FIELD, prevPos);
    out[at] = TType.STOP;
    return out;
  }

  /**
   * The length of what {@link #positioned} makes of a log frame of {@code logFrameLength} bytes:
   * the frame less its version and stop bytes, the two fields, a stop byte.
   */
  public static int positionedLength(int logFrameLength, long pos, long prevPos) {
    return logFrameLength
        - 2
        + fieldLength(POS_FIELD, pos)
        + fieldLength(PREV_POS_FIELD, prevPos)
        + 1;
  }

  private static int fieldLength(short id, long value) {
    return 1 + varintLength(zigzag(id)) + varintLength(zigzag(value));
  }

  private static long zigzag(long v) {
    return (v << 1) ^ (v >> 63);
  }

  private static int varintLength(long v) {
    int n = 1;
    while ((v & ~0x7FL) != 0) {
      n++;
      v >>>= 7;
    }
    return n;
  }

  /** A Delta struct (pos and prevPos set by the caller) as {@link #batch} takes it. */
  public static byte[] struct(Delta d) {
    byte[] frame = FrameCodec.defaults().encode(d);
    return java.util.Arrays.copyOfRange(frame, 1, frame.length);
  }

  private static int field(byte[] out, int at, short id, long value) {
    out[at++] = COMPACT_I64; // delta 0: the field id follows
    at = varint(out, at, zigzag(id));
    return varint(out, at, zigzag(value));
  }

  private static int varint(byte[] out, int at, long v) {
    while ((v & ~0x7FL) != 0) {
      out[at++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out[at++] = (byte) v;
    return at;
  }

  /**
   * An upper bound of what a batch frame takes besides its deltas: the version byte, the envelope's
   * field headers and stop bytes, the list header, the tier, {@code throughPos} and {@code more},
   * plus the request id and the epoch. A batch of deltas whose {@link #positioned} sizes sum to at
   * most {@code limit - overheadBytes(...)} encodes to at most {@code limit} bytes.
   */
  public static int overheadBytes(String requestId, String epoch) {
    return 48 + utf8Length(requestId) + utf8Length(epoch);
  }

  private static int utf8Length(String s) {
    return s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length;
  }

  /**
   * A {@code ServerFrame} holding a {@code DeltaBatch} of {@code deltas} (each from {@link
   * #positioned} or {@link #struct}), in the current frame version. Byte for byte what the
   * generated code writes for the same values (fields in id order, {@code more} only when set).
   *
   * @param requestId the request answered, or null for a push
   * @param tier where an answer came from, or null for a push
   */
  public static byte[] batch(
      String requestId,
      List<byte[]> deltas,
      String epoch,
      long throughPos,
      boolean more,
      CatchUpTier tier) {
    FrameOutput out = new FrameOutput(CONFIGURATION);
    out.write(FrameCodec.VERSION);
    TCompactProtocol p = new TCompactProtocol(out);
    try {
      p.writeStructBegin(new TStruct("ServerFrame"));
      if (requestId != null) {
        p.writeFieldBegin(new TField("requestId", TType.STRING, (short) 1));
        p.writeString(requestId);
        p.writeFieldEnd();
      }
      p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 2));
      p.writeStructBegin(new TStruct("ServerFrameBody"));
      p.writeFieldBegin(new TField("deltas", TType.STRUCT, (short) 1));
      p.writeStructBegin(new TStruct("DeltaBatch"));
      p.writeFieldBegin(new TField("deltas", TType.LIST, (short) 1));
      p.writeListBegin(new TList(TType.STRUCT, deltas.size()));
      for (byte[] d : deltas) {
        out.write(d, 0, d.length); // a whole struct: its field ids are relative to its own start
      }
      p.writeListEnd();
      p.writeFieldEnd();
      if (tier != null) {
        p.writeFieldBegin(new TField("tier", TType.I32, (short) 3));
        p.writeI32(tier.getValue());
        p.writeFieldEnd();
      }
      p.writeFieldBegin(new TField("epoch", TType.STRING, (short) 4));
      p.writeString(epoch);
      p.writeFieldEnd();
      p.writeFieldBegin(new TField("throughPos", TType.I64, (short) 5));
      p.writeI64(throughPos);
      p.writeFieldEnd();
      if (more) {
        p.writeFieldBegin(new TField("more", TType.BOOL, (short) 6));
        p.writeBool(true);
        p.writeFieldEnd();
      }
      p.writeFieldStop();
      p.writeStructEnd(); // DeltaBatch
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd(); // ServerFrameBody
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd(); // ServerFrame
    } catch (TException e) {
      throw new IllegalStateException("writing into memory cannot fail", e);
    }
    return out.toByteArray();
  }
}
