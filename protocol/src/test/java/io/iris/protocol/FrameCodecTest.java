package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.SendMessage;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

  @Test
  void shouldRoundTripEveryFrameWithItsVersionByte() {
    assertRoundTrip(SampleFrames.delta(), Delta::new);
    assertRoundTrip(SampleFrames.command(), ClientCommand::new);
    assertRoundTrip(
        new DevicePointer(42L, "phone-1", 1_700_000_000_000L, 17L, "AAAAAAAAAAAAAAAAAAAAAA"),
        DevicePointer::new);
  }

  private static <T extends org.apache.thrift.TBase<?, ?>> void assertRoundTrip(
      T value, java.util.function.Supplier<T> factory) {
    byte[] bytes = FrameCodec.defaults().encode(value);
    assertEquals(FrameCodec.VERSION, bytes[0], "every frame starts with the version byte");
    assertEquals(value, FrameCodec.defaults().decode(bytes, factory));
  }

  @Test
  void shouldRejectEveryTruncationOfAValidFrame() {
    byte[] bytes = FrameCodec.defaults().encode(SampleFrames.delta());
    for (int len = 0; len < bytes.length; len++) {
      byte[] truncated = Arrays.copyOf(bytes, len);
      FrameException e =
          assertThrows(
              FrameException.class,
              () -> FrameCodec.defaults().decode(truncated, Delta::new),
              "a frame cut to " + len + " bytes must not decode");
      assertTrue(
          e.reason() == FrameException.Reason.MALFORMED
              || e.reason() == FrameException.Reason.EMPTY,
          "reason was " + e.reason());
    }
  }

  @Test
  void shouldRejectUnknownVersion() {
    byte[] bytes = FrameCodec.defaults().encode(SampleFrames.delta());
    bytes[0] = 3;
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(bytes, Delta::new));
    assertEquals(FrameException.Reason.UNSUPPORTED_VERSION, e.reason());
    assertTrue(e.getMessage().contains("version 3"), e.getMessage());
  }

  @Test
  void shouldRefuseRetiredVersionOneTellingToResnapshot() {
    byte[] bytes = FrameCodec.defaults().encode(SampleFrames.delta());
    bytes[0] = 1;
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(bytes, Delta::new));
    assertEquals(FrameException.Reason.RETIRED_VERSION, e.reason());
    assertEquals(io.iris.protocol.thrift.ErrorCode.RESNAPSHOT_REQUIRED, e.errorCode());
    assertTrue(e.getMessage().contains("new snapshot"), e.getMessage());
  }

  @Test
  void shouldAnswerAnOldAppInItsOwnVersion() {
    io.iris.protocol.thrift.ServerFrame answer =
        new io.iris.protocol.thrift.ServerFrame(
            io.iris.protocol.thrift.ServerFrameBody.error(
                new io.iris.protocol.thrift.ServerError(
                    io.iris.protocol.thrift.ErrorCode.RESNAPSHOT_REQUIRED, "upgrade")));
    byte[] bytes = FrameCodec.defaults().encodeRetired(answer);
    assertEquals(1, bytes[0]);
    bytes[0] = FrameCodec.VERSION; // the layout is the same in both versions
    assertEquals(
        answer, FrameCodec.defaults().decode(bytes, io.iris.protocol.thrift.ServerFrame::new));
  }

  @Test
  void shouldEncodeFramesOfAnySizeUpToTheLimitWhateverTheBufferStartsWith() {
    // The encoder's buffer starts small and grows; sizes around each doubling, and a large one.
    for (int length : new int[] {0, 1, 100, 127, 128, 129, 255, 256, 257, 1000, 70_000}) {
      Delta delta = SampleFrames.delta();
      delta.getBody().getNewMessage().setText("\u00e9".repeat(length / 2) + "x".repeat(length % 2));
      byte[] bytes = FrameCodec.defaults().encode(delta);
      assertEquals(FrameCodec.VERSION, bytes[0]);
      assertEquals(delta, FrameCodec.defaults().decode(bytes, Delta::new), "length " + length);
    }
  }

  @Test
  void shouldRejectFramesAboveTheLimitOnBothSides() {
    FrameCodec small = new FrameCodec(64);
    Delta big = SampleFrames.delta();
    big.getBody().getNewMessage().setText("x".repeat(100));
    assertEquals(
        FrameException.Reason.FRAME_TOO_LARGE,
        assertThrows(FrameException.class, () -> small.encode(big)).reason());
    byte[] bytes = FrameCodec.defaults().encode(big);
    assertEquals(
        FrameException.Reason.FRAME_TOO_LARGE,
        assertThrows(FrameException.class, () -> small.decode(bytes, Delta::new)).reason());
  }

  @Test
  void shouldRejectTrailingBytes() {
    byte[] bytes = FrameCodec.defaults().encode(SampleFrames.delta());
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(longer, Delta::new));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
  }

  @Test
  void shouldRejectAFrameOfAnotherStructMissingRequiredFields() {
    byte[] pointer = FrameCodec.defaults().encode(new DevicePointer(42L, "phone-1", 1L, 17L, "e"));
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(pointer, Delta::new));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
  }

  @Test
  void shouldRejectALengthPrefixLargerThanTheFrameWithoutAllocatingIt() {
    // version, field 3 (string, type 8) header, varint length 2^31-1, then nothing.
    byte[] bytes = {
      FrameCodec.VERSION, 0x38, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07
    };
    FrameException e =
        assertThrows(
            FrameException.class,
            () ->
                FrameCodec.defaults()
                    .decode(
                        bytes,
                        () ->
                            new ClientCommand()
                                .setBody(CommandBody.sendMessage(new SendMessage("x")))));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
  }

  @Test
  void shouldRejectEmptyFrame() {
    assertEquals(
        FrameException.Reason.EMPTY,
        assertThrows(
                FrameException.class, () -> FrameCodec.defaults().decode(new byte[0], Delta::new))
            .reason());
  }

  @Test
  void textFramesShouldBeOneLineAndReadOnlyByATextCodec() {
    ClientCommand multiLine =
        SampleFrames.command()
            .setBody(CommandBody.sendMessage(new SendMessage("two\nlines \u00e9\u2603")));
    String line = FrameCodec.defaults().encodeText(multiLine);
    assertEquals('J', line.charAt(0));
    assertTrue(line.chars().noneMatch(c -> c < 0x20), line);
    byte[] frame = line.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(
        multiLine, FrameCodec.defaults().acceptingText().decode(frame, ClientCommand::new));
    assertEquals(
        FrameException.Reason.UNSUPPORTED_VERSION,
        assertThrows(
                FrameException.class, () -> FrameCodec.defaults().decode(frame, ClientCommand::new))
            .reason());
  }

  @Test
  void textFramesShouldNotAllocateWhatTheyClaim() {
    String line = FrameCodec.defaults().encodeText(SampleFrames.command());
    // The participant list claims two billion entries but carries three.
    String lying = line.replace("[\"i64\",3,", "[\"i64\",2000000000,");
    assertTrue(!lying.equals(line), line);
    FrameException e =
        assertThrows(
            FrameException.class,
            () ->
                FrameCodec.defaults()
                    .acceptingText()
                    .decode(
                        lying.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        ClientCommand::new));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
    for (String bad : List.of("J", "J{", "J{\"1\":", "J[]", "J{}x", "Jnull")) {
      assertThrows(
          FrameException.class,
          () ->
              FrameCodec.defaults()
                  .acceptingText()
                  .decode(
                      bad.getBytes(java.nio.charset.StandardCharsets.UTF_8), ClientCommand::new),
          bad);
    }
  }

  @Test
  void shouldExplainARefusedFrameInTheProtocolsTermsNeverJavasOrThrifts() {
    // Seen before: "Ack$AckStandardScheme@…", "Unrecognized type 0", "Message size exceeds limit".
    java.util.Random r = new java.util.Random(16);
    byte[][] seeds = {
      FrameCodec.defaults().encode(SampleFrames.delta()),
      FrameCodec.defaults().encode(SampleFrames.command())
    };
    int refused = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] seed = seeds[i % 2];
      byte[] mutant = FrameMutator.mutate(seed, r);
      try {
        if (i % 2 == 0) {
          FrameCodec.defaults().decode(mutant, Delta::new);
        } else {
          FrameCodec.defaults().decode(mutant, io.iris.protocol.thrift.ClientCommand::new);
        }
      } catch (FrameException e) {
        refused++;
        String m = e.getMessage();
        assertTrue(
            !m.contains("$")
                && !m.contains("@")
                && !m.contains("Unrecognized")
                && !m.contains("exceeds limit")
                && !m.contains("internal error")
                && !m.contains("Exception"),
            m);
      }
    }
    assertTrue(refused > 10_000, refused + " mutants refused");
  }

  @Test
  void shouldRefuseTextThatIsNotUtf8InsteadOfReplacingIt() {
    // "hello" with its 'e' replaced by 0xC3 0x28 (a lead byte, then not a continuation).
    byte[] frame =
        FrameCodec.defaults()
            .encode(
                SampleFrames.delta()
                    .setBody(
                        io.iris.protocol.thrift.DeltaBody.newMessage(
                            new io.iris.protocol.thrift.NewMessage(55L, 43L, "hXllo"))));
    int at =
        NewerWriterFrames.indexOf(frame, "hXllo".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    byte[] bad = Arrays.copyOf(frame, frame.length);
    bad[at + 1] = (byte) 0xC3; // same length: 0xC3 then 'l' is an invalid sequence
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(bad, Delta::new));
    assertEquals(FrameException.Reason.INVALID_UTF8, e.reason());
    assertEquals(io.iris.protocol.thrift.ErrorCode.INVALID_ARGUMENT, e.errorCode());
    assertEquals("a string in the Delta is not valid UTF-8", e.getMessage());
    // Valid multi-byte text still reads as sent.
    String cjk = "\u4f60\u597d \ud83d\ude00";
    Delta ok =
        SampleFrames.delta()
            .setBody(
                io.iris.protocol.thrift.DeltaBody.newMessage(
                    new io.iris.protocol.thrift.NewMessage(55L, 43L, cjk)));
    assertEquals(ok, FrameCodec.defaults().decode(FrameCodec.defaults().encode(ok), Delta::new));
  }

  @Test
  void shouldFindTheRequestIdOfARequestRefusedAsAWhole() {
    io.iris.protocol.thrift.DeviceRequest request =
        new io.iris.protocol.thrift.DeviceRequest(
            "r-17",
            io.iris.protocol.thrift.DeviceRequestBody.ack(new io.iris.protocol.thrift.Ack(5, "E")));
    byte[] frame = FrameCodec.defaults().encode(request);
    assertEquals("r-17", FrameCodec.requestIdOf(frame));
    // Truncated after the request id: the frame is refused, its request id still known.
    byte[] truncated = Arrays.copyOf(frame, frame.length - 3);
    assertThrows(
        FrameException.class,
        () -> FrameCodec.defaults().decode(truncated, io.iris.protocol.thrift.DeviceRequest::new));
    assertEquals("r-17", FrameCodec.requestIdOf(truncated));
    // Not starting with a request id: unknown, never made up.
    assertEquals(null, FrameCodec.requestIdOf(FrameCodec.defaults().encode(SampleFrames.delta())));
    assertEquals(null, FrameCodec.requestIdOf(new byte[] {FrameCodec.VERSION}));
    assertEquals(null, FrameCodec.requestIdOf(Arrays.copyOf(frame, 4)));
  }
}
