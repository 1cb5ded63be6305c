package io.iris.testkit;

import io.iris.launcher.IrisStack;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ServerFrame;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.eclipse.paho.client.mqttv3.IMqttMessageListener;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/** A device driven with a stock MQTT client (Paho), frame by frame, without the SDK. */
public final class StockMqtt {
  private StockMqtt() {}

  /** A connected, subscribed device and the deltas it received. */
  public record Device(MqttClient client, BlockingQueue<Delta> deltas, String up) {}

  /** The stack's plain MQTT address. */
  public static String url(IrisStack stack) {
    return "tcp://127.0.0.1:" + stack.mqtt().settings().port();
  }

  /** CONNECT options of a device: user name the user id, password its token. */
  public static MqttConnectOptions options(long user, String token) {
    MqttConnectOptions o = new MqttConnectOptions();
    o.setUserName(Long.toString(user));
    o.setPassword(token.toCharArray());
    o.setConnectionTimeout(5);
    o.setCleanSession(true);
    return o;
  }

  public static Device connect(IrisStack stack, long user, String name, String token)
      throws Exception {
    BlockingQueue<Delta> deltas = new LinkedBlockingQueue<>();
    DeviceTopics.DeviceId id = new DeviceTopics.DeviceId(user, name);
    MqttClient c = new MqttClient(url(stack), id.clientId(), new MemoryPersistence());
    connectAndSubscribe(c, user, token, id.down(), deltas);
    return new Device(c, deltas, id.up());
  }

  /**
   * Connects and subscribes, again if the edge dropped the connection in between (Moquette 0.17
   * sends CONNACK before it marks the connection connected; see IrisDevice.connect).
   */
  public static void connectAndSubscribe(
      MqttClient c, long user, String token, String down, BlockingQueue<Delta> deltas)
      throws Exception {
    connectAndSubscribe(
        c,
        user,
        token,
        down,
        (t, m) -> {
          ServerFrame f = FrameCodec.defaults().decode(m.getPayload(), ServerFrame::new);
          if (f.getBody().isSetDeltas()) {
            deltas.addAll(f.getBody().getDeltas().getDeltas());
          }
        });
  }

  /** The same, with any listener for the down topic's frames. */
  public static void connectAndSubscribe(
      MqttClient c, long user, String token, String down, IMqttMessageListener listener)
      throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        c.connect(options(user, token));
        c.subscribe(down, 1, listener);
        return;
      } catch (MqttException e) {
        if (attempt == 5) {
          throw e;
        }
        if (c.isConnected()) {
          c.disconnectForcibly();
        }
        // A retry's back-off between connection attempts, not a wait for a condition.
        Thread.sleep(100L * attempt);
      }
    }
  }

  /** Publishes one request frame to the device's up topic, QoS 1. */
  public static void send(Device d, DeviceRequest r) throws Exception {
    d.client().publish(d.up(), FrameCodec.defaults().encode(r), 1, false);
  }
}
