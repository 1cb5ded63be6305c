package io.iris.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The fault, fuzz and attack tests each add one row of what they did and found to {@code
 * target/fault-report.md}, so that a test run leaves the table docs/reliability.md shows.
 */
public final class FaultReport {
  public static final Path FILE = Path.of("target", "fault-report.md");

  private FaultReport() {}

  private static boolean fresh;

  public static synchronized void row(
      String scenario, String load, String fault, String lost, String duplicated, String recovery) {
    try {
      if (!fresh) {
        // One report per test run: the rows of an earlier run go.
        Files.deleteIfExists(FILE);
        fresh = true;
      }
      if (!Files.exists(FILE)) {
        Files.createDirectories(FILE.getParent());
        Files.writeString(
            FILE,
            "| scenario | load held | fault or input | lost | duplicated (seen by a device) | recovery |\n"
                + "|---|---|---|---|---|---|\n",
            StandardCharsets.UTF_8);
      }
      Files.writeString(
          FILE,
          String.format(
              "| %s | %s | %s | %s | %s | %s |%n",
              scenario, load, fault, lost, duplicated, recovery),
          StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      System.out.printf(
          "fault report: %s: %s; %s; lost %s; duplicated %s; %s%n",
          scenario, load, fault, lost, duplicated, recovery);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
