package io.iris.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Holds many device connections open against an MQTT edge, with few threads (Netty's MQTT codec; a
 * Paho client costs three threads per connection). Run as its own JVM by {@code iris bench edge},
 * so that client sockets and memory are not counted against the bridge. Reads lines {@code user
 * device token} from a file, connects and subscribes each device to its down topic, prints {@code
 * connected N failed M} and keeps them until stdin closes.
 */
public final class ConnectionLoad {
  private ConnectionLoad() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    List<String[]> devices = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[2]))) {
      if (!line.isBlank()) {
        devices.add(line.trim().split(" "));
      }
    }
    AtomicInteger subscribed = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger retried = new AtomicInteger();
    Semaphore inFlight = new Semaphore(200);
    EventLoopGroup group = new NioEventLoopGroup(2);
    try {
      int issued = 0;
      for (String[] d : devices) {
        inFlight.acquire();
        if (++issued % 2000 == 0) {
          System.out.println("progress " + issued + " of " + devices.size());
        }
        connect(group, host, port, d, 1, subscribed, failed, retried, inFlight);
      }
      if (!inFlight.tryAcquire(200, 120, java.util.concurrent.TimeUnit.SECONDS)) {
        System.out.println("progress: some connections unanswered after 120 s");
      }
      System.out.println(
          "connected "
              + subscribed.get()
              + " failed "
              + failed.get()
              + " (connections closed before their subscription and made again: "
              + retried.get()
              + ")");
      System.out.flush();
      // Hold the connections until the benchmark closes our stdin.
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    } finally {
      group.shutdownGracefully().await(5_000);
    }
  }

  private static final int ATTEMPTS = 3;

  /**
   * Registers {@code count} devices "d" of users {@code firstUser…} and writes them, one "user d
   * token" per line, to a temporary file for {@link #start}.
   */
  static Path registerDevices(String bootstrap, long firstUser, int count) throws Exception {
    List<java.util.Map.Entry<Long, String>> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(java.util.Map.entry(firstUser + i, "d"));
    }
    List<String> tokens = io.iris.bridge.edge.DeviceRegistry.registerAll(bootstrap, ids);
    Path file = Files.createTempFile("iris-bench-devices", ".txt");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < count; i++) {
      lines.append(ids.get(i).getKey()).append(" d ").append(tokens.get(i)).append('\n');
    }
    Files.writeString(file, lines);
    return file;
  }

  /**
   * Starts the generator in a JVM of its own against {@code host:port}, devices from {@code file}.
   */
  static Process start(String host, int port, Path file) throws java.io.IOException {
    return ProducerPerfTest.tool(
            ConnectionLoad.class.getName(), List.of(host, Integer.toString(port), file.toString()))
        .start();
  }

  /**
   * Echoes the generator's progress to {@code out} until its "connected N failed M" line, which it
   * returns; the connections stay open until the process's stdin is closed.
   *
   * @throws IllegalStateException when the generator stopped before that line
   */
  static String awaitConnected(Process p, java.io.PrintStream out) throws java.io.IOException {
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null) {
      out.println("bench:   " + line);
      if (line.startsWith("connected ")) {
        return line;
      }
    }
    throw new IllegalStateException("the connection load generator stopped early");
  }

  private static void connect(
      EventLoopGroup group,
      String host,
      int port,
      String[] d,
      int attempt,
      AtomicInteger subscribed,
      AtomicInteger failed,
      AtomicInteger retried,
      Semaphore inFlight) {
    String clientId = d[0] + "/" + d[1];
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new MqttDecoder())
                        .addLast(MqttEncoder.INSTANCE)
                        .addLast(
                            new SimpleChannelInboundHandler<MqttMessage>() {
                              private boolean settled;

                              private void settle(boolean ok) {
                                if (settled) {
                                  return;
                                }
                                settled = true;
                                if (ok) {
                                  subscribed.incrementAndGet();
                                  inFlight.release();
                                } else if (attempt < ATTEMPTS) {
                                  // As a device would: connect again (Moquette 0.17 may close
                                  // a connection whose SUBSCRIBE follows its CONNACK at once).
                                  retried.incrementAndGet();
                                  connect(
                                      group,
                                      host,
                                      port,
                                      d,
                                      attempt + 1,
                                      subscribed,
                                      failed,
                                      retried,
                                      inFlight);
                                } else {
                                  failed.incrementAndGet();
                                  inFlight.release();
                                }
                              }

                              @Override
                              public void channelInactive(ChannelHandlerContext ctx) {
                                settle(false); // closed before it was subscribed
                              }

                              @Override
                              public void channelActive(ChannelHandlerContext ctx) {
                                ctx.writeAndFlush(
                                    MqttMessageBuilders.connect()
                                        .clientId(clientId)
                                        .username(d[0])
                                        .password(d[2].getBytes(StandardCharsets.UTF_8))
                                        .cleanSession(true)
                                        .keepAlive(0)
                                        .protocolVersion(MqttVersion.MQTT_3_1_1)
                                        .build());
                              }

                              @Override
                              protected void channelRead0(
                                  ChannelHandlerContext ctx, MqttMessage msg) {
                                if (msg instanceof MqttConnAckMessage ack) {
                                  if (ack.variableHeader().connectReturnCode()
                                      != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                                    settle(false);
                                    ctx.close();
                                    return;
                                  }
                                  ctx.writeAndFlush(
                                      MqttMessageBuilders.subscribe()
                                          .messageId(1)
                                          .addSubscription(
                                              MqttQoS.AT_LEAST_ONCE,
                                              "iris/" + d[0] + "/" + d[1] + "/down")
                                          .build());
                                } else if (msg instanceof MqttSubAckMessage) {
                                  settle(true);
                                }
                              }

                              @Override
                              public void exceptionCaught(
                                  ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                              }
                            });
                  }
                });
    b.connect(host, port)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                failed.incrementAndGet();
                inFlight.release();
              }
            });
  }
}
