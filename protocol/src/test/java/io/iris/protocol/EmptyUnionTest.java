package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ThreadState;
import java.util.HashMap;
import java.util.List;
import org.apache.thrift.TByteArrayOutputStream;
import org.apache.thrift.TException;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TField;
import org.apache.thrift.protocol.TList;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.protocol.TStruct;
import org.apache.thrift.protocol.TType;
import org.apache.thrift.transport.TIOStreamTransport;
import org.junit.jupiter.api.Test;

/**
 * An empty union (no member Thrift knows, which it reads without complaint) is refused at any
 * depth: at the top of a frame, inside a list of structs, inside a union's member. The frames are
 * written field by field, since Thrift refuses to write an empty union itself.
 */
class EmptyUnionTest {
  /** Writes one frame: the version byte, then what {@code body} writes. */
  private interface Body {
    void write(TProtocol p) throws TException;
  }

  private static byte[] frame(Body body) throws TException {
    TByteArrayOutputStream out = new TByteArrayOutputStream();
    out.write(FrameCodec.VERSION);
    body.write(new TCompactProtocol(new TIOStreamTransport(out)));
    return java.util.Arrays.copyOf(out.get(), out.len());
  }

  /** A Delta (fields 1, 4, 5, 6) whose body (a DeltaBody union) has no member. */
  private static void deltaWithEmptyBody(TProtocol p) throws TException {
    p.writeStructBegin(new TStruct("Delta"));
    for (short id : new short[] {1, 4, 5}) {
      p.writeFieldBegin(new TField("", TType.I64, id));
      p.writeI64(7);
      p.writeFieldEnd();
    }
    p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 6));
    p.writeStructBegin(new TStruct("DeltaBody"));
    // A member this version does not know: skipped, so the union is read with none set.
    p.writeFieldBegin(new TField("fromTheFuture", TType.I64, (short) 99));
    p.writeI64(1);
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  }

  /** A DeltaBatch (fields 1, 4, 5) of a valid delta, then one with an empty body. */
  private static void batchWithAnEmptyBodySecond(TProtocol p) throws TException {
    p.writeStructBegin(new TStruct("DeltaBatch"));
    p.writeFieldBegin(new TField("deltas", TType.LIST, (short) 1));
    p.writeListBegin(new TList(TType.STRUCT, 2));
    SampleFrames.delta().write(p);
    deltaWithEmptyBody(p);
    p.writeListEnd();
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("epoch", TType.STRING, (short) 4));
    p.writeString("e");
    p.writeFieldEnd();
    p.writeFieldBegin(new TField("throughPos", TType.I64, (short) 5));
    p.writeI64(9);
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
  }

  private static void assertRefused(
      byte[] frame,
      java.util.function.Supplier<? extends org.apache.thrift.TBase<?, ?>> factory,
      String union) {
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(frame, factory));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
    assertTrue(
        e.getMessage().contains("a " + union + " in a "),
        e.getMessage() + " (" + e.getCause() + ")");
  }

  @Test
  void shouldRefuseAnEmptyUnionAtTheTop() throws TException {
    assertRefused(frame(EmptyUnionTest::deltaWithEmptyBody), Delta::new, "DeltaBody");
  }

  @Test
  void shouldRefuseAnEmptyUnionInAListOfStructs() throws TException {
    assertRefused(frame(EmptyUnionTest::batchWithAnEmptyBodySecond), DeltaBatch::new, "DeltaBody");
  }

  @Test
  void shouldRefuseAnEmptyUnionInsideAUnionsMember() throws TException {
    byte[] bytes =
        frame(
            p -> {
              p.writeStructBegin(new TStruct("ServerFrame"));
              p.writeFieldBegin(new TField("body", TType.STRUCT, (short) 2));
              p.writeStructBegin(new TStruct("ServerFrameBody"));
              p.writeFieldBegin(new TField("deltas", TType.STRUCT, (short) 1));
              batchWithAnEmptyBodySecond(p);
              p.writeFieldEnd();
              p.writeFieldStop();
              p.writeStructEnd();
              p.writeFieldEnd();
              p.writeFieldStop();
              p.writeStructEnd();
            });
    assertRefused(bytes, ServerFrame::new, "DeltaBody");
  }

  @Test
  void shouldStillReadTheSameFramesWithUnionsSet() throws TException {
    DeltaBatch batch =
        new DeltaBatch(List.of(SampleFrames.delta(), SampleFrames.delta().setUserId(43)), "e", 9);
    byte[] bytes = FrameCodec.defaults().encode(batch);
    assertEquals(batch, FrameCodec.defaults().decode(bytes, DeltaBatch::new));
    ClientCommand command = SampleFrames.command();
    assertEquals(
        command,
        FrameCodec.defaults().decode(FrameCodec.defaults().encode(command), ClientCommand::new));
  }

  @Test
  void visitsOnlyFieldsThatCanHoldAUnion() {
    // A thread state is numbers, strings, a list and a map of numbers: nothing to visit.
    assertEquals(List.of(), FrameCodec.UNION_FIELDS.get(ThreadState.class));
    assertEquals(List.of(Delta._Fields.BODY), FrameCodec.UNION_FIELDS.get(Delta.class));
    assertEquals(List.of(DeltaBatch._Fields.DELTAS), FrameCodec.UNION_FIELDS.get(DeltaBatch.class));
    assertFalse(FrameCodec.UNION_FIELDS.get(ServerFrame.class).isEmpty());
    ThreadState state =
        new ThreadState(
            1, 2, List.of(2L, 3L), 0, 0, 0, "c", new HashMap<>(java.util.Map.of(2L, 1L)));
    assertEquals(
        state, FrameCodec.defaults().decode(FrameCodec.defaults().encode(state), ThreadState::new));
  }
}
