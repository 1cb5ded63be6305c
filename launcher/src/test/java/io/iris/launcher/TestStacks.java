package io.iris.launcher;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.Topics;
import io.iris.protocol.thrift.ClientCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The embedded stack for integration tests: started once per test JVM on ports from the OS, in a
 * data directory under {@code target/}, stopped and deleted when the JVM exits.
 */
final class TestStacks {
  private static IrisStack shared;

  private TestStacks() {}

  /** The stack every integration test of this JVM shares. */
  static synchronized IrisStack shared() {
    if (shared == null) {
      Path dir = newDataDir("shared");
      IrisStack stack = new IrisStack(new IrisConfig(ephemeralConfig(dir)));
      stack.preflight();
      stack.start(line -> {});
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    stack.close();
                    delete(dir);
                  },
                  "test-stack-shutdown"));
      shared = stack;
    }
    return shared;
  }

  /** A configuration with every embedded port free and data in {@code dataDir}. */
  static Map<String, Object> ephemeralConfig(Path dataDir) {
    return IrisConfig.onFreePorts(dataDir);
  }

  static Path newDataDir(String name) {
    try {
      Path base = Path.of("target", "it-data").toAbsolutePath();
      Files.createDirectories(base);
      return Files.createTempDirectory(base, name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: target/ is cleaned by the next build
    }
  }

  /** Produces a command to iris.commands as the bridge does: key thread id, value a frame. */
  static void sendCommand(KafkaProducer<Long, byte[]> producer, ClientCommand c) {
    producer.send(
        new ProducerRecord<>(
            Topics.COMMANDS.name(), c.getThreadId(), FrameCodec.defaults().encode(c)));
  }
}
