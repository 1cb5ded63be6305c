package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.DeviceTopics;
import io.moquette.broker.subscriptions.Topic;
import org.junit.jupiter.api.Test;

class DeviceTopicPolicyTest {
  final DeviceTopicPolicy policy = new DeviceTopicPolicy();

  @Test
  void shouldLetADeviceUseOnlyItsOwnTopics() {
    assertTrue(policy.canWrite(Topic.asTopic("iris/42/phone/up"), "42", "42/phone"));
    assertTrue(policy.canRead(Topic.asTopic("iris/42/phone/down"), "42", "42/phone"));
    assertFalse(policy.canWrite(Topic.asTopic("iris/42/phone/down"), "42", "42/phone"));
    assertFalse(policy.canRead(Topic.asTopic("iris/42/phone/up"), "42", "42/phone"));
    assertFalse(
        policy.canRead(Topic.asTopic("iris/42/tablet/down"), "42", "42/phone"),
        "not another device's");
    assertFalse(
        policy.canRead(Topic.asTopic("iris/43/phone/down"), "42", "42/phone"),
        "not another user's");
    assertFalse(
        policy.canWrite(Topic.asTopic("iris/43/phone/up"), "42", "42/phone"),
        "never send as another user");
    assertEquals(2, policy.refusedPublishes());
    assertEquals(3, policy.refusedSubscribes());
  }

  @Test
  void shouldRefuseEveryWildcard() {
    for (String filter :
        new String[] {
          "#", "iris/#", "iris/+/phone/down", "iris/42/+/down", "iris/42/phone/#", "+/42/phone/down"
        }) {
      assertFalse(policy.canRead(Topic.asTopic(filter), "42", "42/phone"), filter);
    }
  }

  @Test
  void shouldRefuseAUserNameThatIsNotTheClientsUser() {
    assertFalse(policy.canRead(Topic.asTopic("iris/42/phone/down"), "43", "42/phone"));
    assertFalse(policy.canWrite(Topic.asTopic("iris/42/phone/up"), null, "42/phone"));
  }

  @Test
  void shouldParseOnlyWellFormedClientIds() {
    assertEquals(new DeviceTopics.DeviceId(42, "phone"), DeviceTopics.parseClientId("42/phone"));
    for (String bad :
        new String[] {
          null,
          "",
          "42",
          "42/",
          "/phone",
          "x/phone",
          "0/phone",
          "-1/phone",
          "42/a/b",
          "42/+",
          "42/#",
          "42/" + "d".repeat(65)
        }) {
      assertNull(DeviceTopics.parseClientId(bad), String.valueOf(bad));
    }
  }

  @Test
  void tokensShouldVerifyOnlyThemselves() {
    String token = DeviceTokens.newToken();
    assertEquals(43, token.length());
    byte[] salt = DeviceTokens.newSalt();
    byte[] hash = DeviceTokens.hash(salt, token);
    assertTrue(DeviceTokens.matches(salt, hash, token.getBytes()));
    assertFalse(DeviceTokens.matches(salt, hash, DeviceTokens.newToken().getBytes()));
    assertFalse(DeviceTokens.matches(salt, hash, null));
    assertFalse(DeviceTokens.matches(DeviceTokens.newSalt(), hash, token.getBytes()), "salted");
  }
}
