package io.iris.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Port helpers: ask the OS for a free port, check that a configured one is free. */
public final class Ports {
  private Ports() {}

  /**
   * A port that was free a moment ago on 127.0.0.1. Tests use this instead of fixed ports; there is
   * a small window in which another process could take it.
   */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("could not get a free port from the OS", e);
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
