package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirFormatTest {
  @TempDir Path dir;

  @Test
  void shouldMarkANewDirectoryAndAcceptItAgain() throws Exception {
    DataDirFormat.check(dir);
    assertEquals("2", Files.readString(dir.resolve(DataDirFormat.FILE)).strip());
    DataDirFormat.check(dir);
  }

  @Test
  void shouldRefuseAVersionOneDirectoryWithOneLineThatSaysHow() throws Exception {
    Files.createDirectories(dir.resolve("kafka"));
    StartupException e = assertThrows(StartupException.class, () -> DataDirFormat.check(dir));
    assertTrue(e.getMessage().contains("format 1"), e.getMessage());
    assertTrue(e.getMessage().contains("mv " + dir + " " + dir + ".v1"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
    assertTrue(Files.notExists(dir.resolve(DataDirFormat.FILE)), "nothing written on refusal");
  }

  @Test
  void shouldRefuseAFormatItDoesNotKnow() throws Exception {
    Files.writeString(dir.resolve(DataDirFormat.FILE), "3\n");
    StartupException e = assertThrows(StartupException.class, () -> DataDirFormat.check(dir));
    assertTrue(e.getMessage().contains("format 3"), e.getMessage());
  }
}
