package io.iris.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The format of the data directory {@code iris up} runs on, in the file {@code iris-format}: the
 * protocol version whose data it holds. Version 1 numbered each user's deltas with a counter;
 * version 2 uses offsets of iris.log, and cannot read what version 1 wrote (its topics hold
 * version-1 frames, its MySQL rows have no positions). A directory of version 1 — one that holds
 * data but no format file, since version 1 wrote none — is refused with one line that says what to
 * do; an empty directory is marked as version 2.
 */
final class DataDirFormat {
  static final String FILE = "iris-format";
  static final int CURRENT = 2;

  private DataDirFormat() {}

  /**
   * Checks {@code dir} and marks it when new.
   *
   * @throws StartupException when it holds data of another format
   */
  static void check(Path dir) {
    Path file = dir.resolve(FILE);
    try {
      if (Files.exists(file)) {
        String found = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (!found.equals(Integer.toString(CURRENT))) {
          throw refused(dir, found);
        }
        return;
      }
      if (Files.isDirectory(dir.resolve("kafka")) || Files.isDirectory(dir.resolve("mariadb"))) {
        throw refused(dir, "1");
      }
      Files.createDirectories(dir);
      Files.writeString(file, CURRENT + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new StartupException("cannot read or write " + file + ": " + e.getMessage());
    }
  }

  private static StartupException refused(Path dir, String found) {
    return new StartupException(
        "data directory "
            + dir
            + " holds Iris format "
            + found
            + " data, which this version (format "
            + CURRENT
            + ", positions are offsets of iris.log) cannot read: move it aside (mv "
            + dir
            + " "
            + dir
            + ".v"
            + found
            + ") and run `iris up` again to start empty, or set "
            + IrisConfig.envName(IrisConfig.DATA_DIR_CONFIG)
            + " to another directory");
  }
}
