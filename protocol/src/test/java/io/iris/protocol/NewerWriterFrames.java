package io.iris.protocol;

import java.util.Arrays;
import org.apache.thrift.TByteArrayOutputStream;
import org.apache.thrift.TException;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TField;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.protocol.TStruct;
import org.apache.thrift.protocol.TType;
import org.apache.thrift.transport.TIOStreamTransport;

/**
 * Frames of a newer writer, as a later version of the IDL would write them: a union member and a
 * field this version does not know. Written field by field (this version's generated code cannot
 * write what it does not know). The golden bytes of two of them are in docs/PROTOCOL.md's test
 * vectors too. Shared with the SDK's and the bridge's tests (protocol's test-jar).
 */
public final class NewerWriterFrames {
  private NewerWriterFrames() {}

  /** The id of the unknown union member in every frame here. */
  public static final short UNKNOWN_MEMBER = 15;

  /** The id of the unknown field added to the Delta. */
  public static final short UNKNOWN_FIELD = 30;

  private interface Body {
    void write(TProtocol p) throws TException;
  }

  private static byte[] frame(Body body) {
    TByteArrayOutputStream out = new TByteArrayOutputStream();
    out.write(FrameCodec.VERSION);
    try {
      body.write(new TCompactProtocol(new TIOStreamTransport(out)));
    } catch (TException e) {
      throw new IllegalStateException(e);
    }
    return Arrays.copyOf(out.get(), out.len());
  }

  /** The unknown member: a struct {1: string emoji, 2: i64 messageId} (a "reaction"). */
  private static void unknownMember(TProtocol p) throws TException {
    p.writeFieldBegin(new TField("reaction", TType.STRUCT, UNKNOWN_MEMBER));
    reaction(p);
    p.writeFieldEnd();
  }

  private static void reaction(TProtocol p) throws TException {
    p.writeStructBegin(new TStruct("Reaction"));
    p.writeFieldBegin(new TField("emoji", TType.STRING, (short) 1));
    p.writeString("\ud83d\udc4d");
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("messageId", TType.I64, (short) 2));
    p.writeI64(55);
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  }

  /** The unknown member's own bytes (its struct, as it travels inside the union). */
  public static byte[] unknownMemberBytes() {
    byte[] f = frame(NewerWriterFrames::reaction);
    return Arrays.copyOfRange(f, 1, f.length);
  }

  /** The unknown field's value bytes: a string, length-prefixed. */
  public static byte[] unknownFieldBytes() {
    return new byte[] {5, 'l', 'a', 't', 'e', 'r'};
  }

  /**
   * A delta as a newer streams app writes it into iris.log (no pos, no prevPos): user 42, thread
   * 1001, a body of an unknown kind, and an unknown field 30.
   */
  public static byte[] deltaOfAnUnknownKind() {
    return deltaOfAnUnknownKind(42, 1001);
  }

  /** {@link #deltaOfAnUnknownKind()} of another user and thread. */
  public static byte[] deltaOfAnUnknownKind(long userId, long threadId) {
    return frame(p -> unknownDelta(p, userId, threadId));
  }

  private static void unknownDelta(TProtocol p, long userId, long threadId) throws TException {
    p.writeStructBegin(new TStruct("Delta"));
    p.writeFieldBegin(new TField("userId", TType.I64, (short) 1));
    p.writeI64(userId);
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("threadId", TType.I64, (short) 4));
    p.writeI64(threadId);
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("serverTimestampMs", TType.I64, (short) 5));
    p.writeI64(1_700_000_000_000L);
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 6));
    p.writeStructBegin(new TStruct("DeltaBody"));
    unknownMember(p);
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("later", TType.STRING, UNKNOWN_FIELD));
    p.writeString("later");
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  }

  /** A DeviceRequest "r-1" holding a DeviceCommand whose CommandBody is of an unknown kind. */
  public static byte[] commandOfAnUnknownKind() {
    return deviceRequest(
        "r-1",
        p -> {
          p.writeFieldBegin(new TField("command", TType.STRUCT, (short) 1));
          p.writeStructBegin(new TStruct("DeviceCommand"));
          p.writeFieldBegin(new TField("clientId", TType.STRING, (short) 1));
          p.writeString("c-9");
          p.writeFieldEnd();
          p.writeFieldBegin(new TField("threadId", TType.I64, (short) 2));
          p.writeI64(1001);
          p.writeFieldEnd();
          p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 3));
          p.writeStructBegin(new TStruct("CommandBody"));
          unknownMember(p);
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeFieldEnd();
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeFieldEnd();
        });
  }

  /** A DeviceRequest "r-2" whose body is a request kind this version does not know. */
  public static byte[] requestOfAnUnknownKind() {
    return deviceRequest("r-2", NewerWriterFrames::unknownMember);
  }

  /** A DeviceRequest with {@code requestId} whose body union's member {@code member} writes. */
  private static byte[] deviceRequest(String requestId, Body member) {
    return frame(
        p -> {
          p.writeStructBegin(new TStruct("DeviceRequest"));
          p.writeFieldBegin(new TField("requestId", TType.STRING, (short) 1));
          p.writeString(requestId);
          p.writeFieldEnd();
          p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 2));
          p.writeStructBegin(new TStruct("DeviceRequestBody"));
          member.write(p);
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeFieldEnd();
          p.writeFieldStop();
          p.writeStructEnd();
        });
  }

  /** A pushed ServerFrame whose body is a frame kind this version does not know. */
  public static byte[] serverFrameOfAnUnknownKind() {
    return frame(
        p -> {
          p.writeStructBegin(new TStruct("ServerFrame"));
          p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 2));
          p.writeStructBegin(new TStruct("ServerFrameBody"));
          unknownMember(p);
          p.writeFieldStop();
          p.writeStructEnd();
          p.writeFieldEnd();
          p.writeFieldStop();
          p.writeStructEnd();
        });
  }

  /** A pushed DeltaBatch (epoch "E") holding the newer writer's delta at pos/prevPos. */
  public static byte[] pushOfAnUnknownKind(long pos, long prevPos) {
    return DeltaFrames.batch(
        null,
        java.util.List.of(DeltaFrames.positioned(deltaOfAnUnknownKind(), pos, prevPos)),
        "E",
        pos,
        false,
        null);
  }

  /** Whether {@code needle} occurs in {@code haystack}. */
  public static boolean contains(byte[] haystack, byte[] needle) {
    return indexOf(haystack, needle) >= 0;
  }

  /** Where {@code needle} first occurs in {@code haystack}, or -1. */
  public static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
