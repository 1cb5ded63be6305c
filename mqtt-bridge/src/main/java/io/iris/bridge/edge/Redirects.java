package io.iris.bridge.edge;

import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.LongToIntFunction;

/**
 * Sends a device elsewhere: a {@code Redirect} frame naming the bridge that owns its user's
 * partition (or none yet), then, a moment later, the connection closed. The delay lets the frame
 * reach the device first (Moquette queues it; closing at once could drop it); a device that acts on
 * the frame has gone by then. Never a partial stream: a device of a partition this bridge does not
 * own is not served here.
 *
 * <p>The connection closed is the one the frame went to, not whichever the device has a moment
 * later (as Moquette's close by client id would do): a device that reconnected here within that
 * moment (its partition may be back, or it was sent here again) keeps its new one.
 */
public final class Redirects implements AutoCloseable {
  /** How long after the frame the connection is closed. */
  static final long CLOSE_AFTER_MS = 1_000;

  private final LongToIntFunction partitionOf;
  private final IntFunction<List<String>> ownerOf;
  private final DeviceSender sender;
  private final Function<String, Runnable> closerOf;
  private final java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain;
  private final ScheduledExecutorService closer;
  private final FrameCodec codec = FrameCodec.defaults();
  private final AtomicLong redirected = new AtomicLong();

  /**
   * @param partitionOf a user's partition of iris.log
   * @param ownerOf the URIs of the bridge owning a partition (empty: not known)
   * @param sender how a frame reaches a device
   * @param closerOf what closes a device's present connection, and no later one, by MQTT client id:
   *     {@link MqttEdge#connectionCloser}; taken when the frame goes out, run a moment later
   * @param servedAgain whether a device has been served here again since (then it stays)
   */
  public Redirects(
      LongToIntFunction partitionOf,
      IntFunction<List<String>> ownerOf,
      DeviceSender sender,
      Function<String, Runnable> closerOf,
      java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain) {
    this(partitionOf, ownerOf, sender, closerOf, servedAgain, closer());
  }

  private static ScheduledExecutorService closer() {
    return Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, "iris-redirects");
          t.setDaemon(true);
          return t;
        });
  }

  Redirects(
      LongToIntFunction partitionOf,
      IntFunction<List<String>> ownerOf,
      DeviceSender sender,
      Function<String, Runnable> closerOf,
      java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain,
      ScheduledExecutorService closer) {
    this.partitionOf = partitionOf;
    this.ownerOf = ownerOf;
    this.sender = sender;
    this.closerOf = closerOf;
    this.servedAgain = servedAgain;
    this.closer = closer;
  }

  /**
   * Tells {@code device} where its user is served and closes its connection shortly after.
   *
   * @param requestId the request answered, or null
   * @param reason why, for the device's log
   */
  public void redirect(DeviceTopics.DeviceId device, String requestId, String reason) {
    int partition = partitionOf.applyAsInt(device.userId());
    ServerFrame f =
        new ServerFrame(
            ServerFrameBody.redirect(new Redirect(ownerOf.apply(partition), reason, partition)));
    if (requestId != null) {
      f.setRequestId(requestId);
    }
    redirected.incrementAndGet();
    // Before the frame: the connection it goes to.
    Runnable close = closerOf.apply(device.clientId());
    sender.send(device, codec.encode(f));
    closer.schedule(
        () -> {
          if (!servedAgain.test(device)) {
            close.run();
          }
        },
        CLOSE_AFTER_MS,
        TimeUnit.MILLISECONDS);
  }

  /** Devices sent elsewhere since start. */
  public long redirected() {
    return redirected.get();
  }

  @Override
  public void close() {
    closer.shutdownNow();
  }
}
