package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.CapturingSender;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.thrift.Redirect;
import io.iris.protocol.thrift.ServerFrame;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RedirectsTest {
  private final CapturingSender devices = new CapturingSender();
  private final List<String> closed = new ArrayList<>();
  private final ScheduledThreadPoolExecutor closer = new ScheduledThreadPoolExecutor(1);

  @Test
  void shouldTellTheDeviceWhereItsUserIsServedThenCloseItsConnectionAMomentLater()
      throws Exception {
    Redirects r =
        new Redirects(
            user -> (int) (user % 4),
            p -> p == 2 ? List.of("tcp://b3:1883", "ssl://b3:8883") : List.of(),
            devices,
            id -> () -> closed.add(id),
            device -> device.deviceId().equals("back"),
            closer);
    DeviceId phone = new DeviceId(42, "phone");

    r.redirect(phone, "r-1", "partition 2 is served by another bridge");

    ServerFrame f = devices.only();
    assertEquals("r-1", f.getRequestId());
    Redirect redirect = f.getBody().getRedirect();
    assertEquals(List.of("tcp://b3:1883", "ssl://b3:8883"), redirect.getServerUris());
    assertEquals(2, redirect.getPartition());
    assertTrue(redirect.getReason().contains("another bridge"));
    assertTrue(closed.isEmpty(), "the frame goes out first");
    assertEquals(1, closer.getQueue().size());
    var scheduled = (java.util.concurrent.ScheduledFuture<?>) closer.getQueue().peek();
    long delay = scheduled.getDelay(TimeUnit.MILLISECONDS);
    assertTrue(delay > 500 && delay <= Redirects.CLOSE_AFTER_MS, delay + " ms");
    scheduled.get(5, TimeUnit.SECONDS);
    assertEquals(List.of("42/phone"), closed);
    assertEquals(1, r.redirected());

    // Back here and subscribed again within the second (its partition came back): kept.
    r.redirect(new DeviceId(42, "back"), null, "moved");
    ((java.util.concurrent.ScheduledFuture<?>) closer.getQueue().peek()).get(5, TimeUnit.SECONDS);
    assertEquals(List.of("42/phone"), closed);

    r.redirect(new DeviceId(41, "tablet"), null, "moved");
    assertEquals(
        List.of(),
        devices.to(new DeviceId(41, "tablet")).get(0).getBody().getRedirect().getServerUris(),
        "owner not known yet");
    r.close();
  }
}
