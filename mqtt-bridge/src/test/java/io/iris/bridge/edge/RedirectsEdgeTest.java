package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.DeviceTopics.DeviceId;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A redirected device that reconnects to this same bridge within the moment before its redirected
 * connection is closed: against the real Moquette of {@link MqttEdge}, the close meets the
 * redirected connection, not the new one.
 */
class RedirectsEdgeTest {
  private static final DeviceId PHONE = new DeviceId(42, "phone");

  @Test
  void shouldCloseTheRedirectedConnectionAndNotTheOneTheDeviceOpenedSince() throws Exception {
    MqttEdge edge = MqttWire.startedEdge();
    ScheduledThreadPoolExecutor closer = new ScheduledThreadPoolExecutor(1);
    Redirects redirects =
        new Redirects(
            user -> 0,
            partition -> List.of(),
            (device, frame) -> edge.publishAtMostOnce(device.down(), frame),
            edge::connectionCloser,
            device -> false,
            closer);
    try (Socket redirected = subscribed(edge)) {
      redirects.redirect(PHONE, null, "partition 0 is served elsewhere");
      MqttWire.expect(redirected, MqttWire.PUBLISH); // the frame

      try (Socket again = subscribed(edge)) { // back here at once, taking over
        closeScheduledNow(closer);

        assertTrue(MqttWire.closedByBroker(redirected), "the redirected connection is closed");
        again.getOutputStream().write(MqttWire.pingreq());
        MqttWire.expect(again, MqttWire.PINGRESP);

        // Redirected in turn: that one is closed.
        redirects.redirect(PHONE, null, "still served elsewhere");
        MqttWire.expect(again, MqttWire.PUBLISH);
        closeScheduledNow(closer);
        assertTrue(MqttWire.closedByBroker(again), "the connection redirected is closed");
      }
    } finally {
      redirects.close();
      closer.shutdownNow();
      edge.close();
    }
  }

  private static Socket subscribed(MqttEdge edge) throws Exception {
    Socket s = MqttWire.open(edge.settings().port());
    s.getOutputStream()
        .write(
            MqttWire.flight(
                MqttWire.connect(PHONE.clientId(), "42"), MqttWire.subscribe(1, PHONE.down())));
    MqttWire.expectConnAck(s);
    MqttWire.expect(s, MqttWire.SUBACK);
    return s;
  }

  /** Waits for the close a redirect has scheduled. */
  private static void closeScheduledNow(ScheduledThreadPoolExecutor closer) throws Exception {
    ((ScheduledFuture<?>) closer.getQueue().peek()).get(10, TimeUnit.SECONDS);
  }
}
