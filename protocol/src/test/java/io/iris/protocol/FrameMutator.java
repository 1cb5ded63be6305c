package io.iris.protocol;

import java.util.Arrays;
import java.util.Random;

/**
 * Mutates valid frames the ways a broken or hostile client would: bit flips, truncation, inserted,
 * deleted and duplicated ranges, huge varint lengths, corrupted type headers, random bytes, and
 * versions from the future. For the fuzz tests and the fault suite; deterministic for a seeded
 * {@link Random}.
 */
public final class FrameMutator {
  private FrameMutator() {}

  /** One random mutation of a valid frame. */
  public static byte[] mutate(byte[] seed, Random r) {
    byte[] b = seed.clone();
    switch (r.nextInt(9)) {
      case 0 -> { // flip bits
        for (int k = 1 + r.nextInt(4); k > 0; k--) {
          int i = r.nextInt(b.length);
          b[i] ^= (byte) (1 << r.nextInt(8));
        }
      }
      case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length)); // truncate
      case 2 -> { // insert random bytes
        int at = r.nextInt(b.length + 1);
        byte[] ins = new byte[1 + r.nextInt(16)];
        r.nextBytes(ins);
        b = splice(b, at, 0, ins);
      }
      case 3 -> { // delete a range
        int at = r.nextInt(b.length);
        b = splice(b, at, Math.min(b.length - at, 1 + r.nextInt(8)), new byte[0]);
      }
      case 4 -> { // duplicate a range
        int at = r.nextInt(b.length);
        int len = Math.min(b.length - at, 1 + r.nextInt(32));
        b = splice(b, at, 0, Arrays.copyOfRange(b, at, at + len));
      }
      case 5 -> { // a huge varint where a length may be
        int at = 1 + r.nextInt(Math.max(1, b.length - 1));
        byte[] huge = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
        b = splice(b, at, 0, huge);
      }
      case 6 -> { // overwrite one byte with a container or struct type header
        int at = 1 + r.nextInt(Math.max(1, b.length - 1));
        if (at < b.length) {
          b[at] = (byte) (0x09 + r.nextInt(4) | (r.nextInt(16) << 4));
        }
      }
      case 7 -> { // random bytes behind the version
        b = new byte[1 + r.nextInt(64)];
        r.nextBytes(b);
        b[0] = FrameCodec.VERSION;
      }
      default -> b[0] = (byte) (3 + r.nextInt(250)); // a version from the future
    }
    return b;
  }

  private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(insert, 0, out, at, insert.length);
    System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
    return out;
  }
}
