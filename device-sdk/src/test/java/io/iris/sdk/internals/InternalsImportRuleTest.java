package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the state machine pure: no MQTT client, no thread or executor, no clock of its own (time is
 * passed in), so every rule stays testable with a hand-set clock.
 */
class InternalsImportRuleTest {
  private static final Path INTERNALS = Path.of("src/main/java/io/iris/sdk/internals");
  private static final List<Pattern> BANNED =
      Stream.of(
              "org\\.eclipse\\.paho",
              "java\\.util\\.concurrent\\.(Scheduled)?Executor",
              "\\bThread\\b",
              "System\\.nanoTime",
              "System\\.currentTimeMillis",
              "\\bInstant\\.now",
              "\\bClock\\b",
              "UUID\\.randomUUID")
          .map(Pattern::compile)
          .toList();

  @Test
  void shouldUseNoTransportThreadOrClockInTheInternals() throws IOException {
    List<String> violations = new ArrayList<>();
    List<Path> sources;
    try (Stream<Path> files = Files.list(INTERNALS)) {
      sources = files.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertFalse(sources.isEmpty(), "run from the module directory");
    for (Path source : sources) {
      List<String> lines = Files.readAllLines(source);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).trim();
        if (line.startsWith("*") || line.startsWith("/*") || line.startsWith("//")) {
          continue; // documentation may name them
        }
        for (Pattern banned : BANNED) {
          if (banned.matcher(line).find()) {
            violations.add(source.getFileName() + ":" + (i + 1) + " matches " + banned);
          }
        }
      }
    }
    assertEquals(List.of(), violations);
  }

  /**
   * The SDK speaks MQTT itself (one-flight connects, dead-connection races): Paho is on the class
   * path only for another module's sake (see device-sdk/pom.xml), and no SDK class may use it.
   */
  @Test
  void shouldUsePahoNowhereInTheSdk() throws IOException {
    List<Path> sources;
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      sources = files.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertFalse(sources.isEmpty(), "run from the module directory");
    List<String> users = new ArrayList<>();
    for (Path source : sources) {
      if (Files.readString(source).contains("org.eclipse.paho")) {
        users.add(source.getFileName().toString());
      }
    }
    assertEquals(List.of(), users);
  }
}
