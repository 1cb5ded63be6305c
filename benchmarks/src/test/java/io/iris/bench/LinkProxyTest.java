package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The link emulation the send-failure measurement relies on, against a local echo server. */
class LinkProxyTest {
  ServerSocket echo;

  @BeforeEach
  void startEcho() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  new Thread(() -> copy(s)).start();
                } catch (IOException e) {
                  return;
                }
              }
            });
    t.setDaemon(true);
    t.start();
  }

  private static void copy(Socket s) {
    try (s;
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // reset
    }
  }

  @AfterEach
  void stop() throws IOException {
    echo.close();
  }

  private static byte[] roundTrip(Socket s, byte[] data) throws IOException {
    s.getOutputStream().write(data);
    s.getOutputStream().flush();
    return s.getInputStream().readNBytes(data.length);
  }

  @Test
  void shouldCountEveryByteAndPassThemUnchanged() throws Exception {
    byte[] data = new byte[100_000];
    new Random(1).nextBytes(data);
    try (LinkProxy p = new LinkProxy("t", echo.getLocalPort(), LinkProxy.Link.perfect());
        Socket s = new Socket(InetAddress.getLoopbackAddress(), p.port())) {
      assertArrayEquals(data, roundTrip(s, data));
      assertEquals(100_000, p.bytesUp());
      assertEquals(100_000, p.bytesDown());
      assertEquals(1, p.connections());
    }
  }

  @Test
  void shouldLimitBandwidthAndDelay() throws Exception {
    // 10,000 B/s up and down, 100 ms each way: 20,000 bytes take at least 2 s up plus the delay.
    LinkProxy.Link slow = new LinkProxy.Link(10_000, 10_000, 100, 0, 0, 1);
    try (LinkProxy p = new LinkProxy("t", echo.getLocalPort(), slow);
        Socket s = new Socket(InetAddress.getLoopbackAddress(), p.port())) {
      long t0 = System.nanoTime();
      roundTrip(s, new byte[] {1});
      long rttMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(rttMs >= 190, "one round trip took " + rttMs + " ms");
      t0 = System.nanoTime();
      roundTrip(s, new byte[20_000]);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 1900, "20,000 bytes over 10,000 B/s took " + ms + " ms");
    }
  }

  @Test
  void aSignalLossShouldResetOpenConnections() throws Exception {
    // About one loss every 0.3 s, 200 ms long.
    LinkProxy.Link lossy = new LinkProxy.Link(0, 0, 0, 200, 200, 7);
    try (LinkProxy p = new LinkProxy("t", echo.getLocalPort(), lossy);
        Socket s = new Socket(InetAddress.getLoopbackAddress(), p.port())) {
      assertThrows(
          IOException.class,
          () -> {
            for (int i = 0; i < 200; i++) {
              if (roundTrip(s, new byte[] {2}).length == 0) {
                throw new IOException("closed");
              }
              Thread.sleep(20);
            }
          });
      assertTrue(p.losses() >= 1);
    }
  }
}
