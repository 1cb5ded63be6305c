package io.iris.bridge.edge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DeviceTokensTest {

  @Test
  void shouldMakeUrlSafeTokensOf32RandomBytes() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      String token = DeviceTokens.newToken();
      assertTrue(token.matches("[A-Za-z0-9_-]{43}"), token);
      assertEquals(32, java.util.Base64.getUrlDecoder().decode(token).length);
      seen.add(token);
    }
    assertEquals(100, seen.size());
  }

  @Test
  void shouldMakeSaltsOf16Bytes() {
    assertEquals(16, DeviceTokens.newSalt().length);
    assertFalse(java.util.Arrays.equals(DeviceTokens.newSalt(), DeviceTokens.newSalt()));
  }

  @Test
  void shouldHashSaltThenTokenWithSha256() {
    byte[] salt = "salt".getBytes(UTF_8);

    byte[] hash = DeviceTokens.hash(salt, "token");

    assertArrayEquals(
        HexFormat.of().parseHex("6c71317dc482e04bde8aac8d2120657e5a2b7d22e266be2dbe630e58931d608a"),
        hash,
        "sha256(\"salttoken\")");
    assertArrayEquals(hash, DeviceTokens.hash(salt, "token".getBytes(UTF_8)));
  }

  @Test
  void shouldMatchOnlyTheTokenThatWasHashedWithThatSalt() {
    byte[] salt = DeviceTokens.newSalt();
    String token = DeviceTokens.newToken();
    byte[] hash = DeviceTokens.hash(salt, token);

    assertTrue(DeviceTokens.matches(salt, hash, token.getBytes(UTF_8)));
    assertFalse(DeviceTokens.matches(salt, hash, (token + "=").getBytes(UTF_8)));
    assertFalse(DeviceTokens.matches(salt, hash, token.substring(1).getBytes(UTF_8)));
    assertFalse(DeviceTokens.matches(salt, hash, new byte[0]));
    assertFalse(DeviceTokens.matches(salt, hash, null));
    assertFalse(DeviceTokens.matches(DeviceTokens.newSalt(), hash, token.getBytes(UTF_8)));
  }
}
