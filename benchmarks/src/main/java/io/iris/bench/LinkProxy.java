package io.iris.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on 127.0.0.1 that stands for one phone's mobile link to one server port: it counts
 * every byte each way (whatever the protocol: MQTT framing, HTTP headers, TLS records and
 * handshakes), and can make the link bad: limited bandwidth each way (shared by all the phone's
 * connections), a one-way delay, and random radio losses that reset every open connection and hold
 * new ones until the signal is back.
 *
 * <p>It stands in for {@code tc netem} in a network namespace, which this machine's kernel lacks
 * (no {@code sch_netem}).
 */
public final class LinkProxy implements AutoCloseable {

  /** The link: bandwidth in bytes/s each way (0: unlimited), delay, losses per minute. */
  public record Link(
      long downBytesPerSec,
      long upBytesPerSec,
      int oneWayDelayMs,
      double lossesPerMinute,
      int lossMs,
      long seed) {
    public static Link perfect() {
      return new Link(0, 0, 0, 0, 0, 0);
    }

    public String describe() {
      if (equals(perfect())) {
        return "loopback, unlimited";
      }
      return String.format(
          "%d kbit/s down, %d kbit/s up, %d ms RTT, a %.1f s signal loss every %.0f s on average"
              + " (every connection reset)",
          downBytesPerSec * 8 / 1000,
          upBytesPerSec * 8 / 1000,
          2 * oneWayDelayMs,
          lossMs / 1000.0,
          60 / lossesPerMinute);
    }
  }

  private final Link link;
  private final int targetPort;
  private final ServerSocket server;
  private final AtomicLong bytesUp = new AtomicLong();
  private final AtomicLong bytesDown = new AtomicLong();
  private final AtomicLong connections = new AtomicLong();
  private final AtomicLong losses = new AtomicLong();
  private final List<Socket[]> open = new CopyOnWriteArrayList<>();
  private final Bucket up;
  private final Bucket down;
  private volatile long signalBackAtNanos;
  private volatile boolean closed;

  public LinkProxy(String name, int targetPort, Link link) throws IOException {
    this.link = link;
    this.targetPort = targetPort;
    this.up = new Bucket(link.upBytesPerSec());
    this.down = new Bucket(link.downBytesPerSec());
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "link-" + name + "-accept");
    accept.setDaemon(true);
    accept.start();
    if (link.lossesPerMinute() > 0) {
      Thread weather = new Thread(this::lossLoop, "link-" + name + "-losses");
      weather.setDaemon(true);
      weather.start();
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  public Link link() {
    return link;
  }

  /** Bytes the phone sent. */
  public long bytesUp() {
    return bytesUp.get();
  }

  /** Bytes the phone received. */
  public long bytesDown() {
    return bytesDown.get();
  }

  public long connections() {
    return connections.get();
  }

  public long losses() {
    return losses.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket phone = server.accept();
        connections.incrementAndGet();
        Thread t =
            new Thread(
                () -> {
                  try {
                    connect(phone);
                  } catch (IOException | InterruptedException e) {
                    quietly(phone);
                  }
                },
                "link-connect");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) {
          sleep(10);
        }
      }
    }
  }

  private void connect(Socket phone) throws IOException, InterruptedException {
    // No signal: the SYN goes nowhere until it is back (the phone's connect timeout may fire).
    long wait = signalBackAtNanos - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
    // The handshake crosses the link too: one round trip.
    Thread.sleep(2L * link.oneWayDelayMs());
    Socket serverSide = new Socket();
    serverSide.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
    phone.setTcpNoDelay(true);
    serverSide.setTcpNoDelay(true);
    Socket[] pair = {phone, serverSide};
    open.add(pair);
    pipe(pair, phone, serverSide, up, bytesUp, "up");
    pipe(pair, serverSide, phone, down, bytesDown, "down");
  }

  private record Chunk(byte[] bytes, long dueNanos) {}

  private static final Chunk EOF = new Chunk(new byte[0], 0);

  private void pipe(
      Socket[] pair, Socket from, Socket to, Bucket bucket, AtomicLong counter, String dir) {
    LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                  counter.addAndGet(n);
                  long sent = bucket.transmit(n);
                  queue.add(
                      new Chunk(
                          Arrays.copyOf(buf, n),
                          sent + TimeUnit.MILLISECONDS.toNanos(link.oneWayDelayMs())));
                }
              } catch (IOException e) {
                // reset or closed
              }
              queue.add(EOF);
            },
            "link-" + dir + "-read");
    Thread writer =
        new Thread(
            () -> {
              try (OutputStream out = to.getOutputStream()) {
                while (true) {
                  Chunk c = queue.take();
                  if (c == EOF) {
                    break;
                  }
                  long wait = c.dueNanos() - System.nanoTime();
                  if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                  }
                  out.write(c.bytes());
                  out.flush();
                }
              } catch (IOException | InterruptedException e) {
                // reset or closed
              }
              reset(pair);
            },
            "link-" + dir + "-write");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  /** Resets every open connection now, as when the phone goes into airplane mode. */
  public void dropAll() {
    for (Socket[] pair : open) {
      reset(pair);
    }
  }

  private void lossLoop() {
    Random random = new Random(link.seed());
    double meanMs = 60_000 / link.lossesPerMinute();
    while (!closed) {
      sleep((long) (-Math.log(1 - random.nextDouble()) * meanMs));
      if (closed) {
        return;
      }
      losses.incrementAndGet();
      signalBackAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(link.lossMs());
      for (Socket[] pair : open) {
        reset(pair);
      }
      sleep(link.lossMs());
    }
  }

  /** Both sides see the connection die, as after a radio loss or a NAT rebinding. */
  private void reset(Socket[] pair) {
    if (open.remove(pair)) {
      for (Socket s : pair) {
        try {
          s.setSoLinger(true, 0);
        } catch (IOException e) {
          // already gone
        }
        quietly(s);
      }
    }
  }

  private static void quietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    quietly2(server);
    for (Socket[] pair : open) {
      reset(pair);
    }
  }

  private static void quietly2(ServerSocket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  /** Serialises bytes onto a link of fixed rate: when the last byte of a chunk has left. */
  private static final class Bucket {
    private final long bytesPerSec;
    private long freeAtNanos;

    Bucket(long bytesPerSec) {
      this.bytesPerSec = bytesPerSec;
    }

    synchronized long transmit(int bytes) {
      long now = System.nanoTime();
      if (bytesPerSec <= 0) {
        return now;
      }
      freeAtNanos = Math.max(freeAtNanos, now) + bytes * 1_000_000_000L / bytesPerSec;
      return freeAtNanos;
    }
  }
}
