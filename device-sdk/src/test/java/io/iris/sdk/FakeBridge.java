package io.iris.sdk;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.sdk.internals.MqttWire;
import io.iris.sdk.internals.MqttWire.ConnAck;
import io.iris.sdk.internals.MqttWire.Connect;
import io.iris.sdk.internals.MqttWire.Packet;
import io.iris.sdk.internals.MqttWire.PingReq;
import io.iris.sdk.internals.MqttWire.PingResp;
import io.iris.sdk.internals.MqttWire.PubAck;
import io.iris.sdk.internals.MqttWire.Publish;
import io.iris.sdk.internals.MqttWire.SubAck;
import io.iris.sdk.internals.MqttWire.Subscribe;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted MQTT server on a local port, playing a bridge for the device's transport: it records
 * every packet each connection sends, with when it arrived and whether the CONNACK had been sent
 * then, and answers as told. By default it answers like Moquette: CONNACK (with {@link
 * #connAckCode}) as soon as a CONNECT is read, SUBACK, PUBACK and PINGRESP. A test can hold the
 * CONNACK back ({@link #holdConnAck}), stop a connection's answers ({@link Conn#silent}), or send
 * packets of its own.
 */
final class FakeBridge implements AutoCloseable {
  private static final FrameCodec CODEC = FrameCodec.defaults();

  private final ServerSocket server;
  private final BlockingQueue<Conn> accepted = new LinkedBlockingQueue<>();
  final List<Conn> connections = new CopyOnWriteArrayList<>();

  /** The return code of the CONNACKs sent by themselves. */
  volatile int connAckCode = 0;

  /** New connections get no CONNACK by themselves: the test sends it. */
  volatile boolean holdConnAck;

  /** New connections answer no PINGREQ. */
  volatile boolean answerPings = true;

  FakeBridge() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "fake-bridge-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  String uri() {
    return "tcp://127.0.0.1:" + server.getLocalPort();
  }

  /** The next connection a device opened, waiting up to {@code timeout}. */
  Conn next(Duration timeout) throws InterruptedException {
    Conn c = accepted.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (c == null) {
      throw new AssertionError("no connection within " + timeout);
    }
    return c;
  }

  int count() {
    return connections.size();
  }

  private void acceptLoop() {
    try {
      while (!server.isClosed()) {
        Socket s = server.accept();
        Conn c = new Conn(s, holdConnAck, answerPings);
        connections.add(c);
        accepted.add(c);
        Thread t = new Thread(c::readLoop, "fake-bridge-conn-" + s.getPort());
        t.setDaemon(true);
        t.start();
      }
    } catch (IOException e) {
      // closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Conn c : connections) {
      c.close();
    }
  }

  /** A packet as the server read it. */
  record Seen(Packet packet, long atNanos, boolean afterConnAck) {}

  /** One device connection. */
  final class Conn {
    private final Socket socket;
    private final OutputStream out;
    private final BlockingQueue<Packet> unread = new LinkedBlockingQueue<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final boolean holdConnAck;
    private final boolean answerPings;
    private final AtomicInteger packetIds = new AtomicInteger();

    /** Answers nothing by itself any more. */
    volatile boolean silent;

    volatile boolean connAckSent;

    /** When the device ended the connection (EOF or reset); 0 while open. */
    volatile long endedAtNanos;

    final long acceptedAtNanos = System.nanoTime();

    Conn(Socket socket, boolean holdConnAck, boolean answerPings) throws IOException {
      this.socket = socket;
      this.out = new BufferedOutputStream(socket.getOutputStream());
      this.holdConnAck = holdConnAck;
      this.answerPings = answerPings;
    }

    private void readLoop() {
      try {
        InputStream in = socket.getInputStream();
        for (Packet p = MqttWire.read(in, 1 << 24); p != null; p = MqttWire.read(in, 1 << 24)) {
          seen.add(new Seen(p, System.nanoTime(), connAckSent));
          unread.add(p);
          if (p instanceof MqttWire.Disconnect) {
            break; // as a broker does: the connection ends with it
          }
          if (!silent) {
            answer(p);
          }
        }
      } catch (IOException e) {
        // reset by the device, or closed here
      }
      endedAtNanos = System.nanoTime();
      close();
    }

    /** As Moquette: nothing is answered before the CONNACK, then every packet in order. */
    private void answer(Packet p) throws IOException {
      if (p instanceof Connect) {
        if (!holdConnAck) {
          send(new ConnAck(false, connAckCode));
        }
      } else if (!connAckSent) {
        // held back with the CONNACK; the test answers
      } else if (p instanceof Subscribe s) {
        send(new SubAck(s.packetId(), List.of(1)));
      } else if (p instanceof Publish m && m.qos() == 1) {
        send(new PubAck(m.packetId()));
      } else if (p instanceof PingReq && answerPings) {
        send(new PingResp());
      }
    }

    /** Writes these packets in one flush. */
    synchronized void send(Packet... packets) throws IOException {
      for (Packet p : packets) {
        if (p instanceof ConnAck) {
          connAckSent = true;
        }
        out.write(MqttWire.encode(p));
      }
      out.flush();
    }

    /** Pushes a frame down at QoS 1, as the bridge does; returns its packet id. */
    int push(ServerFrame frame) throws IOException {
      return push(CODEC.encode(frame));
    }

    /**
     * Pushes a frame's bytes as they are, e.g. a newer writer's that this version cannot encode;
     * returns the packet id.
     */
    int push(byte[] frame) throws IOException {
      int id = packetIds.incrementAndGet();
      send(new Publish("iris/7/phone/down", 1, id, false, false, frame));
      return id;
    }

    /** The next packet the device sent that the test has not taken yet. */
    Packet next(Duration timeout) throws InterruptedException {
      Packet p = unread.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (p == null) {
        throw new AssertionError("nothing from the device within " + timeout + "; seen " + seen);
      }
      return p;
    }

    /** The next packet, which must be a {@code type}. */
    <T extends Packet> T expect(Class<T> type, Duration timeout) throws InterruptedException {
      Packet p = next(timeout);
      if (!type.isInstance(p)) {
        throw new AssertionError("expected a " + type.getSimpleName() + ", got " + p);
      }
      return type.cast(p);
    }

    /** The next PUBLISH, read as the device's request. */
    DeviceRequest request(Duration timeout) throws InterruptedException {
      return CODEC.decode(expect(Publish.class, timeout).payload(), DeviceRequest::new);
    }

    /** The next device request of the kind {@code field} ("command", "sync", "ack", ...). */
    DeviceRequest request(String field, Duration timeout) throws InterruptedException {
      return CODEC.decode(publish(field, timeout).payload(), DeviceRequest::new);
    }

    /** The next PUBLISH carrying a device request of the kind {@code field}; skips the others. */
    Publish publish(String field, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        Packet p = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        if (p instanceof Publish m
            && CODEC
                .decode(m.payload(), DeviceRequest::new)
                .getBody()
                .getSetField()
                .getFieldName()
                .equals(field)) {
          return m;
        }
      }
    }

    boolean ended() {
      return endedAtNanos != 0;
    }

    void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // closed
      }
    }

    /** Closes abruptly (RST), as a bridge that died would appear. */
    void reset() {
      try {
        socket.setSoLinger(true, 0);
      } catch (SocketException e) {
        // closing anyway
      }
      close();
    }
  }
}
