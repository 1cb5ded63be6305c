package io.iris.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MySQL password never goes into the sink's connector configuration, only a reference. */
class SinkSecretsTest {
  @TempDir Path dir;

  @Test
  void shouldWriteThePasswordForTheEmbeddedWorkerAndReferToIt() throws Exception {
    Path secrets = dir.resolve("connect-secrets");
    String ref = IrisStack.sinkPasswordReference("s3cret", "", true, secrets);

    assertEquals("${directory:" + secrets + ":mysql_password}", ref);
    assertFalse(ref.contains("s3cret"));
    Path file = secrets.resolve(IrisStack.MYSQL_PASSWORD_FILE);
    assertEquals("s3cret", Files.readString(file), "no newline: the provider reads it whole");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(
        "rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets)));
    assertEquals(
        "s3cret",
        new org.apache.kafka.common.config.provider.DirectoryConfigProvider() {
          {
            configure(Map.of("allowed.paths", secrets.toString()));
          }
        }.get(secrets.toString(), java.util.Set.of("mysql_password")).data().get("mysql_password"),
        "Kafka's DirectoryConfigProvider, as the worker is configured, resolves it");
    assertEquals(
        "${directory:" + secrets + ":mysql_password}",
        IrisStack.sinkPasswordReference("changed", "", true, secrets),
        "a second start rewrites the file");
    assertEquals("changed", Files.readString(file));
  }

  @Test
  void shouldUseTheConfiguredReferenceAndNothingForNoPassword() {
    assertEquals(
        "${env:MYSQL_PASSWORD}",
        IrisStack.sinkPasswordReference("s3cret", "${env:MYSQL_PASSWORD}", false, dir));
    assertEquals("", IrisStack.sinkPasswordReference("", "", false, dir), "embedded MariaDB: none");
  }

  @Test
  void shouldRefuseToPutAPasswordIntoAnExternalConnectsConfiguration() {
    StartupException e =
        assertThrows(
            StartupException.class,
            () -> IrisStack.sinkPasswordReference("s3cret", "", false, dir));
    assertTrue(e.getMessage().contains("IRIS_MYSQL_PASSWORD_CONNECT"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cret"));
  }

  @Test
  void shouldAllowTheEmbeddedWorkerTheSecretsDirectoryOnly() {
    Map<String, String> p = IrisStack.connectSecretProviders(dir);
    assertEquals("directory", p.get("config.providers"));
    assertEquals(dir.toString(), p.get("config.providers.directory.param.allowed.paths"));
  }
}
