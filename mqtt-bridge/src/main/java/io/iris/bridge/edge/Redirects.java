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
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.LongToIntFunction;

/**
 * Sends a device elsewhere: a {@code Redirect} frame naming the bridge that owns its user's
 * partition (or none yet), then, a moment later, the connection closed. The delay lets the frame
 * reach the device first (Moquette queues it; closing at once could drop it); a device that acts on
 * the frame has gone by then. Never a partial stream: a device of a partition this bridge does not
 * own is not served here.
 */
public final class Redirects implements AutoCloseable {
  /** How long after the frame the connection is closed. */
  static final long CLOSE_AFTER_MS = 1_000;

  private final LongToIntFunction partitionOf;
  private final IntFunction<List<String>> ownerOf;
  private final DeviceSender sender;
  private final Consumer<String> disconnect;
  private final java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain;
  private final ScheduledExecutorService closer;
  private final FrameCodec codec = FrameCodec.defaults();
  private final AtomicLong redirected = new AtomicLong();

  /**
   * @param partitionOf a user's partition of iris.log
   * @param ownerOf the URIs of the bridge owning a partition (empty: not known)
   * @param sender how a frame reaches a device
   * @param disconnect closes a device's connection, by MQTT client id
   * @param servedAgain whether the device is served here again when its connection is to be closed
   *     (it reconnected here and subscribed after its partition came back): kept then
   */
  public Redirects(
      LongToIntFunction partitionOf,
      IntFunction<List<String>> ownerOf,
      DeviceSender sender,
      Consumer<String> disconnect,
      java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain) {
    this(
        partitionOf,
        ownerOf,
        sender,
        disconnect,
        servedAgain,
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "iris-redirects");
              t.setDaemon(true);
              return t;
            }));
  }

  Redirects(
      LongToIntFunction partitionOf,
      IntFunction<List<String>> ownerOf,
      DeviceSender sender,
      Consumer<String> disconnect,
      java.util.function.Predicate<DeviceTopics.DeviceId> servedAgain,
      ScheduledExecutorService closer) {
    this.partitionOf = partitionOf;
    this.ownerOf = ownerOf;
    this.sender = sender;
    this.disconnect = disconnect;
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
    sender.send(device, codec.encode(f));
    closer.schedule(
        () -> {
          if (!servedAgain.test(device)) {
            disconnect.accept(device.clientId());
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
