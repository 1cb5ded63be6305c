package io.iris.testkit;

import io.iris.launcher.IrisStack;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged launcher ({@code target/iris.jar}) run as a separate JVM, as an operator runs it.
 */
public final class LauncherProcess implements AutoCloseable {
  private final Process process;
  private final Path stdout;
  private final Path stderr;

  private LauncherProcess(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  public static LauncherProcess start(Map<String, String> env, String... args) throws IOException {
    return start(List.of("-Xmx512m"), env, args);
  }

  /** The launcher with its own JVM options (heap, GC) instead of the default -Xmx512m. */
  public static LauncherProcess start(
      List<String> jvmOptions, Map<String, String> env, String... args) throws IOException {
    Path jar =
        Path.of(System.getProperty("iris.home", ".."), "launcher", "target", "iris.jar")
            .toAbsolutePath()
            .normalize();
    if (!Files.exists(jar)) {
      throw new IllegalStateException("the launcher jar is built in package: " + jar);
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().keySet().removeIf(k -> k.startsWith("IRIS_"));
    pb.environment().putAll(env);
    Path out = Files.createTempFile("iris-launcher", ".out");
    Path err = Files.createTempFile("iris-launcher", ".err");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    return new LauncherProcess(p, out, err);
  }

  public String stdout() throws IOException {
    return Files.readString(stdout, StandardCharsets.UTF_8);
  }

  public String stderr() throws IOException {
    return Files.readString(stderr, StandardCharsets.UTF_8);
  }

  /** Waits until stdout contains {@code text}; fails if the process exits first. */
  public void awaitOutput(String text, Duration timeout) throws Exception {
    try {
      Waits.every(Duration.ofMillis(100))
          .await(
              "'" + text + "' on the launcher's stdout",
              timeout,
              () -> {
                if (stdout().contains(text)) {
                  return true;
                }
                if (!process.isAlive()) {
                  throw new AssertionError(
                      "exited with "
                          + process.exitValue()
                          + " before printing '"
                          + text
                          + "': "
                          + stdout()
                          + stderr());
                }
                return false;
              });
    } catch (Waits.TimeoutError e) {
      throw new AssertionError(
          "no '" + text + "' within " + timeout + ": " + stdout() + stderr(), e);
    }
  }

  /** Waits for the process to exit; returns its exit code. */
  public int waitFor(Duration timeout) throws Exception {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("did not exit within " + timeout + ": " + stdout());
    }
    return process.exitValue();
  }

  /** The operating system's id of the process: for /proc/PID/status, jcmd. */
  public long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hook, no commit, no leaving the group. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM: the graceful stop of Ctrl-C. */
  public void terminate() {
    process.destroy();
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    Files.deleteIfExists(stdout);
    Files.deleteIfExists(stderr);
  }

  /**
   * The environment that points the launcher at {@code stack}, with its data in {@code dataDir}.
   */
  public static Map<String, String> env(IrisStack stack, Path dataDir) {
    return Map.of(
        "IRIS_KAFKA_BOOTSTRAP_SERVERS", stack.bootstrapServers(),
        "IRIS_MYSQL_URL", stack.jdbcUrl(),
        "IRIS_MYSQL_USER", "root",
        "IRIS_DATA_DIR", dataDir.toString());
  }
}
