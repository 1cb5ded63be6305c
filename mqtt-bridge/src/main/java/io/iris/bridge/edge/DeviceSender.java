package io.iris.bridge.edge;

import io.iris.protocol.DeviceTopics;

/** Publishes a frame to a device's down topic (QoS 1 unless the implementation says otherwise). */
@FunctionalInterface
public interface DeviceSender {
  void send(DeviceTopics.DeviceId device, byte[] frame);
}
