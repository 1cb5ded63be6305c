package io.iris.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IdLimitsTest {
  /** 30 CJK characters: 90 UTF-8 bytes. */
  private static final String CJK_30 = "電".repeat(30);

  /** 21 CJK characters: 63 UTF-8 bytes. */
  private static final String CJK_21 = "電".repeat(21);

  @Test
  void shouldCountIdsInUtf8Bytes() {
    assertTrue(IdLimits.validId("a".repeat(64)));
    assertFalse(IdLimits.validId("a".repeat(65)));
    assertTrue(IdLimits.validId(CJK_21));
    assertFalse(IdLimits.validId(CJK_30), "30 characters, but 90 bytes");
    assertFalse(IdLimits.validId(""));
    assertFalse(IdLimits.validId("  "));
    assertFalse(IdLimits.validId(null));
  }

  @Test
  void shouldRefuseADeviceIdAtConnectUnderTheSameRuleAsEveryCommand() {
    // Before: the client id was checked in characters (30 <= 64), every command in bytes (90 > 64):
    // the device registered and connected, then every command was rejected.
    assertNull(DeviceTopics.parseClientId("42/" + CJK_30));
    DeviceTopics.DeviceId ok = DeviceTopics.parseClientId("42/" + CJK_21);
    assertNotNull(ok);
    assertEquals(CJK_21, ok.deviceId());
  }

  @Test
  void shouldRefuseMqttSeparatorsInDeviceIds() {
    assertFalse(IdLimits.validDeviceId("a/b"));
    assertFalse(IdLimits.validDeviceId("a+b"));
    assertFalse(IdLimits.validDeviceId("a#b"));
    assertTrue(IdLimits.validDeviceId("phone-1"));
  }
}
