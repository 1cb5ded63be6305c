package io.iris.bench;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bench.MobileLink.Connect;
import io.iris.bench.MobileLink.Direction;
import io.iris.bench.MobileLink.Effect;
import io.iris.bench.MobileLink.GilbertElliott;
import io.iris.bench.MobileLink.Model;
import io.iris.bench.MobileLink.Outage;
import io.iris.bench.MobileLink.Profile;
import io.iris.bench.MobileLink.Schedule;
import io.iris.bench.MobileLink.Stall;
import io.iris.bench.MobileLink.Verdict;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The mobile link model on a fake clock (no sleeping: the model is a function of the clock), then
 * the socket layer against a local echo server with generous margins, for a busy two-core box.
 */
class MobileLinkTest {

  // ---- the deterministic core, on a fake clock ----

  private final AtomicLong clock = new AtomicLong();

  private Model model(Profile p, Schedule s, long seed) {
    return new Model(p, s, new Random(seed), clock::get);
  }

  private void atMs(long ms) {
    clock.set(ms(ms));
  }

  private static long ms(long ms) {
    return TimeUnit.MILLISECONDS.toNanos(ms);
  }

  /** Serialisation time of a segment, as the model computes it. */
  private static long air(int bytes, int kbps) {
    return bytes * 8_000_000_000L / (kbps * 1000L);
  }

  /** A test link, the same both ways; outages come from the schedule each test gives. */
  private static Profile link(
      int kbps,
      int delayMs,
      int bufferMs,
      double lossPercent,
      double meanLossBurst,
      int idleMs,
      int wakeMs,
      double jitterPercent,
      int jitterMs) {
    return new Profile(
        "test",
        kbps,
        kbps,
        delayMs,
        delayMs,
        lossPercent,
        meanLossBurst,
        bufferMs,
        idleMs,
        wakeMs,
        jitterPercent,
        jitterMs,
        0,
        0,
        0,
        0,
        0);
  }

  /** Rate, delay and buffer only: every impairment off. */
  private static Profile clean(int kbps, int delayMs, int bufferMs) {
    return link(kbps, delayMs, bufferMs, 0, 1, 0, 0, 0, 0);
  }

  /** Independent losses of {@code percent} each way (a Gilbert–Elliott chain with p + r = 1). */
  private static Profile lossy(double percent, int delayMs) {
    return link(240, delayMs, 3000, percent, 1 / (1 - percent / 100), 0, 0, 0, 0);
  }

  private static Profile sleepy(int idleMs, int wakeMs) {
    return link(780, 100, 2000, 0, 1, idleMs, wakeMs, 0, 0);
  }

  private Connect openAt(Model m, long ms) {
    atMs(ms);
    Connect c = m.open();
    assertEquals(Connect.Kind.OPEN, c.kind());
    return c;
  }

  @Test
  void aSynLostTwiceArrivesAtThreeSeconds() {
    // 50% independent loss: over many seeds every count of SYN losses shows up. The SYN that gets
    // through leaves at 0, 1, 3 or 7 s; data flows one round trip (1.3 s) later.
    Profile p = lossy(50, 650);
    long[] expectedMs = {0, 1000, 3000, 7000, 15_000, 31_000, 63_000};
    boolean[] seen = new boolean[expectedMs.length];
    for (long seed = 0; seed < 200; seed++) {
      clock.set(0);
      Connect c = model(p, Schedule.none(), seed).open();
      if (c.kind() == Connect.Kind.TIMED_OUT) {
        assertEquals(ms(127_000), c.at());
        continue;
      }
      assertEquals(ms(expectedMs[c.synLosses()] + 1300), c.at(), "SYN lost " + c.synLosses());
      seen[c.synLosses()] = true;
    }
    assertTrue(seen[0] && seen[1] && seen[2] && seen[3], "every case up to 3 losses was drawn");
  }

