package io.iris.bridge.edge;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/** Device tokens: 32 random bytes, shown once; only SHA-256(salt || token) is kept. */
public final class DeviceTokens {
  private static final SecureRandom RANDOM = new SecureRandom();

  private DeviceTokens() {}

  /** A new token, URL-safe base64 without padding (43 characters). */
  public static String newToken() {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
  }

  public static byte[] newSalt() {
    return randomBytes(16);
  }

  public static byte[] hash(byte[] salt, byte[] token) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(salt);
      sha.update(token);
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  public static byte[] hash(byte[] salt, String token) {
    return hash(salt, token.getBytes(StandardCharsets.UTF_8));
  }

  /** Whether {@code presented} hashes to {@code expectedHash}, compared in constant time. */
  public static boolean matches(byte[] salt, byte[] expectedHash, byte[] presented) {
    return presented != null && MessageDigest.isEqual(expectedHash, hash(salt, presented));
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
