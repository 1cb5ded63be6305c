package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.DeviceRecord;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ParticipantsChanged;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.protocol.thrift.ThreadState;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.thrift.TBase;
import org.junit.jupiter.api.Test;

/**
 * A generated-corpus fuzzer for the frame decoder: valid frames of every struct a device or a topic
 * carries, mutated hundreds of thousands of times (bit flips, truncation, insertion, deletion,
 * duplication, huge varint lengths, random bytes, wrong versions). Every decode must either succeed
 * or throw {@link FrameException} with a reason — no other exception, no hang, and no allocation
 * out of proportion to the frame (a declared length of a billion must not be believed). Seeded, so
 * a failure replays.
 */
class FrameFuzzTest {
  private static final long SEED = 0x1A15L;
  private static final int MUTATIONS_PER_SEED = 20_000;

  private record Target(String name, Supplier<? extends TBase<?, ?>> factory, byte[] seed) {}

  private static List<Target> targets() {
    FrameCodec c = FrameCodec.defaults();
    Delta delta =
        new Delta(
                7,
                9,
                1_700_000_000_000L,
                DeltaBody.newMessage(
                    new NewMessage(3, 8, "héllo ✓ " + "x".repeat(100)).setClientId("c-1")))
            .setPos(42)
            .setPrevPos(41);
    Delta members =
        new Delta(
            7,
            9,
            1L,
            DeltaBody.participantsChanged(
                new ParticipantsChanged(8, List.of(1L, 2L), List.of(3L), List.of(1L, 2L, 8L))
                    .setThreadName("room")));
    List<Target> t = new ArrayList<>();
    t.add(new Target("Delta", Delta::new, c.encode(delta)));
    t.add(new Target("Delta(members)", Delta::new, c.encode(members)));
    t.add(
        new Target(
            "ClientCommand",
            ClientCommand::new,
            c.encode(
                new ClientCommand(
                    8,
                    "phone",
                    "c-2",
                    9,
                    5L,
                    CommandBody.createThread(
                        new CreateThread(List.of(1L, 2L, 3L)).setName("n"))))));
    t.add(
        new Target(
            "DeviceRequest(command)",
            DeviceRequest::new,
            c.encode(
                new DeviceRequest(
                    "r",
                    DeviceRequestBody.command(
                        new DeviceCommand(
                            "c-3", 9, CommandBody.sendMessage(new SendMessage("hi"))))))));
    t.add(
        new Target(
            "DeviceRequest(sync)",
            DeviceRequest::new,
            c.encode(
                new DeviceRequest(
                    "s",
                    DeviceRequestBody.sync(
                        new SyncRequest("AAAAAAAAAAAAAAAAAAAAAA", 10)
                            .setToPos(20)
                            .setForce(true))))));
    t.add(
        new Target(
            "DeviceRequest(ack)",
            DeviceRequest::new,
            c.encode(
                new DeviceRequest(
                    "a", DeviceRequestBody.ack(new Ack(99, "AAAAAAAAAAAAAAAAAAAAAA"))))));
    t.add(
        new Target(
            "ServerFrame(deltas)",
            ServerFrame::new,
            c.encode(
                new ServerFrame(
                    ServerFrameBody.deltas(
                        new DeltaBatch(List.of(delta, members), "AAAAAAAAAAAAAAAAAAAAAA", 43))))));
    t.add(
        new Target(
            "DevicePointer",
            DevicePointer::new,
            c.encode(
                new DevicePointer(8, "phone", 1_700_000_000_000L, 41, "AAAAAAAAAAAAAAAAAAAAAA"))));
    t.add(
        new Target(
            "DeviceRecord",
            DeviceRecord::new,
            c.encode(
                new DeviceRecord(
                        8,
                        "phone",
                        java.nio.ByteBuffer.wrap(new byte[32]),
                        java.nio.ByteBuffer.wrap(new byte[16]),
                        1L)
                    .setRevoked(true))));
    t.add(
        new Target(
            "ThreadState",
            ThreadState::new,
            c.encode(
                new ThreadState(9, 8, List.of(8L, 1L), 4, 1L, 2L, "c-2", Map.of(8L, 3L, 1L, 2L))
                    .setName("room"))));
    return t;
  }

  /**
   * One valid frame per struct, keyed by struct name ({@code "ClientCommand-text"} is the text
   * form): the seed corpus of {@link FrameCoverageFuzzTest}.
   */
  static Map<String, byte[]> seedFrames() {
    Map<String, byte[]> seeds = new java.util.LinkedHashMap<>();
    for (Target target : targets()) {
      String struct = target.name().replaceAll("\\(.*", "");
      seeds.putIfAbsent(struct, target.seed());
      if (struct.equals("ClientCommand")) {
        ClientCommand command = FrameCodec.defaults().decode(target.seed(), ClientCommand::new);
        seeds.put(
            "ClientCommand-text",
            FrameCodec.defaults()
                .encodeText(command)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return seeds;
  }

  @Test
  void shouldRejectEveryMutantWithAReasonAndNoBlowUp() {
    FrameCodec codec = FrameCodec.defaults();
    Random random = new Random(SEED);
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    Map<FrameException.Reason, Integer> reasons = new EnumMap<>(FrameException.Reason.class);
    int decoded = 0;
    int total = 0;
    long slowestNanos = 0;
    long mostAllocated = 0;
    // Unmeasured warm-up: class loading and the JIT allocate on first use.
    Random warm = new Random(SEED + 1);
    for (Target target : targets()) {
      for (int i = 0; i < 2_000; i++) {
        try {
          codec.decode(FrameMutator.mutate(target.seed(), warm), target.factory());
        } catch (FrameException e) {
          // expected
        }
      }
    }
    for (Target target : targets()) {
      for (int i = 0; i < MUTATIONS_PER_SEED; i++) {
        byte[] mutant = FrameMutator.mutate(target.seed(), random);
        total++;
        long allocatedBefore = threads.getThreadAllocatedBytes(thread);
        long t0 = System.nanoTime();
        try {
          codec.decode(mutant, target.factory());
          decoded++;
        } catch (FrameException e) {
          reasons.merge(e.reason(), 1, Integer::sum);
        } catch (Throwable e) {
          fail(
              target.name()
                  + " mutant #"
                  + i
                  + " threw "
                  + e
                  + " instead of a FrameException: "
                  + java.util.HexFormat.of().formatHex(mutant));
        }
        long nanos = System.nanoTime() - t0;
        long allocated = threads.getThreadAllocatedBytes(thread) - allocatedBefore;
        slowestNanos = Math.max(slowestNanos, nanos);
        mostAllocated = Math.max(mostAllocated, allocated);
        assertTrue(
            allocated < 64L * 1024 + 256L * mutant.length,
            target.name()
                + " mutant #"
                + i
                + " allocated "
                + allocated
                + " bytes for a "
                + mutant.length
                + "-byte frame");
      }
    }
    System.out.printf(
        "frame fuzz: %,d mutants, %,d decoded, rejected %s; slowest decode %.2f ms, most"
            + " allocated by one decode %,d bytes%n",
        total, decoded, reasons, slowestNanos / 1e6, mostAllocated);
    assertTrue(slowestNanos < 500_000_000L, "a decode took " + slowestNanos / 1e6 + " ms");
    assertTrue(reasons.getOrDefault(FrameException.Reason.MALFORMED, 0) > 0);
    assertTrue(reasons.getOrDefault(FrameException.Reason.UNSUPPORTED_VERSION, 0) > 0);
  }
}
