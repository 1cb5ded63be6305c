package io.iris.launcher;

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
final class LauncherProcess implements AutoCloseable {
  private final Process process;
  private final Path stdout;
  private final Path stderr;

  private LauncherProcess(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  static LauncherProcess start(Map<String, String> env, String... args) throws IOException {
    Path jar = Path.of("target", "iris.jar").toAbsolutePath();
    if (!Files.exists(jar)) {
      throw new IllegalStateException("the launcher jar is built in package: " + jar);
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
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

  String stdout() throws IOException {
    return Files.readString(stdout, StandardCharsets.UTF_8);
  }

  String stderr() throws IOException {
    return Files.readString(stderr, StandardCharsets.UTF_8);
  }

  /** Waits until stdout contains {@code text}; fails if the process exits first. */
  void awaitOutput(String text, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (stdout().contains(text)) {
        return;
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
      Thread.sleep(100);
    }
    throw new AssertionError("no '" + text + "' within " + timeout + ": " + stdout() + stderr());
  }

  /** Waits for the process to exit; returns its exit code. */
  int waitFor(Duration timeout) throws Exception {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("did not exit within " + timeout + ": " + stdout());
    }
    return process.exitValue();
  }

  /** SIGKILL: no shutdown hook, no commit, no leaving the group. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM: the graceful stop of Ctrl-C. */
  void terminate() {
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
}
