package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.DeviceRecord;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ThreadState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.apache.thrift.TBase;
import org.junit.jupiter.api.Test;

/**
 * Coverage-guided fuzzing of every decoder that reads bytes from outside the process: frames from
 * devices ({@code DeviceRequest}), from the server ({@code ServerFrame}, as the SDK reads them) and
 * the records of every topic and state store ({@code ClientCommand} in binary and in text, {@code
 * Delta}, {@code DevicePointer}, {@code DeviceRecord}, {@code ThreadState}), with <a
 * href="https://github.com/CodeIntelligenceTesting/jazzer">Jazzer</a>.
 *
 * <p>The first input byte picks the struct, the rest is the frame. The properties: a decode returns
 * a struct or throws {@link FrameException}, nothing else (no {@code OutOfMemoryError} from a
 * believed length, no {@code StackOverflowError}, no runtime exception escaping); and what it
 * accepts is a complete struct that encodes again and decodes to the same value, unless it holds a
 * union member of a newer writer (read as an empty union, which Thrift cannot write).
 *
 * <p>{@code mvn -B verify} runs it in Jazzer's regression mode: the seed corpus under {@code
 * src/test/resources/io/iris/protocol/FrameCoverageFuzzTestInputs} (one valid frame per struct, and
 * any finding Jazzer ever wrote there). {@code mvn -B verify -Pfaults} sets {@code JAZZER_FUZZ=1}
 * and fuzzes for {@code jazzer.max_duration} (default below) with coverage feedback from this
 * project's and Thrift's classes ({@code junit-platform.properties}). A finding is written into the
 * inputs directory and fails the build, and from then on replays in every {@code mvn -B verify}.
 */
class FrameCoverageFuzzTest {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
  private static final FrameCodec BINARY = FrameCodec.defaults();
  private static final FrameCodec TEXT = FrameCodec.defaults().acceptingText();

  /** A struct some input decodes into, with the codec that input meets in production. */
  private record Target(String name, FrameCodec codec, Supplier<? extends TBase<?, ?>> factory) {}

  private static final List<Target> TARGETS =
      List.of(
          new Target("DeviceRequest", BINARY, DeviceRequest::new),
          new Target("ClientCommand", TEXT, ClientCommand::new),
          new Target("Delta", BINARY, Delta::new),
          new Target("ServerFrame", BINARY, ServerFrame::new),
          new Target("DevicePointer", BINARY, DevicePointer::new),
          new Target("DeviceRecord", BINARY, DeviceRecord::new),
          new Target("ThreadState", BINARY, ThreadState::new));

  @FuzzTest(maxDuration = "3m")
  void decodersRejectWithAReasonOrRoundTrip(byte[] input) {
    if (input.length == 0) {
      return;
    }
    Target target = TARGETS.get(Math.floorMod(input[0], TARGETS.size()));
    byte[] frame = Arrays.copyOfRange(input, 1, input.length);
    long thread = Thread.currentThread().getId();
    long before = THREADS.getThreadAllocatedBytes(thread);
    TBase<?, ?> decoded = null;
    FrameException refused = null;
    try {
      decoded = target.codec().decode(frame, target.factory());
    } catch (FrameException e) {
      refused = e;
    }
    long allowed = 64L * 1024 + 256L * frame.length;
    if (THREADS.getThreadAllocatedBytes(thread) - before > allowed) {
      // The first decode along a new path loads (and Jazzer instruments) classes, which counts
      // here too; a decode is deterministic, so a second one measures the decode alone.
      long again = allocatedByDecode(target, frame);
      assertTrue(
          again <= allowed,
          target.name() + " allocated " + again + " bytes for a " + frame.length + "-byte frame");
    }
    if (refused != null) {
      assertTrue(
          refused.getMessage() != null && !refused.getMessage().isBlank(),
          "a rejection must say why: " + refused.reason());
      return;
    }
    // Accepted: it must be whole (every required field set) and mean the same when sent on. A
    // union whose member this version does not know (a newer writer's) is valid and read empty;
    // this version cannot write it again (its bytes are forwarded instead: DeltaFrames).
    if (FrameCodec.holdsUnknownMember(decoded)) {
      return;
    }
    TBase<?, ?> again = BINARY.decode(BINARY.encode(decoded), target.factory());
    assertEquals(decoded, again, target.name() + " does not survive a round trip");
    if (frame[0] == FrameCodec.VERSION_TEXT) {
      TBase<?, ?> viaText =
          TEXT.decode(
              TEXT.encodeText(decoded).getBytes(java.nio.charset.StandardCharsets.UTF_8),
              target.factory());
      assertEquals(decoded, viaText, target.name() + " does not survive a text round trip");
    }
  }

  /** Bytes the current thread allocates decoding {@code frame}, whatever the outcome. */
  private static long allocatedByDecode(Target target, byte[] frame) {
    long thread = Thread.currentThread().getId();
    long before = THREADS.getThreadAllocatedBytes(thread);
    try {
      target.codec().decode(frame, target.factory());
    } catch (FrameException e) {
      // measured either way
    }
    return THREADS.getThreadAllocatedBytes(thread) - before;
  }

  /** The committed seed corpus: a valid frame of every struct, each selecting its own target. */
  @Test
  void seedCorpusHoldsAValidFramePerTarget() throws IOException {
    for (String seed : seeds().keySet()) {
      Path file = seedDirectory().resolve("seed-" + seed);
      assertTrue(Files.exists(file), "missing seed " + file + "; run main() to write them");
      byte[] stored = Files.readAllBytes(file);
      Target target = TARGETS.get(stored[0]);
      assertEquals(seed.replaceAll("-.*", ""), target.name(), file + " selects another target");
      target.codec().decode(Arrays.copyOfRange(stored, 1, stored.length), target.factory());
    }
  }

  private static Path seedDirectory() {
    return Path.of(
        "src/test/resources/io/iris/protocol/FrameCoverageFuzzTestInputs",
        "decodersRejectWithAReasonOrRoundTrip");
  }

  /** The seed frames: the same valid structs {@link FrameFuzzTest} mutates. */
  private static java.util.Map<String, byte[]> seeds() {
    return FrameFuzzTest.seedFrames();
  }

  /**
   * Writes the seed corpus (run from the {@code protocol} directory with the test classpath when a
   * target is added): {@code <target index byte><frame>} per seed frame.
   */
  public static void main(String[] args) throws IOException {
    Files.createDirectories(seedDirectory());
    for (var seed : seeds().entrySet()) {
      String struct = seed.getKey().replaceAll("-.*", "");
      int index = -1;
      for (int i = 0; i < TARGETS.size(); i++) {
        if (TARGETS.get(i).name().equals(struct)) {
          index = i;
        }
      }
      if (index < 0) {
        throw new IllegalStateException("no fuzz target decodes " + struct);
      }
      byte[] input = new byte[seed.getValue().length + 1];
      input[0] = (byte) index;
      System.arraycopy(seed.getValue(), 0, input, 1, seed.getValue().length);
      Files.write(seedDirectory().resolve("seed-" + seed.getKey()), input);
    }
  }
}
