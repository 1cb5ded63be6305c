package io.iris.bridge;

import io.iris.bridge.edge.DeviceSender;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ServerFrame;
import java.util.ArrayList;
import java.util.List;

/** A {@link DeviceSender} that keeps every frame it is given, in order; thread-safe. */
public final class CapturingSender implements DeviceSender {
  /** One frame sent to one device. */
  public record Sent(DeviceTopics.DeviceId device, byte[] frame) {
    public ServerFrame decoded() {
      return FrameCodec.defaults().decode(frame, ServerFrame::new);
    }
  }

  private final List<Sent> sent = new ArrayList<>();

  @Override
  public synchronized void send(DeviceTopics.DeviceId device, byte[] frame) {
    sent.add(new Sent(device, frame));
  }

  /** Everything sent so far. */
  public synchronized List<Sent> all() {
    return List.copyOf(sent);
  }

  /** The frames sent to {@code device}, decoded, oldest first. */
  public synchronized List<ServerFrame> to(DeviceTopics.DeviceId device) {
    return sent.stream().filter(s -> s.device().equals(device)).map(Sent::decoded).toList();
  }

  /** The only frame sent so far, decoded; fails when there is not exactly one. */
  public synchronized ServerFrame only() {
    if (sent.size() != 1) {
      throw new AssertionError("expected one frame, got " + sent.size());
    }
    return sent.get(0).decoded();
  }

  public synchronized int size() {
    return sent.size();
  }

  public synchronized void clear() {
    sent.clear();
  }
}