  @Test
  void theBufferDropsBeyondItsLimit() {
    // 20 kbit/s = 2500 B/s and a 4 s buffer: 10,000 bytes, ten segments of 1000 bytes.
    Model m = model(clean(20, 0, 4000), Schedule.none(), 1);
    int a = openAt(m, 0).id();
    int b = m.open().id();
    for (int i = 1; i <= 10; i++) {
      Verdict v = m.send(a, Direction.DOWN, 1000);
      assertEquals(Verdict.Kind.DELIVER, v.kind(), "within the buffer a segment only queues");
      assertNull(v.cause());
      assertEquals(ms(400L * i), v.at());
    }
    Verdict over = m.send(a, Direction.DOWN, 1000);
    assertEquals(Verdict.Kind.RETRY, over.kind());
    assertEquals(Stall.OVERFLOW, over.cause());
    assertEquals(ms(1000), over.at(), "the first flight's RTO is 1 s");
    // The buffer is the phone's, not the connection's: the other connection finds it full too.
    assertEquals(Stall.OVERFLOW, m.send(b, Direction.DOWN, 1000).cause());
    // The other direction has its own.
    assertEquals(Verdict.Kind.DELIVER, m.send(b, Direction.UP, 1000).kind());
    assertEquals(2, m.stalls(Stall.OVERFLOW));
    // After the RTO, two segments have left: the retransmission fits, behind the rest.
    atMs(1000);
    Verdict retry = m.send(a, Direction.DOWN, 1000);
    assertEquals(Verdict.Kind.DELIVER, retry.kind());
    assertEquals(ms(4400), retry.at());
  }

  @Test
  void queueingDelayIsBoundedByBufferOverRate() {
    // Three greedy connections on 2G: the queue fills up to the 4 s buffer and no further.
    Model m = model(clean(20, 650, 4000), Schedule.none(), 1);
    long[] maxQueue = new long[1];
    greedy(m, 3, 300_000, 650, maxQueue);
    assertTrue(maxQueue[0] <= ms(4000), "queued " + maxQueue[0] / 1_000_000 + " ms");
    assertTrue(maxQueue[0] >= ms(3500), "queued only " + maxQueue[0] / 1_000_000 + " ms");
    assertTrue(m.stalls(Stall.OVERFLOW) > 0);
  }

  @Test
  void twoConnectionsOfOnePhoneShareItsBandwidth() {
    Profile edge = clean(240, 400, 3000);
    long horizonMs = 600_000;
    long capacity = 240_000 / 8 * horizonMs / 1000;
    long alone = greedy(model(edge, Schedule.none(), 1), 1, horizonMs, 400, new long[1])[0];
    assertTrue(alone > 0.9 * capacity, "alone: " + alone + " of " + capacity);
    long[] shared = greedy(model(edge, Schedule.none(), 1), 2, horizonMs, 400, new long[1]);
    long total = shared[0] + shared[1];
    assertTrue(total > 0.9 * capacity && total <= capacity, "together: " + total);
    for (long got : shared) {
      double share = (double) got / total;
      assertTrue(share > 0.35 && share < 0.65, "one got " + share + " of the link");
    }
  }

