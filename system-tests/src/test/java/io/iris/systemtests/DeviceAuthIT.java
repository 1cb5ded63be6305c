package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.IrisStack;
import io.iris.testkit.FaultReport;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** Devices connect only with their own token and touch only their own topics, over real sockets. */
class DeviceAuthIT {
  private static final long ALICE = UserIds.next();
  private static final long BOB = UserIds.next();
  private static final long CLI = UserIds.next();

  @Test
  void shouldLetADeviceInWithItsTokenAndKeepItToItsOwnTopics() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String alice = DeviceRegistry.register(stack.bootstrapServers(), ALICE, "phone");
    String bob = DeviceRegistry.register(stack.bootstrapServers(), BOB, "phone");
    TestStacks.awaitRegistered(stack, before + 2);

    MqttClient a = new MqttClient(StockMqtt.url(stack), ALICE + "/phone", new MemoryPersistence());
    a.connect(StockMqtt.options(ALICE, alice));
    assertTrue(a.isConnected());
    a.subscribe("iris/" + ALICE + "/phone/down", 1);

    long refusedSubs = stack.topicPolicy().refusedSubscribes();
    for (String forbidden :
        new String[] {"iris/" + BOB + "/phone/down", "iris/#", "iris/+/phone/down", "#"}) {
      MqttException e =
          assertThrows(MqttException.class, () -> a.subscribe(forbidden, 1), forbidden);
      assertEquals(MqttException.REASON_CODE_SUBSCRIBE_FAILED, e.getReasonCode(), forbidden);
      if (!a.isConnected()) {
        a.connect(StockMqtt.options(ALICE, alice));
      }
    }
    assertTrue(stack.topicPolicy().refusedSubscribes() >= refusedSubs + 4);

    long refusedPubs = stack.topicPolicy().refusedPublishes();
    a.publish("iris/" + BOB + "/phone/up", new byte[] {1}, 0, false);
    a.publish("iris/" + ALICE + "/phone/up", new byte[] {1}, 0, false);
    Waits.await(
        "the publish as another user refused",
        Duration.ofSeconds(5),
        () -> stack.topicPolicy().refusedPublishes() >= refusedPubs + 1);
    assertEquals(
        refusedPubs + 1,
        stack.topicPolicy().refusedPublishes(),
        "sending as another user is refused");
    a.disconnect();
    a.close();

    // Bob's token does not open Alice's device, nor does Alice's token open Bob's.
    MqttClient x = new MqttClient(StockMqtt.url(stack), ALICE + "/phone", new MemoryPersistence());
    assertThrows(MqttException.class, () -> x.connect(StockMqtt.options(ALICE, bob)));
    assertThrows(
        MqttException.class,
        () -> x.connect(StockMqtt.options(BOB, alice)),
        "user name must match the client id");
    MqttClient y = new MqttClient(StockMqtt.url(stack), BOB + "/phone", new MemoryPersistence());
    assertThrows(MqttException.class, () -> y.connect(StockMqtt.options(BOB, alice)));
    y.connect(StockMqtt.options(BOB, bob));
    assertTrue(y.isConnected());
    y.disconnect();
    y.close();
    x.close();

    // A revoked device is refused.
    DeviceRegistry.revoke(stack.bootstrapServers(), BOB, "phone");
    Waits.await(
        "the revocation at the bridge",
        Duration.ofSeconds(10),
        () ->
            !stack
                .devices()
                .authenticate(
                    BOB + "/phone", Long.toString(BOB), bob.getBytes(StandardCharsets.UTF_8)));
    MqttClient z = new MqttClient(StockMqtt.url(stack), BOB + "/phone", new MemoryPersistence());
    assertThrows(MqttException.class, () -> z.connect(StockMqtt.options(BOB, bob)));
    z.close();

    FaultReport.row(
        "a device attacks",
        "2 devices",
        "subscribe to another user's topic and 3 wildcards; publish as another user; another device's token; a revoked token",
        "n/a (refused and counted: subscribes, publishes, connects)",
        "n/a",
        "the attacker's own connection kept; no token in the log");
    // Tokens never reach a log.
    Path log = Path.of("target", "test.log");
    if (Files.exists(log)) {
      String text = Files.readString(log, StandardCharsets.ISO_8859_1);
      assertFalse(text.contains(alice) || text.contains(bob), "a token appears in target/test.log");
    }
  }

  @Test
  void shouldEndTheConnectionMadeWithATokenThatWasReplaced() throws Exception {
    IrisStack stack = TestStacks.shared();
    long user = UserIds.next();
    int before = stack.devices().size();
    String old = DeviceRegistry.register(stack.bootstrapServers(), user, "phone");
    TestStacks.awaitRegistered(stack, before + 1);
    MqttClient c = new MqttClient(StockMqtt.url(stack), user + "/phone", new MemoryPersistence());
    c.connect(StockMqtt.options(user, old));
    c.subscribe("iris/" + user + "/phone/down", 1);

    // The operator rotates the token (iris device add for an existing device).
    String fresh = DeviceRegistry.register(stack.bootstrapServers(), user, "phone");
    Waits.await(
        "the connection made with the old token closed",
        Duration.ofSeconds(10),
        () -> !c.isConnected());
    assertThrows(MqttException.class, () -> c.connect(StockMqtt.options(user, old)));
    c.connect(StockMqtt.options(user, fresh));
    assertTrue(c.isConnected(), "the new token connects");
    c.disconnect();
    c.close();
  }

  @Test
  void shouldLetAStockMosquittoClientInWithAToken() throws Exception {
    assumeTrue(
        new File("/usr/bin/mosquitto_pub").canExecute(), "mosquitto-clients are not installed");
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), CLI, "cli");
    TestStacks.awaitRegistered(stack, before + 1);
    Process ok =
        new ProcessBuilder(
                "mosquitto_pub",
                "-V",
                "mqttv311",
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(stack.mqtt().settings().port()),
                "-i",
                CLI + "/cli",
                "-u",
                Long.toString(CLI),
                "-P",
                token,
                "-t",
                "iris/" + CLI + "/cli/up",
                "-q",
                "1",
                "-m",
                "hello")
            .redirectErrorStream(true)
            .start();
    assertTrue(ok.waitFor(20, TimeUnit.SECONDS));
    String out = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, ok.exitValue(), out);
    Process wrong =
        new ProcessBuilder(
                "mosquitto_pub",
                "-V",
                "mqttv311",
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(stack.mqtt().settings().port()),
                "-i",
                CLI + "/cli",
                "-u",
                Long.toString(CLI),
                "-P",
                "nope",
                "-t",
                "iris/" + CLI + "/cli/up",
                "-m",
                "hello")
            .redirectErrorStream(true)
            .start();
    assertTrue(wrong.waitFor(20, TimeUnit.SECONDS));
    assertTrue(wrong.exitValue() != 0);
  }
}
