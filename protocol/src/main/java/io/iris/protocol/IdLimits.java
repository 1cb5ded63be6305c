package io.iris.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Limits on the string ids of the protocol (device ids, client ids), counted one way everywhere: in
 * UTF-8 bytes, as they travel in a frame. A device id registers, connects and sends under the same
 * rule (a 30-character CJK id is 90 bytes: refused at registration, not accepted there and then
 * refused on every command).
 */
public final class IdLimits {
  private IdLimits() {}

  /** Largest device id and client id, in UTF-8 bytes. */
  public static final int MAX_ID_BYTES = 64;

  /** Not null, not blank, at most {@link #MAX_ID_BYTES} UTF-8 bytes. */
  public static boolean validId(String id) {
    return id != null
        && !id.isBlank()
        && id.getBytes(StandardCharsets.UTF_8).length <= MAX_ID_BYTES;
  }

  /** A valid id that also holds none of MQTT's separators and wildcards ('/', '+', '#'). */
  public static boolean validDeviceId(String id) {
    return validId(id) && id.indexOf('/') < 0 && id.indexOf('+') < 0 && id.indexOf('#') < 0;
  }
}
