package io.iris.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.SampleFrames;
import io.iris.protocol.thrift.DevicePointer;
import io.iris.topics.serde.ClientCommandSerde;
import io.iris.topics.serde.DeltaDeserializer;
import io.iris.topics.serde.DeltaSerde;
import io.iris.topics.serde.DevicePointerSerde;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

class TopicsTest {

  @Test
  void shouldRoundTripEveryTopicValue() {
    assertRoundTrip(new DeltaSerde(), SampleFrames.delta());
    assertRoundTrip(new ClientCommandSerde(), SampleFrames.command());
    assertRoundTrip(
        new DevicePointerSerde(), new DevicePointer(42L, "phone-1", 1_700_000_000_000L, 17L, "e"));
  }

  private static <T> void assertRoundTrip(Serde<T> serde, T value) {
    byte[] bytes = serde.serializer().serialize("t", value);
    assertEquals(FrameCodec.VERSION, bytes[0], "every frame starts with the version byte");
    assertEquals(value, serde.deserializer().deserialize("t", bytes));
  }

  @Test
  void shouldMapNullToNullBothWays() {
    DeltaSerde serde = new DeltaSerde();
    assertNull(serde.serializer().serialize("t", null));
    assertNull(serde.deserializer().deserialize("t", null));
  }

  @Test
  void deserializerShouldRefuseABadFrameWithItsReason() {
    byte[] bytes = FrameCodec.defaults().encode(SampleFrames.delta());
    bytes[0] = 3;
    FrameException e =
        assertThrows(FrameException.class, () -> new DeltaDeserializer().deserialize("t", bytes));
    assertEquals(FrameException.Reason.UNSUPPORTED_VERSION, e.reason());
  }

  @Test
  void registryShouldNameEveryTopicOnce() {
    Set<String> names = new HashSet<>();
    for (Topic<?, ?> t : Topics.ALL) {
      assertTrue(names.add(t.name()), "duplicate topic " + t.name());
      assertTrue(t.name().startsWith("iris."), t.name());
    }
    assertEquals(7, names.size());
    assertEquals("compact", Topics.BRIDGES.configs().get("cleanup.policy"));
    assertEquals("compact", Topics.DEVICE_POINTERS.configs().get("cleanup.policy"));
    assertEquals("42:phone-1", Topics.devicePointerKey(42, "phone-1"));
  }
}
