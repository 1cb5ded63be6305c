package io.iris.embedded;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/** Port helpers: find a free port, check that a configured one is free. */
public final class Ports {
  private static final Set<Integer> handedOut = ConcurrentHashMap.newKeySet();

  private Ports() {}

  /**
   * A port that was free a moment ago on 127.0.0.1, for tests and benchmarks. It is taken below the
   * kernel's ephemeral range ({@code ip_local_port_range}), so that the outgoing connections opened
   * meanwhile cannot take it before its server binds it (an OS-assigned port can be), and never
   * twice in one JVM.
   */
  public static int freePort() {
    int low = ephemeralLow();
    int from = Math.max(1024, low - 12_000);
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(from, low);
      if (!handedOut.contains(port) && isFree("127.0.0.1", port) && handedOut.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException("no free port found between " + from + " and " + low);
  }

  /** The lowest ephemeral port (Linux), or 32768 when it cannot be read. */
  static int ephemeralLow() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int low = Integer.parseInt(range.split("\\s+")[0]);
      return low > 3000 ? low : 32768;
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }

  /** Whether {@code host:port} can be bound now. */
  public static boolean isFree(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(host, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
