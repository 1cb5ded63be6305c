package io.iris.sdk.internals;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import javax.net.SocketFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * One MQTT connection of a device: a socket from the app's {@link SocketFactory} (TLS when it is an
 * {@link SSLSocketFactory}, Nagle off as {@link NoDelaySockets} makes it), packets written in
 * flights and read one at a time with {@link MqttWire}. What to send and when is the caller's: this
 * class keeps no session state beyond the packet ids, runs no thread and reads no clock.
 *
 * <p>A flight is a list of packets written through one buffered stream and flushed once, so that a
 * reconnect's CONNECT, SUBSCRIBE, PUBLISHes and sync request leave in one write (and, on a link
 * without loss, arrive in one round trip): MQTT 3.1.1 lets a client send before its CONNACK.
 *
 * <p>Threads: {@link #send} and {@link #disconnect} from one writer at a time, {@link #read} from
 * one reader, {@link #close} and {@link #nextPacketId} from any thread.
 *
 * <p>Internal to the SDK; not part of its API.
 */
public final class MqttLink implements Closeable {
  /** The ports Paho used when a URI names none, so that a configuration keeps its meaning. */
  private static final int TCP_PORT = 1883;

  private static final int SSL_PORT = 8883;

  private final Socket socket;
  private final String uri;
  private final int maxPacketBytes;
  private volatile OutputStream out;
  private volatile InputStream in;
  private int packetId;

  /**
   * An unconnected link to {@code uri} ({@code tcp://host:port} or {@code ssl://host:port}); its
   * socket exists already, so that {@link #close} from another thread can abort {@link #connect}.
   *
   * @param maxPacketBytes the largest packet read; a larger one closes the link
   */
  public MqttLink(SocketFactory factory, String uri, int maxPacketBytes) throws IOException {
    Target t = target(uri);
    if (t.tls() != factory instanceof SSLSocketFactory) {
      throw new IOException(
          uri + " needs " + (t.tls() ? "an SSLSocketFactory" : "a plain socket factory"));
    }
    this.uri = uri;
    this.maxPacketBytes = maxPacketBytes;
    this.socket = NoDelaySockets.wrap(factory).createSocket();
  }

  /**
   * Connects TCP within {@code timeoutMillis}, then, for {@code ssl://}, completes the TLS
   * handshake within the same time again (SNI and host name verification as Paho did: the
   * certificate must name the host of the URI).
   */
  public void connect(int timeoutMillis) throws IOException {
    Target t = target(uri);
    socket.connect(new InetSocketAddress(t.host(), t.port()), timeoutMillis);
    if (socket instanceof SSLSocket tls) {
      SSLParameters p = tls.getSSLParameters();
      if (!t.host().matches("[0-9.]+|.*:.*")) {
        p.setServerNames(List.of(new SNIHostName(t.host()))); // a name, not an IP address
      }
      p.setEndpointIdentificationAlgorithm("HTTPS");
      tls.setSSLParameters(p);
      socket.setSoTimeout(timeoutMillis);
      tls.startHandshake();
      socket.setSoTimeout(0);
    }
    // A flight of a reconnect is rarely more than a few KiB; a larger one is written through.
    out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
  }

  public String uri() {
    return uri;
  }

  /** The next packet id, 1 to 65535 and round again (a device has few packets in flight). */
  public synchronized int nextPacketId() {
    packetId = packetId % 0xFFFF + 1;
    return packetId;
  }

  /** Writes these packets, in order, and flushes once: one flight. */
  public synchronized void send(List<byte[]> packets) throws IOException {
    for (byte[] p : packets) {
      out.write(p);
    }
    out.flush();
  }

  /** The next packet; null when the server closed the connection. Blocks. */
  public MqttWire.Packet read() throws IOException {
    return MqttWire.read(in, maxPacketBytes);
  }

  /**
   * Sends DISCONNECT and ends the device's side of the connection, leaving the reader to see the
   * server close its side: what the device wrote before (acknowledgements, its last ack) reaches
   * the server, where an abrupt close with unread data would reset the connection.
   */
  public synchronized void disconnect() {
    try {
      send(List.of(MqttWire.encode(new MqttWire.Disconnect())));
      if (socket instanceof SSLSocket) {
        socket.close(); // TLS cannot half-close; close_notify follows the DISCONNECT
      } else {
        socket.shutdownOutput();
      }
    } catch (IOException | RuntimeException e) {
      close();
    }
  }

  /** Closes the socket at once; a blocked {@link #read} or {@link #connect} then fails. */
  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closed anyway
    }
  }

  @Override
  public String toString() {
    return "MqttLink[" + uri + "]";
  }

  private record Target(boolean tls, String host, int port) {}

  /** Reads {@code tcp://host:port} or {@code ssl://host:port}; anything else is refused. */
  private static Target target(String uri) {
    URI u;
    try {
      u = URI.create(uri);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad server URI " + uri, e);
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("tcp") && !scheme.equals("ssl") || u.getHost() == null) {
      throw new IllegalArgumentException("bad server URI " + uri + ": tcp://host:port or ssl://");
    }
    boolean tls = scheme.equals("ssl");
    String host = u.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new Target(tls, host, u.getPort() >= 0 ? u.getPort() : tls ? SSL_PORT : TCP_PORT);
  }

  /**
   * Whether {@code uri} is one this class can connect to; throws IllegalArgumentException if not.
   */
  public static void check(String uri) {
    target(uri);
  }
}
