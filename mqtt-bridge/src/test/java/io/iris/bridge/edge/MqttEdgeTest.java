package io.iris.bridge.edge;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the edge does without listening: refusing a bad TLS set-up, and its idle state. */
class MqttEdgeTest {
  @TempDir Path dir;

  private static MqttEdge edge(MqttEdge.Tls tls) {
    return new MqttEdge(
        new MqttEdge.Settings("127.0.0.1", 1, 64 * 1024, tls),
        (client, user, password) -> false,
        new DeviceTopicPolicy(),
        List.of());
  }

  @Test
  void shouldRefuseToStartWithAKeyStoreThatIsMissing() {
    MqttEdge edge = edge(new MqttEdge.Tls(1, dir.resolve("missing.p12"), "secret-pw"));

    IllegalStateException e = assertThrows(IllegalStateException.class, edge::start);

    assertTrue(e.getMessage().contains("mqtt.tls.keystore.path"), e.getMessage());
    assertFalse(e.getMessage().contains("secret-pw"), "the password is never shown");
    assertFalse(edge.running());
  }

  @Test
  void shouldRefuseToStartWithTheWrongKeyStorePassword() throws Exception {
    Path store = dir.resolve("edge.p12");
    KeyStore ks = KeyStore.getInstance("pkcs12");
    ks.load(null, null);
    try (OutputStream out = Files.newOutputStream(store)) {
      ks.store(out, "right-pw".toCharArray());
    }
    MqttEdge edge = edge(new MqttEdge.Tls(1, store, "wrong-pw"));

    IllegalStateException e = assertThrows(IllegalStateException.class, edge::start);

    assertTrue(e.getMessage().contains("mqtt.tls.keystore.password"), e.getMessage());
    assertFalse(e.getMessage().contains("wrong-pw"));
    assertFalse(edge.running());
  }

  @Test
  void shouldNotShowTheKeyStorePassword() {
    MqttEdge.Tls tls = new MqttEdge.Tls(8883, Path.of("edge.p12"), "secret-pw");

    assertFalse(tls.toString().contains("secret-pw"), tls.toString());
    assertTrue(tls.toString().contains("8883"));
  }

  @Test
  void shouldDoNothingWhileNotStarted() {
    MqttEdge edge = edge(null);

    assertDoesNotThrow(() -> edge.publish("iris/42/phone/down", new byte[] {1}));
    assertDoesNotThrow(() -> edge.publishAtMostOnce("iris/42/phone/down", new byte[] {1}));
    assertFalse(edge.disconnect("42/phone"));
    assertFalse(edge.running());
    assertEquals(0, edge.refusedConnects());
    assertDoesNotThrow(edge::close);
  }

  @Test
  void shouldWatchMoquettesSessionLoopsAndSayWhenOneDied() throws Exception {
    MqttEdge edge =
        new MqttEdge(
            new MqttEdge.Settings("127.0.0.1", freePort(), 64 * 1024, null),
            (client, user, password) -> false,
            new DeviceTopicPolicy(),
            List.of());
    edge.start();
    try {
      assertEquals(null, edge.deadSessionLoops(), "all running after start");
      assertTrue(edge.sessionLoopsWatched() > 0, "Moquette's loops found by their name");
    } finally {
      edge.close();
    }
    assertEquals(null, edge.deadSessionLoops(), "a stopped edge is not a dead one");

    Thread alive = new Thread(() -> sleepQuietly(), "Session Executor 0");
    alive.setDaemon(true);
    alive.start();
    Thread dead = new Thread(() -> {}, "Session Executor 1");
    dead.start();
    dead.join();
    String why = MqttEdge.deadSessionLoops(List.of(alive, dead));
    assertTrue(why.startsWith("1 of 2 Moquette session loops died (Session Executor 1)"), why);
    assertTrue(why.contains("restart the bridge"), why);
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(60_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