  /**
   * Opens {@code n} connections at 0 whose servers always have a full segment to send, each
   * offering it whenever the link lets it, until the horizon. Returns the bytes each got delivered
   * by then; the longest queueing delay seen goes into {@code maxQueue[0]}.
   */
  private long[] greedy(Model m, int n, long horizonMs, long delayMs, long[] maxQueue) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = openAt(m, 0).id();
    }
    long horizon = ms(horizonMs);
    long[] next = new long[n];
    long[] delivered = new long[n];
    for (int steps = 0; steps < 10_000_000; steps++) {
      int i = 0;
      for (int j = 1; j < n; j++) {
        if (next[j] < next[i]) {
          i = j;
        }
      }
      if (next[i] >= horizon) {
        return delivered;
      }
      clock.set(next[i]);
      Verdict v = m.send(ids[i], Direction.DOWN, MobileLink.MSS);
      if (v.kind() == Verdict.Kind.DELIVER) {
        if (v.at() <= horizon) {
          delivered[i] += MobileLink.MSS;
        }
        maxQueue[0] = Math.max(maxQueue[0], v.at() - next[i] - ms(delayMs));
      } else {
        assertEquals(Verdict.Kind.RETRY, v.kind());
        assertTrue(v.at() > next[i]);
        next[i] = v.at();
      }
    }
    throw new AssertionError("the simulation did not end");
  }

  @Test
  void gilbertElliottLossComesInBurstsOfTheConfiguredMeanLength() {
    GilbertElliott ge = new GilbertElliott(0.02, 0.25, 0, 1);
    assertEquals(4, ge.meanBadRun(), 1e-9);
    GilbertElliott.Chain chain = ge.chain();
    Random random = new Random(42);
    long losses = 0;
    long bursts = 0;
    long lossAfterLoss = 0;
    boolean previous = false;
    int n = 1_000_000;
    for (int i = 0; i < n; i++) {
      boolean lost = chain.lost(random);
      if (lost) {
        losses++;
        if (previous) {
          lossAfterLoss++;
        } else {
          bursts++;
        }
      }
      previous = lost;
    }
    double meanBurst = (double) losses / bursts;
    assertEquals(4, meanBurst, 0.2, "mean burst");
    assertEquals(ge.stationaryLoss(), (double) losses / n, 0.1 * ge.stationaryLoss(), "loss rate");
    // Bursty: a loss is followed by a loss 75% of the time, not 7% as with independent losses.
    assertEquals(0.75, (double) lossAfterLoss / losses, 0.02);
    // A profile's chain keeps ATC's mean loss and the chosen mean burst.
    GilbertElliott rural = Profile.byName("2G-DevelopingRural").loss();
    assertEquals(0.02, rural.stationaryLoss(), 1e-12);
    assertEquals(2, rural.meanBadRun(), 1e-12);
  }

  @Test
  void aLossStallsForTheRtoDoublingOnConsecutiveLossesUntilADelivery() {
    // 50% independent loss, 650 ms each way, nothing queued: 1 s before the first ACK, then
    // 1.5 × the round trip.
    Model m = model(lossy(50, 650), Schedule.none(), 3);
    Connect c;
    long t = 0;
    do {
      atMs(t);
      c = m.open();
      t += 200_000;
    } while (c.kind() != Connect.Kind.OPEN);
    clock.set(c.at());
    int consecutive = 0;
    boolean delivered = false;
    int doubled = 0;
    long synLosses = m.stalls(Stall.LOSS);
    long dataLosses = 0;
    for (int i = 0; i < 300; i++) {
      long now = clock.get();
      Verdict v = m.send(c.id(), Direction.UP, 100);
      if (v.kind() == Verdict.Kind.DELIVER) {
        delivered = true;
        consecutive = 0;
        clock.set(v.at() + ms(650) + 1); // the ACK is back
      } else if (v.cause() == Stall.LOSS) {
        long base = delivered ? (ms(1300) + air(100, 240)) * 3 / 2 : ms(1000);
        long rto = Math.min(ms(60_000), base << consecutive);
        assertEquals(rto, v.at() - now, "after " + consecutive + " losses");
        doubled += consecutive > 0 ? 1 : 0;
        consecutive++;
        dataLosses++;
        clock.set(v.at());
      } else {
        clock.set(v.at());
      }
    }
    assertTrue(delivered && doubled > 10, "doubled " + doubled + " times");
    assertEquals(synLosses + dataLosses, m.stalls(Stall.LOSS));
  }

  @Test
  void aNetworkChangeResetsEveryConnectionRefusesNewOnesThenAnnouncesTheNewNetwork() {
    Model m =
        model(
            sleepy(10_000, 2000),
            Schedule.of(new Outage(Outage.Kind.NETWORK_CHANGE, 5000, 4000)),
            1);
    Connect before = openAt(m, 0);
    assertEquals(ms(2200), before.at(), "the radio wakes up first: 2 s, then one round trip");
    atMs(4999);
    assertTrue(m.advance().isEmpty());
    assertEquals(ms(5000), m.nextEventAt());
    atMs(5000);
    assertEquals(List.of(new Effect(Effect.Kind.RESET, before.id())), m.advance());
    assertEquals(Verdict.Kind.RESET, m.send(before.id(), Direction.UP, 10).kind());
    atMs(6000);
    assertEquals(Connect.Kind.REFUSED, m.open().kind());
    atMs(9000);
    assertEquals(List.of(new Effect(Effect.Kind.NETWORK_BACK, -1)), m.advance());
    Connect after = openAt(m, 9000);
    assertEquals(ms(9000 + 2200), after.at(), "a new network: the radio wakes up again");
    assertEquals(1, m.resets());
    assertEquals(1, m.refused());
    assertEquals(2, m.stalls(Stall.WAKE_UP));
    assertEquals(Long.MAX_VALUE, m.nextEventAt());
  }

  @Test
  void aFadeStallsWithoutReset() {
    Model m =
        model(clean(20, 100, 4000), Schedule.of(new Outage(Outage.Kind.FADE, 10_000, 3000)), 1);
    int id = openAt(m, 0).id();
    // 1000 bytes take 400 ms on the air: 200 before the fade, 200 after it.
    atMs(9800);
    Verdict spanning = m.send(id, Direction.UP, 1000);
    assertEquals(Verdict.Kind.DELIVER, spanning.kind());
    assertEquals(Stall.FADE, spanning.cause());
    assertEquals(ms(13_200 + 100), spanning.at());
    // Sent during the fade: queued, not lost, behind the first.
    atMs(11_000);
    Verdict during = m.send(id, Direction.UP, 1000);
    assertEquals(Verdict.Kind.DELIVER, during.kind());
    assertEquals(ms(13_600 + 100), during.at());
    // A connect during the fade waits for its end, with no loss.
    Connect late = m.open();
    assertEquals(Connect.Kind.OPEN, late.kind());
    assertEquals(0, late.synLosses());
    assertEquals(
        ms(13_600 + 200), late.at(), "the SYN waits for the end of the fade and the queue");
    atMs(20_000);
    assertTrue(m.advance().isEmpty(), "no reset");
    assertTrue(m.alive(id));
    assertEquals(1, m.stalls(Stall.FADE));
    assertEquals(0, m.stalls(Stall.LOSS) + m.stalls(Stall.OVERFLOW) + m.resets());
  }

  @Test
  void theWakeUpDelayAppliesAfterIdleOnly() {
    Model m = model(sleepy(10_000, 2000), Schedule.none(), 1);
    long air = air(1000, 780);
    Connect c = openAt(m, 0);
    assertEquals(ms(2200), c.at(), "asleep at the start");
    clock.set(c.at());
    Verdict first = m.send(c.id(), Direction.UP, 1000);
    assertEquals(ms(2200) + air + ms(100), first.at(), "awake: no delay");
    assertNull(first.cause());
    atMs(8000);
    assertNull(m.send(c.id(), Direction.DOWN, 1000).cause(), "idle 6 s only");
    atMs(17_000);
    assertNull(m.send(c.id(), Direction.UP, 1000).cause(), "the download kept the radio up");
    atMs(30_000);
    Verdict woken = m.send(c.id(), Direction.UP, 1000);
    assertEquals(Stall.WAKE_UP, woken.cause(), "idle 13 s: asleep");
    assertEquals(ms(30_000 + 2000) + air + ms(100), woken.at());
    atMs(30_500);
    Verdict waking = m.send(c.id(), Direction.DOWN, 1000);
    assertNull(waking.cause(), "one wake-up for both directions");
    assertEquals(ms(32_000) + air + ms(100), waking.at(), "but it waits for the radio");
    assertEquals(2, m.stalls(Stall.WAKE_UP));
  }

  @Test
  void jitterSpikesKeepEachConnectionInOrder() {
    Profile p = link(780, 100, 2000, 0, 1, 0, 0, 30, 400);
    Model m = model(p, Schedule.none(), 5);
    int id = openAt(m, 0).id();
    long last = 0;
    long spiked = 0;
    for (int i = 0; i < 200; i++) {
      atMs(1000 + 50L * i);
      Verdict v = m.send(id, Direction.DOWN, 1000);
      assertEquals(Verdict.Kind.DELIVER, v.kind());
      assertTrue(v.at() >= last, "in order");
      long extra = v.at() - clock.get() - air(1000, 780) - ms(100);
      assertTrue(extra <= ms(400), "a spike of at most 400 ms");
      spiked += extra >= ms(200) ? 1 : 0;
      last = v.at();
    }
    assertTrue(m.jitterSpikes() > 30 && spiked > 0, m.jitterSpikes() + " spikes");
  }

  @Test
  void aNatDeathBlackholesTheLongestIdleConnection() {
    Model m =
        model(clean(780, 100, 2000), Schedule.of(new Outage(Outage.Kind.NAT_DEATH, 5000, 0)), 1);
    int busy = openAt(m, 0).id();
    int idle = m.open().id();
    atMs(1000);
    m.send(busy, Direction.UP, 100);
    m.send(idle, Direction.UP, 100);
    atMs(3000);
    m.send(busy, Direction.DOWN, 100);
    atMs(5000);
    assertEquals(List.of(new Effect(Effect.Kind.BLACKHOLE, idle)), m.advance());
    for (Direction d : Direction.values()) {
      assertEquals(Verdict.Kind.BLACKHOLE, m.send(idle, d, 100).kind());
      assertEquals(-1, m.finAt(idle, d), "not even a FIN");
    }
    assertEquals(Verdict.Kind.DELIVER, m.send(busy, Direction.UP, 100).kind());
    assertEquals(1, m.blackholes());
    assertEquals(0, m.resets());
  }

  @Test
  void theSameSeedGivesTheSameScheduleAndTheSameRealisation() {
    Profile rural = Profile.byName("2G-DevelopingRural");
    Duration tenHours = Duration.ofHours(10);
    Schedule s = Schedule.generate(rural, 7, tenHours);
    assertEquals(s, Schedule.generate(rural, 7, tenHours));
    assertNotEquals(s, Schedule.generate(rural, 8, tenHours));
    // Poisson counts near their means (30, 4 and 2 per hour).
    assertEquals(300, s.count(Outage.Kind.FADE), 60);
    assertEquals(40, s.count(Outage.Kind.NETWORK_CHANGE), 20);
    assertEquals(20, s.count(Outage.Kind.NAT_DEATH), 13);
    for (Outage o : s.outages()) {
      assertTrue(o.atMs() < tenHours.toMillis());
    }
    // Two links given the seed and the schedule, and the same traffic, do the same.
    assertEquals(script(rural, s, 7), script(rural, s, 7));
    assertNotEquals(script(rural, s, 7), script(rural, s, 8));
  }

  /** A phone that connects and sends a segment each way every 7 s for an hour. */
  private List<Object> script(Profile p, Schedule s, long seed) {
    clock.set(0);
    Model m = model(p, s, seed);
    List<Object> happened = new ArrayList<>();
    int id = -1;
    for (long t = 0; t < 3_600_000; t += 7000) {
      atMs(t);
      happened.addAll(m.advance());
      if (id < 0 || !m.alive(id)) {
        Connect c = m.open();
        happened.add(c);
        id = c.id();
        continue;
      }
      happened.add(m.send(id, Direction.UP, 500));
      happened.add(m.send(id, Direction.DOWN, 1400));
    }
    return happened;
  }

  @Test
  void profilesAreAtcsFigures() {
    assertEquals(
        List.of(
            "2G-DevelopingRural",
            "2G-DevelopingUrban",
            "Edge-Lossy",
            "Edge-Average",
            "Edge-Good",
            "3G-Average",
            "3G-Good"),
        Profile.all().stream().map(Profile::name).toList());
    Profile edge = Profile.byName("edge-lossy");
    assertEquals(
        List.of(240, 200, 400, 440),
        List.of(edge.downKbps(), edge.upKbps(), edge.downDelayMs(), edge.upDelayMs()));
    assertEquals(1, edge.lossPercent());
    Profile rural = Profile.byName("2G-DevelopingRural");
    assertEquals(
        List.of(20, 18, 650, 650),
        List.of(rural.downKbps(), rural.upKbps(), rural.downDelayMs(), rural.upDelayMs()));
    assertEquals(2, rural.lossPercent());
    assertTrue(rural.describe().startsWith("2G-DevelopingRural: 20/18 kbit/s down/up, 650/650 ms"));
    assertThrows(IllegalArgumentException.class, () -> Profile.byName("5G"));
  }

  // ---- the socket layer, against an echo server ----

  private Echo echo;

  @BeforeEach
  void startEcho() throws IOException {
    echo = new Echo();
  }

  @AfterEach
  void stopEcho() {
    echo.close();
  }

  private static byte[] roundTrip(Socket s, byte[] data) throws IOException {
    s.getOutputStream().write(data);
    byte[] back = s.getInputStream().readNBytes(data.length);
    if (back.length < data.length) {
      throw new EOFException();
    }
    return back;
  }

  /** Waits for a byte; the end of the stream is an exception too. */
  private static void readOrEof(Socket s) throws IOException {
    if (s.getInputStream().read() < 0) {
      throw new EOFException();
    }
  }

  @Test
  void shouldRelayEveryByteUnchangedWithTheDelayAndCountThem() throws Exception {
    try (MobileLink link =
            new MobileLink("t", echo.port(), clean(400, 100, 2000), 1, Schedule.none());
        Socket s = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
      s.setSoTimeout(20_000);
      long t0 = System.nanoTime();
      roundTrip(s, new byte[] {1});
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 200, "a round trip of 2 × 100 ms took " + ms + " ms");
      byte[] data = new byte[20_000];
      new Random(1).nextBytes(data);
      assertArrayEquals(data, roundTrip(s, data));
      assertEquals(20_001, link.bytesUp());
      assertEquals(20_001, link.bytesDown());
      assertEquals(1, link.connections());
    }
  }

  @Test
  void aBlackholedConnectionGivesNeitherBytesNorReset() throws Exception {
    Schedule natDeath = Schedule.of(new Outage(Outage.Kind.NAT_DEATH, 3000, 0));
    try (MobileLink link = new MobileLink("t", echo.port(), clean(780, 50, 2000), 1, natDeath)) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
        s.setSoTimeout(20_000);
        assertArrayEquals("hello".getBytes(), roundTrip(s, "hello".getBytes()));
        await().atMost(Duration.ofSeconds(20)).until(() -> link.blackholes() == 1);
        s.getOutputStream().write("more".getBytes());
        s.setSoTimeout(1500);
        InputStream in = s.getInputStream();
        assertThrows(SocketTimeoutException.class, in::read, "no bytes, no EOF, no reset");
        s.getOutputStream().write("still there?".getBytes());
        Echo.Seen server = echo.seen.get(0);
        await()
            .during(Duration.ofMillis(500))
            .atMost(Duration.ofSeconds(5))
            .until(() -> server.bytes.get() == 5 && !server.eof && !server.failed);
      }
      // The phone gives up and closes its socket: the server is not told either.
      Echo.Seen server = echo.seen.get(0);
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(5))
          .until(() -> !server.eof && !server.failed);
      assertEquals(5, link.bytesUp());
      assertEquals(0, link.resets());
    }
  }

  @Test
  void aNetworkChangeResetsBothEndsAndFiresTheListener() throws Exception {
    Schedule change = Schedule.of(new Outage(Outage.Kind.NETWORK_CHANGE, 2000, 3000));
    AtomicLong backAt = new AtomicLong();
    long t0 = System.nanoTime();
    try (MobileLink link = new MobileLink("t", echo.port(), clean(780, 50, 2000), 1, change);
        Socket s = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
      link.onNetworkChange(() -> backAt.set(System.nanoTime()));
      s.setSoTimeout(20_000);
      assertArrayEquals("hi".getBytes(), roundTrip(s, "hi".getBytes()));
      Echo.Seen server = echo.seen.get(0);
      IOException e = assertThrows(IOException.class, () -> readOrEof(s));
      assertFalse(e instanceof SocketTimeoutException, "reset, not silence: " + e);
      assertTrue(System.nanoTime() - t0 >= ms(2000) - ms(50), "not before the change");
      await().atMost(Duration.ofSeconds(10)).until(() -> server.failed || server.eof);
      assertTrue(server.failed, "the server's end was reset too");
      assertEquals(1, link.resets());
      // No network for 3 s: a connect meanwhile is refused.
      try (Socket during = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
        during.setSoTimeout(20_000);
        IOException refused = assertThrows(IOException.class, () -> roundTrip(during, new byte[1]));
        assertFalse(refused instanceof SocketTimeoutException, refused.toString());
      }
      assertEquals(1, link.refused());
      await().atMost(Duration.ofSeconds(20)).until(() -> backAt.get() != 0);
      assertTrue(backAt.get() - t0 >= ms(5000) - ms(50), "announced once the network is back");
      try (Socket after = new Socket(InetAddress.getLoopbackAddress(), link.port())) {
        after.setSoTimeout(20_000);
        assertArrayEquals("again".getBytes(), roundTrip(after, "again".getBytes()));
      }
    }
  }

  @Test
  void connectionsToSeveralTargetsShareOneRadio() throws Exception {
    try (Echo other = new Echo();
        MobileLink link =
            new MobileLink(
                "t",
                List.of(echo.port(), other.port()),
                clean(400, 100, 2000),
                1,
                Schedule.none());
        Socket a = new Socket(InetAddress.getLoopbackAddress(), link.port(echo.port()));
        Socket b = new Socket(InetAddress.getLoopbackAddress(), link.port(other.port()))) {
      a.setSoTimeout(20_000);
      b.setSoTimeout(20_000);
      assertEquals(link.port(), link.port(echo.port()));
      assertNotEquals(link.port(echo.port()), link.port(other.port()));
      assertArrayEquals("to a".getBytes(), roundTrip(a, "to a".getBytes()));
      assertArrayEquals("to b!".getBytes(), roundTrip(b, "to b!".getBytes()));
      await().atMost(Duration.ofSeconds(5)).until(() -> other.seen.size() == 1);
      assertEquals(5, other.seen.get(0).bytes.get(), "b's bytes went to the second target");
      assertEquals(9, link.bytesUp(), "one link counts both");
      assertEquals(2, link.connections());
      assertThrows(IllegalArgumentException.class, () -> link.port(1));
    }
  }

  /** Echoes every byte back and remembers, per connection, what it saw. */
  private static final class Echo implements AutoCloseable {
    static final class Seen {
      final AtomicLong bytes = new AtomicLong();
      volatile boolean eof;
      volatile boolean failed;
    }

    final ServerSocket server;
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    final List<Socket> sockets = new CopyOnWriteArrayList<>();

    Echo() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "echo-accept");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          sockets.add(s);
          Seen state = new Seen();
          seen.add(state);
          Thread t = new Thread(() -> copy(s, state), "echo");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private static void copy(Socket s, Seen state) {
      try (s;
          InputStream in = s.getInputStream();
          OutputStream out = s.getOutputStream()) {
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
          state.bytes.addAndGet(n);
          out.write(buf, 0, n);
        }
        state.eof = true;
      } catch (IOException e) {
        state.failed = true;
      }
    }

    @Override
    public void close() {
      try {
        server.close();
      } catch (IOException e) {
        // nothing to do
      }
      for (Socket s : sockets) {
        try {
          s.close();
        } catch (IOException e) {
          // nothing to do
        }
      }
    }
  }
}
