package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bench.LinkProxy;
import io.iris.bench.SessionBenchmark;
import io.iris.bridge.BridgeConfig;
import io.iris.launcher.IrisStack;
import io.iris.testkit.TestStacks;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The results harness's session on the shared stack, small: a push phone (SDK, MQTT over TLS) and a
 * pull phone (notification socket, HTTPS JSON) through byte-counting proxies receive the same
 * messages and send the same ones, going offline and back in the middle. Both must end with every
 * message; the counts the report is made of must be there.
 */
class PushVersusPullIT {
  @Test
  void bothPhonesShouldGetEverythingAndEveryByteShouldBeCounted() throws Exception {
    IrisStack stack = TestStacks.shared();
    SessionBenchmark.Scenario small =
        new SessionBenchmark.Scenario(
            "it", 12, 500, 2, 3, 4.0, 1.5, 4, 7, LinkProxy.Link.perfect(), 15_000, 5);
    SessionBenchmark.Result r =
        new SessionBenchmark(new PrintStream(PrintStream.nullOutputStream()))
            .runOn(
                stack,
                Path.of(stack.config().getString(BridgeConfig.MQTT_TLS_KEYSTORE_PATH_CONFIG)),
                TestStacks.TLS_PASSWORD,
                List.of(small))
            .get(0);
    for (SessionBenchmark.PhoneResult p : List.of(r.push(), r.pull())) {
      assertTrue(p.incomingExpected() > 10, p.protocol() + " had traffic: " + p.incomingExpected());
      assertEquals(p.incomingExpected(), p.incomingDelivered(), p.protocol() + " got everything");
      assertTrue(p.sends() > 3, p.protocol() + " sent: " + p.sends());
      assertEquals(p.sends(), p.confirmed(), p.protocol() + " had every send confirmed");
      assertTrue(p.initialBytes() > 1000 && p.sessionBytesDown() > 0 && p.sessionBytesUp() > 0);
      assertTrue(p.connections() >= 2, p.protocol() + " reconnected after going offline");
    }
    assertTrue(
        r.push().bytesPerDelivered() < r.pull().bytesPerDelivered(),
        r.push().bytesPerDelivered() + " vs " + r.pull().bytesPerDelivered());
  }
}
