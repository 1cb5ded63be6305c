package io.iris.bridge.up;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.CapturingSender;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.thrift.TypingEvent;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TypingRelayTest {
  private static final DeviceId ALICE_PHONE = new DeviceId(1, "phone");
  private static final DeviceId ALICE_TABLET = new DeviceId(1, "tablet");
  private static final DeviceId BOB_PHONE = new DeviceId(2, "phone");
  private static final DeviceId BOB_LAPTOP = new DeviceId(2, "laptop");
  private static final long CACHE_MILLIS = 10_000;

  private final CapturingSender out = new CapturingSender();
  private final Map<Long, List<Long>> threads = new HashMap<>();
  private final Map<Long, Set<DeviceId>> connected = new HashMap<>();
  private int lookups;
  private SQLException storageDown;
  private long now = 1_000_000;

  private final TypingRelay relay =
      new TypingRelay(
          (user, thread) -> {
            lookups++;
            if (storageDown != null) {
              throw storageDown;
            }
            List<Long> members = threads.getOrDefault(thread, List.of());
            return members.contains(user) ? members : List.of();
          },
          connected::get,
          out::send,
          CACHE_MILLIS,
          () -> now);

  @Test
  void shouldRelayToEveryConnectedDeviceOfTheOtherMembers() throws Exception {
    threads.put(7L, List.of(1L, 2L, 3L));
    connected.put(1L, Set.of(ALICE_PHONE, ALICE_TABLET));
    connected.put(2L, Set.of(BOB_PHONE, BOB_LAPTOP)); // user 3 is not connected here

    assertTrue(relay.relay(ALICE_PHONE, 7, true));

    assertEquals(
        Set.of(BOB_PHONE, BOB_LAPTOP),
        Set.copyOf(out.all().stream().map(CapturingSender.Sent::device).toList()),
        "not the typist's own user, not members without devices here");
    TypingEvent event = out.all().get(0).decoded().getBody().getTyping();
    assertEquals(7, event.getThreadId());
    assertEquals(1, event.getUserId());
    assertTrue(event.isTyping());
    assertEquals(2, relay.relayed());
    assertEquals(0, relay.refused());
  }

  @Test
  void shouldRelayThatTypingStopped() throws Exception {
    threads.put(7L, List.of(1L, 2L));
    connected.put(2L, Set.of(BOB_PHONE));

    relay.relay(ALICE_PHONE, 7, false);

    assertFalse(out.only().getBody().getTyping().isTyping());
  }

  @Test
  void shouldRefuseANonMemberAndCountIt() throws Exception {
    threads.put(7L, List.of(2L, 3L));
    connected.put(2L, Set.of(BOB_PHONE));

    assertFalse(relay.relay(ALICE_PHONE, 7, true));
    assertFalse(relay.relay(ALICE_PHONE, 99, true), "an unknown thread");

    assertEquals(0, out.size());
    assertEquals(2, relay.refused());
    assertEquals(0, relay.relayed());
  }

  @Test
  void shouldAskStorageOncePerUserAndThreadWhileTheCacheHolds() throws Exception {
    threads.put(7L, List.of(1L, 2L));

    relay.relay(ALICE_PHONE, 7, true);
    relay.relay(ALICE_TABLET, 7, true);
    now += CACHE_MILLIS;
    relay.relay(ALICE_PHONE, 7, false);
    assertEquals(1, lookups, "cached for cacheMillis, for every device of the user");

    relay.relay(BOB_PHONE, 7, true);
    assertEquals(2, lookups, "another user is another entry");

    now += 1;
    threads.put(7L, List.of(2L)); // Alice left the thread
    assertFalse(relay.relay(ALICE_PHONE, 7, true), "asked again once the entry is too old");
    assertEquals(3, lookups);
  }

  @Test
  void shouldNotCacheARefusalSoAThreadJustStoredIsSeen() throws Exception {
    assertFalse(relay.relay(ALICE_PHONE, 7, true));

    threads.put(7L, List.of(1L, 2L));

    assertTrue(relay.relay(ALICE_PHONE, 7, true));
    assertEquals(2, lookups);
  }

  @Test
  void shouldLetStorageFailuresThrough() {
    storageDown = new SQLException("MySQL away");

    SQLException e = assertThrows(SQLException.class, () -> relay.relay(ALICE_PHONE, 7, true));

    assertSame(storageDown, e);
    assertEquals(0, relay.refused(), "not counted as a refusal");
  }
}
