package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.CatchUpTier;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Deltas forwarded as bytes: the same frame the generated code writes, and a newer writer's delta
 * (a kind and a field this version does not know) reaching the device whole.
 */
class DeltaFramesTest {
  private static final FrameCodec CODEC = FrameCodec.defaults();

  private static List<Delta> deltas() {
    Delta first = SampleFrames.delta();
    Delta second =
        new Delta(42L, 1001L, 1_700_000_000_500L, DeltaBody.readReceipt(new ReadReceipt(43L, 55L)));
    return List.of(first, second);
  }

  @Test
  void shouldWriteTheSameBatchAsTheGeneratedCode() {
    long[] pos = {1130, 1250};
    long[] prev = {-1, 1130};
    List<Delta> positioned = new ArrayList<>();
    List<byte[]> fromLog = new ArrayList<>();
    List<Delta> deltas = deltas();
    for (int i = 0; i < deltas.size(); i++) {
      Delta d = deltas.get(i);
      fromLog.add(DeltaFrames.positioned(CODEC.encode(d), pos[i], prev[i]));
      positioned.add(d.deepCopy().setPos(pos[i]).setPrevPos(prev[i]));
    }
    // A push: no request id, no tier, no more.
    ServerFrame push =
        new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(positioned, "E", 1250)));
    byte[] spliced = DeltaFrames.batch(null, fromLog, "E", 1250, false, null);
    assertEquals(push, CODEC.decode(spliced, ServerFrame::new));
    // An answer: every field of the envelope.
    ServerFrame answer =
        new ServerFrame(
                ServerFrameBody.deltas(
                    new DeltaBatch(positioned, "E", 1250).setTier(CatchUpTier.LOG).setMore(true)))
            .setRequestId("r-9");
    List<byte[]> structs = positioned.stream().map(DeltaFrames::struct).toList();
    byte[] built = DeltaFrames.batch("r-9", structs, "E", 1250, true, CatchUpTier.LOG);
    assertArrayEquals(CODEC.encode(answer), built, "byte for byte the generated encoding");
    assertEquals(answer, CODEC.decode(built, ServerFrame::new));
    // Within the stated overhead.
    int deltaBytes = structs.stream().mapToInt(b -> b.length).sum();
    assertTrue(built.length <= deltaBytes + DeltaFrames.overheadBytes("r-9", "E"));
    byte[] empty = DeltaFrames.batch("r-9", List.of(), "E", 7, false, CatchUpTier.MEMORY);
    assertEquals(
        new ServerFrame(
                ServerFrameBody.deltas(
                    new DeltaBatch(List.of(), "E", 7).setTier(CatchUpTier.MEMORY)))
            .setRequestId("r-9"),
        CODEC.decode(empty, ServerFrame::new));
  }

  @Test
  void shouldCarryAnyPositionIncludingNothingAndTheLargest() {
    byte[] log = CODEC.encode(SampleFrames.delta());
    for (long[] p : new long[][] {{0, -1}, {Long.MAX_VALUE, Long.MAX_VALUE - 1}, {300, 127}}) {
      byte[] frame =
          DeltaFrames.batch(
              null, List.of(DeltaFrames.positioned(log, p[0], p[1])), "E", p[0], false, null);
      Delta d = CODEC.decode(frame, ServerFrame::new).getBody().getDeltas().getDeltas().get(0);
      assertEquals(p[0], d.getPos());
      assertEquals(p[1], d.getPrevPos());
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> DeltaFrames.positioned(new byte[] {FrameCodec.VERSION_1, 0}, 1, 0));
  }

  @Test
  void shouldForwardANewerWritersDeltaWholeToTheDevice() {
    byte[] newer = NewerWriterFrames.deltaOfAnUnknownKind();
    // This version reads it: the known fields, an empty body, the unknown field ignored.
    Delta read = CODEC.decode(newer, Delta::new);
    assertEquals(42L, read.getUserId());
    assertEquals(1001L, read.getThreadId());
    assertNull(read.getBody().getSetField());
    assertTrue(FrameCodec.holdsUnknownMember(read));
    assertFalse(FrameCodec.holdsUnknownMember(SampleFrames.delta()));
    // It cannot write it again: the bytes are forwarded, positioned.
    assertThrows(IllegalArgumentException.class, () -> CODEC.encode(read));
    byte[] frame =
        DeltaFrames.batch(
            null, List.of(DeltaFrames.positioned(newer, 1250, 1201)), "E", 1250, false, null);
    ServerFrame f = CODEC.decode(frame, ServerFrame::new);
    Delta d = f.getBody().getDeltas().getDeltas().get(0);
    assertEquals(1250L, d.getPos());
    assertEquals(1201L, d.getPrevPos());
    assertNull(d.getBody().getSetField());
    // A newer reader finds the unknown member and field intact.
    assertTrue(
        NewerWriterFrames.contains(frame, NewerWriterFrames.unknownMemberBytes()),
        "the unknown member's bytes travel on");
    assertTrue(NewerWriterFrames.contains(frame, NewerWriterFrames.unknownFieldBytes()));
  }

  @Test
  void shouldReadANewerWritersRequestsAndFrames() {
    DeviceRequest command =
        CODEC.decode(NewerWriterFrames.commandOfAnUnknownKind(), DeviceRequest::new);
    assertEquals("r-1", command.getRequestId());
    assertNull(command.getBody().getCommand().getBody().getSetField());
    DeviceRequest request =
        CODEC.decode(NewerWriterFrames.requestOfAnUnknownKind(), DeviceRequest::new);
    assertEquals("r-2", request.getRequestId());
    assertNull(request.getBody().getSetField());
    ServerFrame frame =
        CODEC.decode(NewerWriterFrames.serverFrameOfAnUnknownKind(), ServerFrame::new);
    assertNull(frame.getBody().getSetField());
  }
}
