package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.serde.ClientCommandSerde;
import io.iris.protocol.serde.DeltaDeserializer;
import io.iris.protocol.serde.DeltaSerde;
import io.iris.protocol.serde.DevicePointerSerde;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.CreateThread;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.SendMessage;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

  static Delta delta() {
    return new Delta(
        42L,
        7L,
        6L,
        1001L,
        1_700_000_000_000L,
        DeltaBody.newMessage(new NewMessage(55L, 43L, "hello, world").setClientId("c-1")));
  }

  static ClientCommand command() {
    return new ClientCommand(
        42L,
        "phone-1",
        "c-1",
        1001L,
        1_700_000_000_000L,
        CommandBody.createThread(new CreateThread(List.of(42L, 43L, 44L)).setName("lunch")));
  }

  @Test
  void shouldRoundTripEveryTopicValue() {
    assertRoundTrip(new DeltaSerde(), delta());
    assertRoundTrip(new ClientCommandSerde(), command());
    assertRoundTrip(
        new DevicePointerSerde(), new DevicePointer(42L, "phone-1", 17L, 1_700_000_000_000L));
  }

  private static <T> void assertRoundTrip(Serde<T> serde, T value) {
    byte[] bytes = serde.serializer().serialize("t", value);
    assertEquals(FrameCodec.VERSION_1, bytes[0], "every frame starts with the version byte");
    assertEquals(value, serde.deserializer().deserialize("t", bytes));
  }

  @Test
  void shouldMapNullToNullBothWays() {
    DeltaSerde serde = new DeltaSerde();
    assertNull(serde.serializer().serialize("t", null));
    assertNull(serde.deserializer().deserialize("t", null));
  }

  @Test
  void shouldRejectEveryTruncationOfAValidFrame() {
    byte[] bytes = FrameCodec.defaults().encode(delta());
    DeltaDeserializer deserializer = new DeltaDeserializer();
    for (int len = 0; len < bytes.length; len++) {
      byte[] truncated = Arrays.copyOf(bytes, len);
      FrameException e =
          assertThrows(
              FrameException.class,
              () -> deserializer.deserialize("t", truncated),
              "a frame cut to " + len + " bytes must not decode");
      assertTrue(
          e.reason() == FrameException.Reason.MALFORMED
              || e.reason() == FrameException.Reason.EMPTY,
          "reason was " + e.reason());
    }
  }

  @Test
  void shouldRejectUnknownVersion() {
    byte[] bytes = FrameCodec.defaults().encode(delta());
    bytes[0] = 2;
    FrameException e =
        assertThrows(FrameException.class, () -> new DeltaDeserializer().deserialize("t", bytes));
    assertEquals(FrameException.Reason.UNSUPPORTED_VERSION, e.reason());
    assertTrue(e.getMessage().contains("version 2"), e.getMessage());
  }

  @Test
  void shouldRejectFramesAboveTheLimitOnBothSides() {
    FrameCodec small = new FrameCodec(64);
    Delta big = delta();
    big.getBody().getNewMessage().setText("x".repeat(100));
    assertEquals(
        FrameException.Reason.TOO_LARGE,
        assertThrows(FrameException.class, () -> small.encode(big)).reason());
    byte[] bytes = FrameCodec.defaults().encode(big);
    assertEquals(
        FrameException.Reason.TOO_LARGE,
        assertThrows(FrameException.class, () -> small.decode(bytes, Delta::new)).reason());
  }

  @Test
  void shouldRejectTrailingBytes() {
    byte[] bytes = FrameCodec.defaults().encode(delta());
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(longer, Delta::new));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
  }

  @Test
  void shouldRejectAFrameOfAnotherStructMissingRequiredFields() {
    byte[] pointer = FrameCodec.defaults().encode(new DevicePointer(42L, "phone-1", 17L, 1L));
    FrameException e =
        assertThrows(FrameException.class, () -> FrameCodec.defaults().decode(pointer, Delta::new));
    assertEquals(FrameException.Reason.MALFORMED, e.reason());
  }

  @Test
  void shouldRejectALengthPrefixLargerThanTheFrameWithoutAllocatingIt() {
    // version, field 3 (string, type 8) header, varint length 2^31-1, then nothing.
    byte[] bytes = {1, 0x38, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
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
        command().setBody(CommandBody.sendMessage(new SendMessage("two\nlines \u00e9\u2603")));
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
    String line = FrameCodec.defaults().encodeText(command());
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
  void registryShouldNameEveryTopicOnce() {
    Set<String> names = new HashSet<>();
    for (Topic<?, ?> t : Topics.ALL) {
      assertTrue(names.add(t.name()), "duplicate topic " + t.name());
      assertTrue(t.name().startsWith("iris."), t.name());
    }
    assertEquals(7, names.size());
    assertEquals("compact", Topics.LOG_INDEX.configs().get("cleanup.policy"));
    assertEquals("compact", Topics.DEVICE_POINTERS.configs().get("cleanup.policy"));
    assertEquals("42:phone-1", Topics.devicePointerKey(42, "phone-1"));
  }
}
