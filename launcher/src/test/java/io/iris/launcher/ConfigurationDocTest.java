package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md holds the table {@code iris config} prints, generated from the ConfigDefs
 * (the stack's, the bridge's, the streams app's). This test fails when the page is stale; to
 * regenerate it: {@code mvn -pl launcher -am test -Dtest=ConfigurationDocTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Diris.docs.update=true}.
 */
class ConfigurationDocTest {
  static final String BEGIN = "<!-- BEGIN GENERATED: iris config -->\n";
  static final String END = "<!-- END GENERATED: iris config -->";

  @Test
  void configurationPageShouldShowEveryKeyAsIrisConfigPrintsIt() throws Exception {
    Path page = Path.of("..", "docs", "configuration.md").toAbsolutePath().normalize();
    String text = Files.readString(page, StandardCharsets.UTF_8);
    int begin = text.indexOf(BEGIN);
    int end = text.indexOf(END);
    assertTrue(begin >= 0 && end > begin, page + " lacks the generated-table markers");
    String generated = IrisConfig.describe();
    String current = text.substring(begin + BEGIN.length(), end);
    if (Boolean.getBoolean("iris.docs.update")) {
      Files.writeString(
          page,
          text.substring(0, begin + BEGIN.length()) + generated + text.substring(end),
          StandardCharsets.UTF_8);
      return;
    }
    assertEquals(
        generated,
        current,
        page
            + " is stale: regenerate it with mvn -pl launcher -am test -Dtest=ConfigurationDocTest"
            + " -Dsurefire.failIfNoSpecifiedTests=false -Diris.docs.update=true");
  }
}
