package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.Test;

class NoDelaySocketsTest {
  @Test
  void shouldTurnNagleOffOnEverySocketAPlainFactoryMakes() throws Exception {
    SocketFactory f = NoDelaySockets.wrap(SocketFactory.getDefault());
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      int port = server.getLocalPort();
      try (Socket unconnected = f.createSocket()) {
        unconnected.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        assertTrue(unconnected.getTcpNoDelay(), "as the MQTT client makes them: then connect");
      }
      try (Socket connected = f.createSocket(InetAddress.getLoopbackAddress(), port)) {
        assertTrue(connected.getTcpNoDelay());
      }
      try (Socket byName = f.createSocket("127.0.0.1", port)) {
        assertTrue(byName.getTcpNoDelay());
      }
    }
  }

  @Test
  void shouldKeepATlsFactoryATlsFactory() throws Exception {
    SocketFactory f = NoDelaySockets.wrap(SSLSocketFactory.getDefault());
    assertInstanceOf(SSLSocketFactory.class, f, "the MQTT client wants one for ssl://");
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket layered =
            ((SSLSocketFactory) f).createSocket(plain, "localhost", server.getLocalPort(), true)) {
      assertTrue(layered.getTcpNoDelay());
      assertTrue(plain.getTcpNoDelay());
    }
  }
}
