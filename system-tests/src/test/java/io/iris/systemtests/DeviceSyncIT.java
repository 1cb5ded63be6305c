package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.iris.bridge.BridgeConfig;
import io.iris.bridge.edge.DeviceRegistry;
import io.iris.launcher.ConnectClient;
import io.iris.launcher.IrisStack;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeviceCommand;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.DeviceRequestBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.SendMessage;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.sdk.IrisDevice;
import io.iris.testkit.FaultReport;
import io.iris.testkit.Phone;
import io.iris.testkit.StockMqtt;
import io.iris.testkit.TestStacks;
import io.iris.testkit.ThreeWay;
import io.iris.testkit.UserIds;
import io.iris.testkit.Waits;
import io.iris.topics.Names;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * Two users on three devices, through the device SDK over real sockets: live push, catch-up of an
 * offline device from each tier in turn (memory, the log through its bookmarks, MySQL after the log
 * lost the range), "resnapshot required" with both costs, a resend that creates one message, typing
 * over QoS 0, TLS, revocation closing a live connection, and a stock mosquitto_sub.
 */
class DeviceSyncIT {
  private static final long ANA = UserIds.next();
  private static final long BEN = UserIds.next();

  @Test
  void shouldDeliverEveryDeltaOnceAndCatchUpFromEachTier() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    String anaPhoneToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "phone");
    String anaTabletToken = DeviceRegistry.register(stack.bootstrapServers(), ANA, "tablet");
    String benToken = DeviceRegistry.register(stack.bootstrapServers(), BEN, "phone");
    TestStacks.awaitRegistered(stack, before + 3);

    Phone anaPhone = Phone.open(stack, ANA, "phone", anaPhoneToken);
    Phone anaTablet = Phone.open(stack, ANA, "tablet", anaTabletToken);
    Phone ben = Phone.open(stack, BEN, "phone", benToken);

    // Live: a thread, then messages both ways.
    Delta created = anaPhone.device.createThread(List.of(BEN), "sync").get(30, TimeUnit.SECONDS);
    long thread = created.getThreadId();
    Phone.sendAll(anaPhone, thread, "ana", 5);
    Phone.sendAll(ben, thread, "ben", 5);
    Waits.await(
        "both of ana's devices at 11",
        () -> anaTablet.applied.size() == 11 && anaPhone.applied.size() == 11);
    Waits.await("ben at 11", () -> ben.applied.size() == 11);
    Phone.assertChained(anaPhone.applied, -1);
    Phone.assertChained(anaTablet.applied, -1);
    Phone.assertChained(ben.applied, -1);
    assertEquals(
        anaPhone.applied.stream().map(Delta::getPos).toList(),
        anaTablet.applied.stream().map(Delta::getPos).toList());
    Waits.await(
        "the tablet's pointer at its position",
        () ->
            stack.pointers().get(ANA, "tablet") != null
                && stack.pointers().get(ANA, "tablet").getAckedPos() == anaTablet.last());

    // Typing: to the other member's devices, never to iris.log.
    // Best effort by design (QoS 0, membership as MySQL has it so far): repeated until it shows.
    Phone tablet0 = anaTablet;
    Waits.await(
        "typing at ana's devices",
        () -> {
          ben.device.typing(thread, true);
          Waits.sleep(300);
          return !anaPhone.typing.isEmpty() && !tablet0.typing.isEmpty();
        });
    assertEquals(BEN, anaPhone.typing.get(0).getUserId());
    assertTrue(ben.typing.isEmpty(), "not echoed to the typist");

    // Tier 1: a short absence is served from the bridge's memory.
    long tier1 = stack.catchUp().count("sync-memory");
    Phone tab1 =
        reopenAfter(stack, anaTablet, anaTabletToken, () -> Phone.sendAll(ben, thread, "t1", 3));
    Waits.await("tablet caught up (memory)", sameAs(anaPhone, tab1));
    assertTrue(stack.catchUp().count("sync-memory") > tier1, "served from memory");

    // Tier 2: more than memory holds (8 per user here), while the sink is stopped: MySQL does not
    // have it, the log does, read from the tablet's position.
    long tier2 = stack.catchUp().count("sync-log");
    ConnectClient connect = new ConnectClient(stack.connectUrl());
    connect.stop(Names.SINK_CONNECTOR);
    connect.awaitStopped(Names.SINK_CONNECTOR, Duration.ofSeconds(60));
    Phone tab2;
    try {
      tab2 = reopenAfter(stack, tab1, anaTabletToken, () -> Phone.sendAll(ben, thread, "t2", 20));
      Waits.await("tablet caught up (log)", sameAs(anaPhone, tab2));
    } finally {
      connect.resume(Names.SINK_CONNECTOR);
      connect.awaitRunning(Names.SINK_CONNECTOR, Duration.ofSeconds(60));
    }
    assertTrue(stack.catchUp().count("sync-log") > tier2, "served from iris.log");

    // Tier 3: the log loses the range (as retention would), MySQL still has it.
    long tier3 = stack.catchUp().count("sync-storage");
    Phone tab3 =
        reopenAfter(
            stack,
            tab2,
            anaTabletToken,
            () -> {
              Phone.sendAll(ben, thread, "t3", 12);
              TestStacks.truncateLogOnceStored(stack, ANA, anaPhone.lastApplied());
            });
    Waits.await("tablet caught up (storage)", sameAs(anaPhone, tab3));
    assertTrue(stack.catchUp().count("sync-storage") > tier3, "served from MySQL");
    Phone.assertChained(tab3.applied, tab2.last());

    // Too far behind (more than 150 here): resnapshot required, with both costs; the SDK takes
    // the snapshot.
    Phone tablet = tab3;
    tab3.device.close();
    Phone.sendAll(ben, thread, "far", 220);
    Phone again = Phone.open(stack, ANA, "tablet", anaTabletToken, tablet.position());
    Waits.await("resnapshot offered", () -> !again.resnapshots.isEmpty());
    ResnapshotRequired r = again.resnapshots.get(0);
    assertTrue(r.getCatchUpDeltas() > 150, r.toString());
    assertTrue(r.getCatchUpBytes() > 0 && r.getSnapshotBytes() > 0, r.toString());
    Waits.await("snapshot taken", () -> !again.snapshots.isEmpty());
    assertTrue(
        again.snapshots.get(0).getThreads().stream().anyMatch(t -> t.getThreadId() == thread),
        "the snapshot holds the thread");
    Waits.await("tablet at the head after the snapshot", sameAs(anaPhone, again));
    // The phones that stayed online hold what MySQL holds (iris.log lost a range on purpose).
    ThreeWay.checkMysql(stack, ANA, anaPhone.applied);
    ThreeWay.checkMysql(stack, BEN, ben.applied);
    FaultReport.row(
        "a device offline, then back",
        "2 users, 3 devices, one thread",
        "tablet away while 3 deltas (memory tier), 20 with the sink stopped (iris.log from its"
            + " position), 12 past the log's"
            + " retention (range deleted from iris.log: MySQL) and 220 (beyond the resnapshot limit)"
            + " were added",
        "0 (the tablet equals the phone after each return; the phones = MySQL)",
        "0 (position chains unbroken)",
        "caught up from the tier that had the range; told to resnapshot when too far, took it");

    // A resend of the same command (a lost confirmation) creates one message.
    resendTwice(stack, ANA, "raw", thread, "said once");
    Waits.await("ben got it", () -> Phone.count(ben, "said once") >= 1);
    // Nothing more arrives: a second message would show up within 3 s.
    Waits.holds(
        "one message for two sends",
        Duration.ofSeconds(3),
        () -> Phone.count(ben, "said once") == 1);
    assertEquals(1, Phone.count(ben, "said once"), "one message for two sends");

    // Revocation closes a live connection, and the SDK does not retry it.
    DeviceRegistry.revoke(stack.bootstrapServers(), ANA, "tablet");
    Waits.await("revoked tablet disconnected", () -> !again.device.isConnected());

    for (Phone p : List.of(anaPhone, again, ben)) {
      p.device.close();
    }
  }

  @Test
  void shouldRefuseTypingAndSendsOutsideTheThread() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    long ownerId = UserIds.next();
    long memberId = UserIds.next();
    long outsiderId = UserIds.next();
    String a = DeviceRegistry.register(stack.bootstrapServers(), ownerId, "phone");
    String c = DeviceRegistry.register(stack.bootstrapServers(), outsiderId, "phone");
    TestStacks.awaitRegistered(stack, before + 2);
    Phone owner = Phone.open(stack, ownerId, "phone", a);
    Phone outsider = Phone.open(stack, outsiderId, "phone", c);
    long thread =
        owner
            .device
            .createThread(List.of(memberId), "private")
            .get(30, TimeUnit.SECONDS)
            .getThreadId();
    long refused = stack.typing().refused();
    outsider.device.typing(thread, true);
    Waits.await("typing refused", () -> stack.typing().refused() > refused);
    ExecutionException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class,
            () -> outsider.device.send(thread, "let me in").get(30, TimeUnit.SECONDS));
    assertInstanceOf(IrisDevice.RejectedException.class, e.getCause());
    assertEquals(ErrorCode.NOT_A_MEMBER, ((IrisDevice.RejectedException) e.getCause()).code());
    assertTrue(owner.typing.isEmpty());
    owner.device.close();
    outsider.device.close();
  }

  @Test
  void shouldAnswerAGapRequestWithExactlyTheMissingRange() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    long user = UserIds.next();
    long friend = UserIds.next();
    String a = DeviceRegistry.register(stack.bootstrapServers(), user, "phone");
    String raw = DeviceRegistry.register(stack.bootstrapServers(), user, "raw");
    TestStacks.awaitRegistered(stack, before + 2);
    Phone phone = Phone.open(stack, user, "phone", a);
    long thread =
        phone.device.createThread(List.of(friend), "gaps").get(30, TimeUnit.SECONDS).getThreadId();
    Phone.sendAll(phone, thread, "gap", 9);
    Waits.await("ten deltas", () -> phone.applied.size() == 10);
    List<Long> all = phone.applied.stream().map(Delta::getPos).toList();
    StockMqtt.Device d = StockMqtt.connect(stack, user, "raw", raw);
    // The 4th to 6th: after the 3rd, up to the 6th.
    StockMqtt.send(
        d,
        new DeviceRequest(
            "gap-4-6",
            DeviceRequestBody.sync(
                new io.iris.protocol.thrift.SyncRequest(phone.device.epoch(), all.get(2))
                    .setToPos(all.get(5)))));
    List<Long> got = new ArrayList<>();
    List<Long> prev = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Delta x = d.deltas().poll(30, TimeUnit.SECONDS);
      assertTrue(x != null, "missing delta " + (4 + i));
      got.add(x.getPos());
      prev.add(x.getPrevPos());
    }
    assertEquals(all.subList(3, 6), got);
    assertEquals(all.subList(2, 5), prev, "chained from the position asked after");
    assertEquals(null, d.deltas().poll(1, TimeUnit.SECONDS), "nothing beyond the range");
    d.client().disconnect();
    d.client().close();
    phone.device.close();
  }

  @Test
  void shouldServeDevicesOverTls() throws Exception {
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    long user = UserIds.next();
    long friend = UserIds.next();
    String token = DeviceRegistry.register(stack.bootstrapServers(), user, "tls");
    TestStacks.awaitRegistered(stack, before + 1);
    SSLContext ssl =
        io.iris.testkit.SelfSignedTls.client(
            java.nio.file.Path.of(
                stack.config().getString(BridgeConfig.MQTT_TLS_KEYSTORE_PATH_CONFIG)),
            TestStacks.TLS_PASSWORD);
    Phone p = new Phone();
    p.device =
        IrisDevice.builder()
            .serverUri(stack.endpoints().get("mqtts"))
            .user(user)
            .device("tls")
            .token(token)
            .lastPos(null, -1)
            .listener(p)
            .socketFactory(ssl.getSocketFactory())
            .build();
    p.device.connect(Duration.ofSeconds(10));
    Waits.await("snapshot over TLS", () -> !p.snapshots.isEmpty());
    Delta d = p.device.createThread(List.of(friend), "over tls").get(30, TimeUnit.SECONDS);
    assertTrue(d.getBody().isSetThreadCreated());
    p.device.close();
  }

  @Test
  void shouldPushToAStockMosquittoSubscriber() throws Exception {
    assumeTrue(
        new File("/usr/bin/mosquitto_sub").canExecute(), "mosquitto-clients are not installed");
    IrisStack stack = TestStacks.shared();
    int before = stack.devices().size();
    long cliUser = UserIds.next();
    long senderUser = UserIds.next();
    String subToken = DeviceRegistry.register(stack.bootstrapServers(), cliUser, "cli");
    String senderToken = DeviceRegistry.register(stack.bootstrapServers(), senderUser, "phone");
    TestStacks.awaitRegistered(stack, before + 2);
    Process sub =
        new ProcessBuilder(
                "mosquitto_sub",
                "-V",
                "mqttv311",
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(stack.mqtt().settings().port()),
                "-i",
                cliUser + "/cli",
                "-u",
                Long.toString(cliUser),
                "-P",
                subToken,
                "-t",
                "iris/" + cliUser + "/cli/down",
                "-q",
                "1",
                "-C",
                "1",
                "-W",
                "40",
                "-F",
                "%x")
            .redirectErrorStream(true)
            .start();
    Waits.await(
        "mosquitto_sub subscribed",
        Duration.ofSeconds(10),
        () -> {
          var here = stack.pushPath().devicesOf(cliUser);
          return here != null && here.contains(new DeviceTopics.DeviceId(cliUser, "cli"));
        });
    Phone sender = Phone.open(stack, senderUser, "phone", senderToken);
    sender.device.createThread(List.of(cliUser), "to the cli").get(30, TimeUnit.SECONDS);
    assertTrue(sub.waitFor(45, TimeUnit.SECONDS), "mosquitto_sub got nothing");
    String out = new String(sub.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, sub.exitValue(), out);
    ServerFrame f = FrameCodec.defaults().decode(HexFormat.of().parseHex(out), ServerFrame::new);
    assertTrue(f.getBody().isSetDeltas(), f.toString());
    Delta d = f.getBody().getDeltas().getDeltas().get(0);
    assertEquals(cliUser, d.getUserId());
    assertTrue(d.getBody().isSetThreadCreated());
    sender.device.close();
  }

  interface Step {
    void run() throws Exception;
  }

  /** Closes the device, runs {@code meanwhile}, and reconnects it from its position. */
  static Phone reopenAfter(IrisStack stack, Phone p, String token, Step meanwhile)
      throws Exception {
    String[] id = p.device.toString().replaceAll(".*\\[(\\S+) .*", "$1").split("/");
    p.device.close();
    IrisDevice.Position last = p.position(); // final once closed
    meanwhile.run();
    Phone again = Phone.open(stack, Long.parseLong(id[0]), id[1], token, last);
    return again;
  }

  static Waits.Condition sameAs(Phone reference, Phone p) {
    return () -> {
      long head = reference.lastApplied();
      return head >= 0 && p.last() >= head;
    };
  }

  /** The same command frame published twice by one device, as a phone resending after a timeout. */
  static void resendTwice(IrisStack stack, long user, String device, long thread, String text)
      throws Exception {
    int before = stack.devices().size();
    String token = DeviceRegistry.register(stack.bootstrapServers(), user, device);
    TestStacks.awaitRegistered(stack, before + 1);
    MqttClient c =
        new MqttClient(StockMqtt.url(stack), user + "/" + device, new MemoryPersistence());
    c.connect(StockMqtt.options(user, token));
    byte[] frame =
        FrameCodec.defaults()
            .encode(
                new DeviceRequest(
                    "resend",
                    DeviceRequestBody.command(
                        new DeviceCommand(
                            "resent-once",
                            thread,
                            CommandBody.sendMessage(new SendMessage(text))))));
    String up = "iris/" + user + "/" + device + "/up";
    c.publish(up, frame, 1, false);
    // The scenario: the resend comes a second later, as a phone's after its confirmation timeout.
    Thread.sleep(1000);
    c.publish(up, frame, 1, false);
    c.disconnect();
    c.close();
  }
}
