package io.iris.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * One phone's mobile link, emulated in a TCP proxy on 127.0.0.1: every connection the phone opens
 * to {@link #port()} is relayed to the target port through a model of a cellular radio link. A link
 * can relay to several target ports (a phone that talks to a notification server and an HTTPS
 * server), each with a port of its own ({@link #port(int)}): all their connections share the one
 * radio. It is meant to replace {@link LinkProxy}, whose independent token buckets, fixed delay and
 * reset-everything losses a review found unrealistic. Like LinkProxy it stands in for {@code tc
 * netem}, which this machine's kernel lacks.
 *
 * <p>The model, per phone:
 *
 * <ul>
 *   <li><b>A bottleneck per direction</b>: one FIFO at the profile's rate with a drop-tail buffer
 *       of {@link Profile#bufferMs()} at that rate, shared by all the phone's connections (one
 *       radio per phone). Queueing delay is real and bounded by the buffer: seconds on 2G. The
 *       proxy relays over loopback TCP, which is reliable, so it cannot really drop a segment: a
 *       segment that finds the buffer full is modelled as the loss its sender would see. That
 *       connection's direction stalls for its retransmission timeout, then offers the same bytes
 *       again.
 *   <li><b>A TCP sender per connection and direction</b>, reduced to what decides who gets the
 *       bottleneck: a congestion window of 10 segments at first (RFC 6928), growing by slow start
 *       then by one segment per window on each modelled ACK (a segment's delivery, plus the reverse
 *       one-way delay, plus a random part of a 20 ms radio block), back to one segment after a
 *       loss. Without windows one bulk connection would take all the buffer and lock the phone's
 *       others out; with them, connections sharing the radio converge to about equal shares, as TCP
 *       flows do. The receive window is never the limit (phones autotune it, with window scaling):
 *       a connection held at a fixed window would never probe, never lose, and lock out the
 *       connection that does.
 *   <li><b>Bursty loss</b>: a {@link GilbertElliott} chain per direction, stepped once per segment
 *       and once per segment's worth of silent air time, with ATC's mean loss and a mean burst of
 *       {@link Profile#meanLossBurst()} back-to-back segments. A lost segment still takes its time
 *       on the air.
 *   <li><b>Retransmission timeouts</b>: 1 s for a SYN and for a connection's first flight (until
 *       its first ACK: RFC 6298's initial RTO), then max(1 s, 1.5 × the lost segment's round trip,
 *       queueing included). RFC 6298 puts the minimum at 1 s; 1.5 × RTT stands for its SRTT + 4 ×
 *       RTTVAR on a path whose RTT varies by an eighth, and counting the queue keeps a sender from
 *       timing out before its segment has even left a bloated buffer. Each consecutive loss of the
 *       same sender doubles it, a delivery resets it, 60 s at most. SYNs go at 0, 1, 3, 7, 15, 31
 *       and 63 s (Linux's six retries), so one lost SYN delays the connection by 1 s, two by 3 s,
 *       three by 7 s; after the seventh the connect times out at 127 s and the phone sees a reset.
 *       Every loss is recovered by a timeout, never by fast retransmit: pessimistic for a big
 *       window, close to what happens with the few segments in flight of a 2G phone.
 *   <li><b>Outages</b>, from a {@link Schedule} fixed in advance: <i>fades</i>, when the radio
 *       sends nothing but the link layer keeps what is queued (UMTS/GPRS acknowledged mode), so
 *       every connection stalls without a reset, and a SYN waits for the end of the fade;
 *       <i>network changes</i>, which reset both ends of every connection, refuse connects while
 *       there is no network (a phone without a network fails them at once), then run the {@link
 *       #onNetworkChange} listeners once the new network is up; <i>NAT deaths</i>, which blackhole
 *       the open connection idle the longest: neither bytes nor a reset, either way, forever, so
 *       that both peers must find out by themselves.
 *   <li><b>Radio wake-up</b>: after {@link Profile#idleBeforeSleepMs()} with nothing on the air
 *       either way, the next segment or SYN waits {@link Profile#wakeUpMs()} (3G's IDLE to DCH
 *       promotion). The radio is asleep when the link starts and after a network change.
 *   <li><b>Jitter spikes</b>: on a few segments, hundreds of milliseconds more, without reordering
 *       a connection (later segments wait behind).
 *   <li><b>Propagation</b>: ATC's one-way delay per direction, after the bottleneck.
 * </ul>
 *
 * <p>The deterministic core is {@link Model}: no threads, no sockets, the clock and the {@link
 * Random} injected, so that it answers "a segment enters direction D of connection C now: when is
 * it delivered?" the same way every time. This class is the socket layer around it. Every random
 * draw comes from {@code new Random(seed)}: the same seed, schedule and sequence of calls give the
 * same realisation. Concurrent connections over real sockets can call in a different order from one
 * run to the next; the outages, which matter most, cannot: they come from the {@link Schedule}, a
 * function of the seed and the run length that two links (the push phone and the pull phone of a
 * paired run) can share.
 *
 * <p>Not modelled: the receiving application's flow control (the proxy writes when a segment is due
 * and blocks if the application does not read), spurious retransmissions, ACKs queueing behind data
 * or getting lost, fast retransmit, NAT idle timeouts (NAT deaths come from the schedule), and
 * handover delays other than network changes.
 */
public final class MobileLink implements AutoCloseable {

  /** The largest segment the link carries: a TCP MSS on a 1500-byte path. */
  public static final int MSS = 1460;

  /** RFC 6298's initial and minimum RTO. */
  static final long INITIAL_RTO_NANOS = TimeUnit.SECONDS.toNanos(1);

  static final long MAX_RTO_NANOS = TimeUnit.SECONDS.toNanos(60);

  /** Linux's default {@code tcp_syn_retries}. */
  static final int SYN_RETRIES = 6;

  static final long INITIAL_WINDOW = 10L * MSS;

  /** Receive windows autotuned with window scaling: never the limit on these links. */
  static final long MAX_WINDOW = 4L << 20;

  /**
   * An ACK comes back at a random point of one 20 ms radio block (GPRS's block period; UMTS's
   * longest TTI). Without this, senders whose ACKs come back in lock-step keep finding the shared
   * buffer in the same state, and one of them is locked out of it (RFC 2309, section 2).
   */
  static final int ACK_SLOT_MICROS = 20_000;

  public enum Direction {
    /** Phone to server. */
    UP,
    /** Server to phone. */
    DOWN
  }

  /** Why a segment waited longer than the rate and the delay say. */
  public enum Stall {
    /** A Gilbert–Elliott loss: the sender waits its RTO (SYN losses included). */
    LOSS,
    /** The drop-tail buffer was full: the sender waits its RTO. */
    OVERFLOW,
    /** A fade held the radio (counted once per fade and connection direction). */
    FADE,
    /** The radio was asleep (counted once per wake-up). */
    WAKE_UP
  }

  /**
   * A link's figures. Rates, delays and mean loss are Facebook's Augmented Traffic Control profiles
   * (github.com/facebookarchive/augmented-traffic-control, utils/profiles/*.json: rate in kbit/s,
   * delay in ms, loss in %, per direction). The rest is not in ATC and is this project's choice,
   * the same for every profile of a radio technology but for the outage rates:
   *
   * <ul>
   *   <li>buffer: 4 s on 2G, 3 s on EDGE, 2 s on 3G at the link rate. Cellular queues are that
   *       bloated: RTTs of several seconds under load were measured on 3G networks (Jiang et al.,
   *       "Tackling bufferbloat in 3G/4G networks", IMC 2012);
   *   <li>loss bursts of 2 segments on average;
   *   <li>wake-up: 3G sleeps after 17 s idle (5 s DCH tail and 12 s FACH tail) and takes 2 s to
   *       wake (IDLE to DCH), as measured by Qian et al., "Characterizing radio resource allocation
   *       for 3G networks", IMC 2010; 2G and EDGE sleep after GPRS's READY timer (44 s, 3GPP TS
   *       24.008 default) and take 1 s (paging and a new TBF);
   *   <li>jitter spikes on 1% of segments (0.5% on 3G) of between half and all of 800 ms (2G), 500
   *       ms (EDGE) or 300 ms (3G);
   *   <li>fades, network changes and NAT deaths per hour: more and longer the worse the network.
   * </ul>
   *
   * @param meanLossBurst the mean length of a run of losses, in segments (at least 1)
   * @param bufferMs each direction's drop-tail buffer, in milliseconds at that direction's rate
   * @param idleBeforeSleepMs how long the radio stays up with nothing to send either way
   * @param wakeUpMs what the first segment after that waits (0: no wake-up delay)
   * @param jitterSpikePercent the share of segments delayed by a spike
   * @param jitterSpikeMs the largest spike; a spike is between half of it and all of it
   * @param meanFadeMs a fade lasts between half and one and a half times this
   * @param networkDownMs how long a network change leaves the phone without network, about
   */
  public record Profile(
      String name,
      int downKbps,
      int upKbps,
      int downDelayMs,
      int upDelayMs,
      double lossPercent,
      double meanLossBurst,
      int bufferMs,
      int idleBeforeSleepMs,
      int wakeUpMs,
      double jitterSpikePercent,
      int jitterSpikeMs,
      double fadesPerHour,
      int meanFadeMs,
      double networkChangesPerHour,
      int networkDownMs,
      double natDeathsPerHour) {

    public Profile {
      if (downKbps <= 0 || upKbps <= 0) {
        throw new IllegalArgumentException(name + ": rates must be positive");
      }
      if ((long) Math.min(downKbps, upKbps) * bufferMs / 8 < MSS) {
        throw new IllegalArgumentException(name + ": the buffer must hold at least one segment");
      }
      if (lossPercent < 0 || lossPercent >= 100 || meanLossBurst < 1) {
        throw new IllegalArgumentException(name + ": loss in [0, 100) %, bursts of 1 or more");
      }
      if (wakeUpMs > 0 && idleBeforeSleepMs <= 0) {
        throw new IllegalArgumentException(name + ": a wake-up delay needs an idle time");
      }
      if (jitterSpikePercent > 0 && jitterSpikeMs <= 0) {
        throw new IllegalArgumentException(name + ": jitter spikes need a size");
      }
      if (Math.min(downDelayMs, upDelayMs) < 0
          || Math.min(fadesPerHour, Math.min(networkChangesPerHour, natDeathsPerHour)) < 0
          || Math.min(meanFadeMs, networkDownMs) < 0) {
        throw new IllegalArgumentException(name + ": negative figure");
      }
    }

    // ATC's figures (kbit/s down, up; ms down, up; loss %), the radio, then this project's outages
    // (fades per hour and their mean ms; network changes per hour and their ms without network;
    // NAT deaths per hour).
    private static final List<Profile> ALL =
        List.of(
            atc("2G-DevelopingRural", 20, 18, 650, 650, 2, Radio.GSM, 30, 3000, 4, 8000, 2),
            atc("2G-DevelopingUrban", 35, 32, 650, 650, 0, Radio.GSM, 20, 2000, 3, 5000, 2),
            atc("Edge-Lossy", 240, 200, 400, 440, 1, Radio.EDGE, 20, 2000, 3, 5000, 1),
            atc("Edge-Average", 240, 200, 400, 440, 0, Radio.EDGE, 12, 2000, 2, 5000, 1),
            atc("Edge-Good", 250, 200, 350, 370, 0, Radio.EDGE, 8, 1500, 1, 4000, 1),
            atc("3G-Average", 780, 330, 100, 100, 0, Radio.UMTS, 6, 1500, 1, 3000, 1),
            atc("3G-Good", 850, 420, 90, 100, 0, Radio.UMTS, 4, 1000, 0.5, 3000, 1));

    /** This project's choices per radio technology; see the record's documentation. */
    private enum Radio {
      GSM(4000, 2, 44_000, 1000, 1, 800),
      EDGE(3000, 2, 44_000, 1000, 1, 500),
      UMTS(2000, 2, 17_000, 2000, 0.5, 300);

      final int bufferMs;
      final double meanLossBurst;
      final int idleBeforeSleepMs;
      final int wakeUpMs;
      final double jitterSpikePercent;
      final int jitterSpikeMs;

      Radio(
          int bufferMs,
          double meanLossBurst,
          int idleBeforeSleepMs,
          int wakeUpMs,
          double jitterSpikePercent,
          int jitterSpikeMs) {
        this.bufferMs = bufferMs;
        this.meanLossBurst = meanLossBurst;
        this.idleBeforeSleepMs = idleBeforeSleepMs;
        this.wakeUpMs = wakeUpMs;
        this.jitterSpikePercent = jitterSpikePercent;
        this.jitterSpikeMs = jitterSpikeMs;
      }
    }

    private static Profile atc(
        String name,
        int downKbps,
        int upKbps,
        int downDelayMs,
        int upDelayMs,
        double lossPercent,
        Radio radio,
        double fadesPerHour,
        int meanFadeMs,
        double networkChangesPerHour,
        int networkDownMs,
        double natDeathsPerHour) {
      return new Profile(
          name,
          downKbps,
          upKbps,
          downDelayMs,
          upDelayMs,
          lossPercent,
          radio.meanLossBurst,
          radio.bufferMs,
          radio.idleBeforeSleepMs,
          radio.wakeUpMs,
          radio.jitterSpikePercent,
          radio.jitterSpikeMs,
          fadesPerHour,
          meanFadeMs,
          networkChangesPerHour,
          networkDownMs,
          natDeathsPerHour);
    }

    /** The profiles fixed in code, worst first. */
    public static List<Profile> all() {
      return ALL;
    }

    /** A profile by its ATC name, case aside. */
    public static Profile byName(String name) {
      for (Profile p : ALL) {
        if (p.name().equalsIgnoreCase(name)) {
          return p;
        }
      }
      throw new IllegalArgumentException(
          "unknown link profile "
              + name
              + "; known: "
              + ALL.stream().map(Profile::name).collect(Collectors.joining(", ")));
    }

    /** The loss process of each direction. */
    public GilbertElliott loss() {
      return GilbertElliott.fromMeanLoss(lossPercent / 100, meanLossBurst);
    }

    /** One line for a report. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "%s: %d/%d kbit/s down/up, %d/%d ms one way, %s, %.1f s buffer, %s, %s;"
              + " per hour %.1f fades of ~%.1f s, %.1f network changes (~%.1f s without network),"
              + " %.1f NAT deaths",
          name,
          downKbps,
          upKbps,
          downDelayMs,
          upDelayMs,
          lossPercent == 0
              ? "no loss"
              : String.format(
                  Locale.ROOT, "%.1f%% loss in bursts of %.1f", lossPercent, meanLossBurst),
          bufferMs / 1000.0,
          wakeUpMs == 0
              ? "no wake-up delay"
              : String.format(
                  Locale.ROOT,
                  "%.1f s wake-up after %d s idle",
                  wakeUpMs / 1000.0,
                  idleBeforeSleepMs / 1000),
          jitterSpikePercent == 0
              ? "no jitter spikes"
              : String.format(
                  Locale.ROOT,
                  "jitter spikes of %d-%d ms on %.1f%% of segments",
                  jitterSpikeMs / 2,
                  jitterSpikeMs,
                  jitterSpikePercent),
          fadesPerHour,
          meanFadeMs / 1000.0,
          networkChangesPerHour,
          networkDownMs / 1000.0,
          natDeathsPerHour);
    }
  }

  /**
   * The Gilbert–Elliott loss model: a good and a bad state, a transition probability out of each at
   * every segment, and a loss probability in each. With no loss in the good state and certain loss
   * in the bad one (Gilbert's model, what {@link #fromMeanLoss} builds) a run of losses is a stay
   * in the bad state: {@link #meanBadRun()} segments long on average.
   */
  public record GilbertElliott(
      double goodToBad, double badToGood, double lossInGood, double lossInBad) {

    public GilbertElliott {
      for (double p : new double[] {goodToBad, badToGood, lossInGood, lossInBad}) {
        if (!(p >= 0 && p <= 1)) {
          throw new IllegalArgumentException("probabilities are in [0, 1]");
        }
      }
    }

    /** Gilbert's model with this mean loss and mean burst (in segments, at least 1). */
    public static GilbertElliott fromMeanLoss(double meanLoss, double meanBurst) {
      if (meanLoss <= 0) {
        return new GilbertElliott(0, 1, 0, 0);
      }
      double r = 1 / meanBurst;
      return new GilbertElliott(Math.min(1, r * meanLoss / (1 - meanLoss)), r, 0, 1);
    }

    /** The long-run share of segments lost. */
    public double stationaryLoss() {
      double bad = goodToBad == 0 ? 0 : goodToBad / (goodToBad + badToGood);
      return bad * lossInBad + (1 - bad) * lossInGood;
    }

    /** The mean stay in the bad state, in segments. */
    public double meanBadRun() {
      return 1 / badToGood;
    }

    /** A chain starting in the good state. */
    public Chain chain() {
      return new Chain(this);
    }

    /** One realisation of the model. */
    public static final class Chain {
      private final GilbertElliott model;
      private boolean bad;

      private Chain(GilbertElliott model) {
        this.model = model;
      }

      /**
       * Lets {@code steps} segments' worth of air time pass with nothing sent: the channel keeps
       * changing state while the radio is silent (closed form of the k-step transition, one draw).
       */
      public void idle(long steps, Random random) {
        if (steps <= 0) {
          return;
        }
        double p = model.goodToBad;
        double r = model.badToGood;
        double stationaryBad = p == 0 ? 0 : p / (p + r);
        double memory = Math.pow(1 - p - r, steps);
        double pBad =
            bad ? stationaryBad + (1 - stationaryBad) * memory : stationaryBad * (1 - memory);
        bad = random.nextDouble() < pBad;
      }

      /** Steps to the next segment's state and says whether that segment is lost. */
      public boolean lost(Random random) {
        bad = bad ? random.nextDouble() >= model.badToGood : random.nextDouble() < model.goodToBad;
        double h = bad ? model.lossInBad : model.lossInGood;
        return h > 0 && (h >= 1 || random.nextDouble() < h);
      }
    }
  }

  /**
   * One outage, {@code atMs} after the link starts.
   *
   * @param forMs how long a fade or the time without network lasts (0 for a NAT death)
   */
  public record Outage(Kind kind, long atMs, long forMs) {
    public enum Kind {
      FADE,
      NETWORK_CHANGE,
      NAT_DEATH
    }

    public Outage {
      if (atMs < 0 || forMs < 0) {
        throw new IllegalArgumentException("outages start and last for 0 ms or more");
      }
    }
  }

  /**
   * When the outages of a run happen, fixed in advance so that two links can share them: the push
   * phone and the pull phone of a paired run lose their network at the same offsets from their
   * start. Each kind is a Poisson process at the profile's rate, drawn from its own stream of the
   * seed, so changing one rate does not move the other kinds.
   */
  public record Schedule(long lengthMs, List<Outage> outages) {

    public Schedule {
      outages =
          outages.stream().sorted(Comparator.comparingLong(Outage::atMs)).toList(); // stable sort
    }

    /** No outage at all. */
    public static Schedule none() {
      return new Schedule(0, List.of());
    }

    /** Exactly these outages (for tests and reproductions). */
    public static Schedule of(Outage... outages) {
      long end = 0;
      for (Outage o : outages) {
        end = Math.max(end, o.atMs() + o.forMs());
      }
      return new Schedule(end, List.of(outages));
    }

    /** The outages of a run of this length on this profile, a function of the seed. */
    public static Schedule generate(Profile profile, long seed, Duration length) {
      long lengthMs = length.toMillis();
      List<Outage> outages = new ArrayList<>();
      arrivals(
          outages, Outage.Kind.FADE, profile.fadesPerHour(), profile.meanFadeMs(), lengthMs, seed);
      arrivals(
          outages,
          Outage.Kind.NETWORK_CHANGE,
          profile.networkChangesPerHour(),
          profile.networkDownMs(),
          lengthMs,
          seed);
      arrivals(outages, Outage.Kind.NAT_DEATH, profile.natDeathsPerHour(), 0, lengthMs, seed);
      return new Schedule(lengthMs, outages);
    }

    private static void arrivals(
        List<Outage> into,
        Outage.Kind kind,
        double perHour,
        long meanMs,
        long lengthMs,
        long seed) {
      if (perHour <= 0) {
        return;
      }
      Random random = new Random(mix(seed, kind.ordinal() + 1));
      double meanGapMs = 3_600_000 / perHour;
      double t = 0;
      while (true) {
        t += -Math.log(1 - random.nextDouble()) * meanGapMs;
        if (t >= lengthMs) {
          return;
        }
        long forMs = meanMs / 2 + (long) (random.nextDouble() * meanMs);
        into.add(new Outage(kind, (long) t, forMs));
      }
    }

    /** SplitMix64's finaliser: unrelated streams from one seed (nearby seeds of Random are not). */
    private static long mix(long seed, long salt) {
      long z = seed + salt * 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }

    public long count(Outage.Kind kind) {
      return outages.stream().filter(o -> o.kind() == kind).count();
    }

    public String describe() {
      return String.format(
          Locale.ROOT,
          "%d fades, %d network changes, %d NAT deaths in %.0f min",
          count(Outage.Kind.FADE),
          count(Outage.Kind.NETWORK_CHANGE),
          count(Outage.Kind.NAT_DEATH),
          lengthMs / 60_000.0);
    }
  }

  /**
   * What the link does with a segment offered now.
   *
   * @param at for {@code DELIVER}, when the segment reaches the other end; for {@code RETRY}, when
   *     to offer it again
   * @param cause for a {@code RETRY} after a loss or an overflow, and for a {@code DELIVER} that a
   *     fade or a wake-up held, why; otherwise null (a {@code RETRY} without a cause waits for the
   *     handshake or for the congestion window)
   */
  public record Verdict(Kind kind, long at, Stall cause) {
    public enum Kind {
      DELIVER,
      RETRY,
      /** Swallowed: the connection is blackholed. */
      BLACKHOLE,
      /** The connection was reset: stop. */
      RESET
    }
  }

  /**
   * What becomes of a connect.
   *
   * @param id the connection, for {@code OPEN}
   * @param at for {@code OPEN}, when data may first flow; otherwise, when the phone hears of the
   *     failure
   * @param synLosses how many SYNs (or SYN-ACKs) were lost
   */
  public record Connect(int id, Kind kind, long at, int synLosses) {
    public enum Kind {
      OPEN,
      /** No network: refused at once. */
      REFUSED,
      /** Every SYN lost. */
      TIMED_OUT
    }
  }

  /** What an outage does to the sockets; {@link Model#advance()} hands them out. */
  public record Effect(Kind kind, int conn) {
    public enum Kind {
      /** Reset both ends of the connection. */
      RESET,
      /** Reset the phone's end only: a blackholed connection whose phone lost its network. */
      RESET_PHONE_SIDE,
      /** Relay nothing more either way, and no reset. */
      BLACKHOLE,
      /** A new network is up: tell the phone ({@code conn} is -1). */
      NETWORK_BACK
    }
  }

  /**
   * The deterministic core: the link of one phone as a function of the injected clock, the random
   * source and the calls made, with no thread and no socket. Times are nanoseconds on the injected
   * clock; the schedule's offsets count from the clock's value at construction. Thread-safe (every
   * method holds the model's lock, and none blocks).
   *
   * <p>Outages take effect when the clock has passed them and a method is called: {@link
   * #advance()} returns what they did to the sockets, which the socket layer calls at {@link
   * #nextEventAt()}.
   */
  public static final class Model {
    private final Profile profile;
    private final Random random;
    private final LongSupplier nanos;
    private final long[] fadeStart;
    private final long[] fadeEnd;
    private final List<Point> points = new ArrayList<>();
    private int nextPoint;
    private final List<Effect> pending = new ArrayList<>();
    private final Bottleneck[] ways;
    private final Map<Integer, Conn> conns = new LinkedHashMap<>();
    private int nextId;

    /** When the radio last had something on the air, either way. */
    private long idleSince;

    /** Until then the radio is waking up. */
    private long readyAt = Long.MIN_VALUE;

    private long downUntil = Long.MIN_VALUE;

    /** The last fade {@link #serialise} went through, or -1. */
    private int fadeHit;

    private final long[] bytes = new long[2];
    private final long[] stalls = new long[Stall.values().length];
    private long connections;
    private long refused;
    private long timedOut;
    private long resets;
    private long blackholes;
    private long jitterSpikes;

    public Model(Profile profile, Schedule schedule, Random random, LongSupplier nanos) {
      this.profile = profile;
      this.random = random;
      this.nanos = nanos;
      long origin = nanos.getAsLong();
      List<Outage> fades =
          schedule.outages().stream().filter(o -> o.kind() == Outage.Kind.FADE).toList();
      fadeStart = new long[fades.size()];
      fadeEnd = new long[fades.size()];
      for (int i = 0; i < fades.size(); i++) {
        fadeStart[i] = origin + ms(fades.get(i).atMs());
        fadeEnd[i] = fadeStart[i] + ms(fades.get(i).forMs());
      }
      for (Outage o : schedule.outages()) {
        long at = origin + ms(o.atMs());
        if (o.kind() == Outage.Kind.NETWORK_CHANGE) {
          points.add(new Point(at, Point.Kind.DOWN, at + ms(o.forMs())));
          points.add(new Point(at + ms(o.forMs()), Point.Kind.BACK, 0));
        } else if (o.kind() == Outage.Kind.NAT_DEATH) {
          points.add(new Point(at, Point.Kind.NAT, 0));
        }
      }
      points.sort(Comparator.comparingLong(Point::at));
      GilbertElliott loss = profile.loss();
      ways =
          new Bottleneck[] {
            new Bottleneck(profile.upKbps(), profile.upDelayMs(), profile.bufferMs(), loss),
            new Bottleneck(profile.downKbps(), profile.downDelayMs(), profile.bufferMs(), loss)
          };
      for (Bottleneck b : ways) {
        b.chainAt = origin;
      }
      idleSince = origin - ms(profile.idleBeforeSleepMs());
    }

    /**
     * A connect arrives now: the SYN exchange, with its losses, fades, wake-up and queueing behind
     * the phone's other traffic.
     */
    public synchronized Connect open() {
      long now = now();
      connections++;
      if (now < downUntil) {
        refused++;
        return new Connect(-1, Connect.Kind.REFUSED, now, 0);
      }
      Bottleneck up = ways[0];
      Bottleneck down = ways[1];
      int losses = 0;
      for (int attempt = 0; attempt <= SYN_RETRIES; attempt++) {
        long sent = now + ((1L << attempt) - 1) * INITIAL_RTO_NANOS;
        if (attempt == 0 && asleep(now)) {
          readyAt = now + ms(profile.wakeUpMs());
          stalls[Stall.WAKE_UP.ordinal()]++;
        }
        long leaves = serialise(Math.max(sent, Math.max(readyAt, up.freeAt)), 0);
        idleSince = Math.max(idleSince, leaves);
        if (up.lost(leaves, random) || down.lost(leaves + up.delay, random)) {
          losses++;
          stalls[Stall.LOSS.ordinal()]++;
          continue;
        }
        long answered = serialise(Math.max(leaves + up.delay, down.freeAt), 0) + down.delay;
        Conn c = new Conn(nextId++, answered);
        conns.put(c.id, c);
        return new Connect(c.id, Connect.Kind.OPEN, answered, losses);
      }
      timedOut++;
      return new Connect(
          -1,
          Connect.Kind.TIMED_OUT,
          now + ((1L << (SYN_RETRIES + 1)) - 1) * INITIAL_RTO_NANOS,
          losses);
    }

    /**
     * A segment of {@code bytes} (1 to {@link #MSS}) enters direction {@code d} of a connection
     * now.
     */
    public synchronized Verdict send(int id, Direction d, int bytes) {
      if (bytes < 1 || bytes > MSS) {
        throw new IllegalArgumentException("a segment is 1 to " + MSS + " bytes, not " + bytes);
      }
      long now = now();
      Conn c = conns.get(id);
      if (c == null) {
        return new Verdict(Verdict.Kind.RESET, now, null);
      }
      if (c.blackholed) {
        return new Verdict(Verdict.Kind.BLACKHOLE, now, null);
      }
      if (now < c.dataAt) {
        return new Verdict(Verdict.Kind.RETRY, c.dataAt, null);
      }
      Bottleneck b = ways[d.ordinal()];
      Flow f = c.flows[d.ordinal()];
      f.acked(now);
      if (f.losses == 0 && f.inFlight > 0 && f.inFlight + bytes > f.cwnd) {
        return new Verdict(Verdict.Kind.RETRY, f.unacked.peekFirst().at(), null);
      }
      long back = ways[1 - d.ordinal()].delay;
      if (b.backlog(now) + bytes > b.bufferBytes) {
        long rtt = Math.max(now, b.freeAt) - now + b.nanosFor(bytes) + b.delay + back;
        return lost(c, f, now, Stall.OVERFLOW, rtt, now);
      }
      Stall cause = null;
      if (asleep(now)) {
        readyAt = now + ms(profile.wakeUpMs());
        stalls[Stall.WAKE_UP.ordinal()]++;
        cause = Stall.WAKE_UP;
      }
      long end = serialise(Math.max(now, Math.max(b.freeAt, readyAt)), b.nanosFor(bytes));
      if (fadeHit >= 0) {
        if (fadeHit != f.lastFade) {
          f.lastFade = fadeHit;
          stalls[Stall.FADE.ordinal()]++;
        }
        cause = cause == null ? Stall.FADE : cause;
      }
      b.enqueue(end, bytes);
      idleSince = Math.max(idleSince, end);
      c.lastActivity = now;
      if (b.lost(end - b.nanosFor(bytes), random)) {
        return lost(c, f, now, Stall.LOSS, end - now + b.delay + back, end);
      }
      long at = end + b.delay;
      if (profile.jitterSpikePercent() > 0
          && random.nextDouble() * 100 < profile.jitterSpikePercent()) {
        int spike = profile.jitterSpikeMs();
        at += ms(spike / 2 + random.nextInt(spike - spike / 2 + 1));
        jitterSpikes++;
      }
      at = Math.max(at, f.lastDeliverAt);
      f.delivered(at, at + back + random.nextInt(ACK_SLOT_MICROS) * 1000L, bytes);
      this.bytes[d.ordinal()] += bytes;
      return new Verdict(Verdict.Kind.DELIVER, at, cause);
    }

    /**
     * When a FIN sent now in direction {@code d} arrives: after the connection's data. -1 when it
     * never will (blackholed or reset).
     */
    public synchronized long finAt(int id, Direction d) {
      long now = now();
      Conn c = conns.get(id);
      if (c == null || c.blackholed) {
        return -1;
      }
      return Math.max(
          Math.max(now, c.dataAt) + ways[d.ordinal()].delay, c.flows[d.ordinal()].lastDeliverAt);
    }

    /** Whether the connection is open and not blackholed. */
    public synchronized boolean alive(int id) {
      now();
      Conn c = conns.get(id);
      return c != null && !c.blackholed;
    }

    public synchronized boolean blackholed(int id) {
      now();
      Conn c = conns.get(id);
      return c != null && c.blackholed;
    }

    /** Both ends are done with the connection: forget it. */
    public synchronized void close(int id) {
      conns.remove(id);
    }

    /** When {@link #advance()} next has something to do: now, later, or never (MAX_VALUE). */
    public synchronized long nextEventAt() {
      if (!pending.isEmpty()) {
        return nanos.getAsLong();
      }
      return nextPoint < points.size() ? points.get(nextPoint).at() : Long.MAX_VALUE;
    }

    /** Applies the outages due by now and returns what the sockets must do about them. */
    public synchronized List<Effect> advance() {
      now();
      List<Effect> out = List.copyOf(pending);
      pending.clear();
      return out;
    }

    public synchronized long bytes(Direction d) {
      return bytes[d.ordinal()];
    }

    /** Connects attempted, refused and timed out included. */
    public synchronized long connections() {
      return connections;
    }

    public synchronized long refused() {
      return refused;
    }

    public synchronized long timedOut() {
      return timedOut;
    }

    /** Connections reset by network changes. */
    public synchronized long resets() {
      return resets;
    }

    public synchronized long blackholes() {
      return blackholes;
    }

    public synchronized long stalls(Stall cause) {
      return stalls[cause.ordinal()];
    }

    public synchronized long jitterSpikes() {
      return jitterSpikes;
    }

    /** The clock, after applying the outages it has passed. */
    private long now() {
      long now = nanos.getAsLong();
      while (nextPoint < points.size() && points.get(nextPoint).at() <= now) {
        apply(points.get(nextPoint++));
      }
      return now;
    }

    private void apply(Point p) {
      switch (p.kind()) {
        case DOWN -> {
          downUntil = Math.max(downUntil, p.until());
          for (Iterator<Conn> it = conns.values().iterator(); it.hasNext(); ) {
            Conn c = it.next();
            if (!c.blackholed) {
              it.remove();
              resets++;
              pending.add(new Effect(Effect.Kind.RESET, c.id));
            } else if (!c.phoneReset) {
              c.phoneReset = true;
              pending.add(new Effect(Effect.Kind.RESET_PHONE_SIDE, c.id));
            }
          }
          for (Bottleneck b : ways) {
            b.flush(p.at());
          }
        }
        case BACK -> {
          if (p.at() >= downUntil) {
            idleSince = p.at() - ms(profile.idleBeforeSleepMs());
            readyAt = Long.MIN_VALUE;
            pending.add(new Effect(Effect.Kind.NETWORK_BACK, -1));
          }
        }
        case NAT -> {
          Conn idlest = null;
          for (Conn c : conns.values()) {
            if (!c.blackholed
                && c.dataAt <= p.at()
                && (idlest == null || c.lastActivity < idlest.lastActivity)) {
              idlest = c;
            }
          }
          if (idlest != null) {
            idlest.blackholed = true;
            blackholes++;
            pending.add(new Effect(Effect.Kind.BLACKHOLE, idlest.id));
          }
        }
      }
    }

    private boolean asleep(long now) {
      return profile.wakeUpMs() > 0
          && now >= readyAt
          && now - idleSince >= ms(profile.idleBeforeSleepMs());
    }

    /**
     * When a transmission of {@code duration} that may start at {@code start} ends, the radio
     * sending nothing during fades (a zero-length one, a SYN, just waits out a fade).
     */
    private long serialise(long start, long duration) {
      fadeHit = -1;
      long t = start;
      long left = duration;
      for (int i = 0; i < fadeStart.length; i++) {
        if (fadeEnd[i] <= t) {
          continue;
        }
        if (fadeStart[i] >= t + left) {
          break;
        }
        left -= Math.max(0, fadeStart[i] - t);
        t = fadeEnd[i];
        fadeHit = i;
      }
      return t + left;
    }

    /**
     * A segment sent now is lost: its sender retransmits after its RTO, and not before the segment
     * was even on the air ({@code notBefore}).
     *
     * @param rtt the segment's round trip had it got through, queueing included
     */
    private Verdict lost(Conn c, Flow f, long now, Stall cause, long rtt, long notBefore) {
      long base = f.established ? Math.max(INITIAL_RTO_NANOS, rtt * 3 / 2) : INITIAL_RTO_NANOS;
      long rto = Math.min(MAX_RTO_NANOS, base << Math.min(f.losses, 20));
      f.losses++;
      f.ssthresh = Math.max(f.inFlight / 2, 2L * MSS);
      f.cwnd = MSS;
      stalls[cause.ordinal()]++;
      c.lastActivity = now;
      return new Verdict(Verdict.Kind.RETRY, Math.max(now + rto, notBefore), cause);
    }

    private static long ms(long ms) {
      return TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private record Point(long at, Kind kind, long until) {
      enum Kind {
        DOWN,
        BACK,
        NAT
      }
    }

    private record Queued(long end, int bytes) {}

    private record Unacked(long at, int bytes) {}

    /** One direction's radio: a FIFO at the link rate with a drop-tail buffer, then the delay. */
    private static final class Bottleneck {
      final long bitsPerSec;
      final long delay;
      final long bufferBytes;
      final GilbertElliott.Chain chain;
      final ArrayDeque<Queued> queue = new ArrayDeque<>();
      long backlog;
      long freeAt = Long.MIN_VALUE;

      /** Air time the loss chain has accounted for. */
      long chainAt;

      Bottleneck(int kbps, int delayMs, int bufferMs, GilbertElliott loss) {
        this.bitsPerSec = kbps * 1000L;
        this.delay = ms(delayMs);
        this.bufferBytes = (long) kbps * bufferMs / 8;
        this.chain = loss.chain();
      }

      long nanosFor(int bytes) {
        return bytes * 8_000_000_000L / bitsPerSec;
      }

      /**
       * Whether a segment going on the air at {@code t} is lost. The chain steps once per segment
       * and once per segment's worth of silence before it: fading happens in time, so a
       * retransmission after an RTO is not the next draw of the burst that lost the original.
       */
      boolean lost(long t, Random random) {
        chain.idle((t - chainAt) / nanosFor(MSS), random);
        chainAt = Math.max(chainAt, t + nanosFor(MSS));
        return chain.lost(random);
      }

      /** Bytes queued or on the air at {@code now}. */
      long backlog(long now) {
        while (!queue.isEmpty() && queue.peekFirst().end() <= now) {
          backlog -= queue.pollFirst().bytes();
        }
        return backlog;
      }

      void enqueue(long end, int bytes) {
        queue.add(new Queued(end, bytes));
        backlog += bytes;
        freeAt = end;
      }

      void flush(long now) {
        queue.clear();
        backlog = 0;
        freeAt = now;
      }
    }

    private static final class Conn {
      final int id;
      final long dataAt;
      final Flow[] flows = {new Flow(), new Flow()};
      long lastActivity;
      boolean blackholed;
      boolean phoneReset;

      Conn(int id, long dataAt) {
        this.id = id;
        this.dataAt = dataAt;
        this.lastActivity = dataAt;
      }
    }

    /** One direction of one connection: a TCP sender, as far as the link needs. */
    private static final class Flow {
      final ArrayDeque<Unacked> unacked = new ArrayDeque<>();
      long inFlight;
      long cwnd = INITIAL_WINDOW;
      long ssthresh = MAX_WINDOW;
      long lastDeliverAt = Long.MIN_VALUE;

      /** Consecutive losses: the RTO's exponent. */
      int losses;

      /** An ACK came back: past the first flight, the sender has an RTT sample. */
      boolean established;

      int lastFade = -1;

      void acked(long now) {
        while (!unacked.isEmpty() && unacked.peekFirst().at() <= now) {
          long n = unacked.pollFirst().bytes();
          inFlight -= n;
          established = true;
          cwnd += cwnd < ssthresh ? n : Math.max(1, MSS * n / cwnd);
          cwnd = Math.min(cwnd, MAX_WINDOW);
        }
      }

      void delivered(long at, long ackAt, int bytes) {
        unacked.add(new Unacked(ackAt, bytes));
        inFlight += bytes;
        lastDeliverAt = at;
        losses = 0;
      }
    }
  }

  // The socket layer: per connection, one thread reading each side and offering its bytes to the
  // model segment by segment (sleeping out RETRYs, which holds the sender back), and one thread
  // writing each side when the model says the segment arrives.

  private final String name;
  private final List<Integer> targetPorts;
  private final Profile profile;
  private final Schedule schedule;
  private final Model model;
  private final List<ServerSocket> servers = new ArrayList<>();
  private final Map<Integer, Pair> pairs = new ConcurrentHashMap<>();
  private final List<Runnable> networkListeners = new CopyOnWriteArrayList<>();
  private final Thread outages;
  private volatile boolean closed;

  /** A link with the outages of a run of {@code runLength}, drawn from {@code seed}. */
  public MobileLink(String name, int targetPort, Profile profile, long seed, Duration runLength)
      throws IOException {
    this(name, targetPort, profile, seed, Schedule.generate(profile, seed, runLength));
  }

  /**
   * A link with these outages, counted from now; give two links the same seed and schedule to pair
   * their runs.
   */
  public MobileLink(String name, int targetPort, Profile profile, long seed, Schedule schedule)
      throws IOException {
    this(name, List.of(targetPort), profile, seed, schedule);
  }

  /**
   * A link to several target ports, one radio for all: what a phone that opens connections to
   * several servers has. Each target has its own {@link #port(int)}.
   */
  public MobileLink(
      String name, List<Integer> targetPorts, Profile profile, long seed, Schedule schedule)
      throws IOException {
    this.name = name;
    this.targetPorts = List.copyOf(targetPorts);
    this.profile = profile;
    this.schedule = schedule;
    this.model = new Model(profile, schedule, new Random(seed), System::nanoTime);
    try {
      for (int target : this.targetPorts) {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(server);
        daemon("accept", () -> acceptLoop(server, target)).start();
      }
    } catch (IOException e) {
      closed = true;
      servers.forEach(MobileLink::quietly);
      throw e;
    }
    outages = daemon("outages", this::outageLoop);
    outages.start();
  }

  /** The port the phone connects to instead of the (first) target's. */
  public int port() {
    return servers.get(0).getLocalPort();
  }

  /** The port the phone connects to instead of {@code targetPort}. */
  public int port(int targetPort) {
    int i = targetPorts.indexOf(targetPort);
    if (i < 0) {
      throw new IllegalArgumentException("the link does not relay to port " + targetPort);
    }
    return servers.get(i).getLocalPort();
  }

  public Profile profile() {
    return profile;
  }

  public Schedule schedule() {
    return schedule;
  }

  /**
   * Runs {@code listener} each time a new network is up after a network change, as a phone's OS
   * announces it. It runs on the link's outage thread: keep it short.
   */
  public void onNetworkChange(Runnable listener) {
    networkListeners.add(listener);
  }

  /** Bytes the phone sent that crossed the link (retransmissions counted once). */
  public long bytesUp() {
    return model.bytes(Direction.UP);
  }

  /** Bytes the phone received over the link. */
  public long bytesDown() {
    return model.bytes(Direction.DOWN);
  }

  /** Connects the phone attempted. */
  public long connections() {
    return model.connections();
  }

  /** Connects refused for want of a network. */
  public long refused() {
    return model.refused();
  }

  /** Connects whose every SYN was lost. */
  public long timedOut() {
    return model.timedOut();
  }

  /** Connections reset by network changes. */
  public long resets() {
    return model.resets();
  }

  /** Connections blackholed by NAT deaths. */
  public long blackholes() {
    return model.blackholes();
  }

  public long stalls(Stall cause) {
    return model.stalls(cause);
  }

  public long jitterSpikes() {
    return model.jitterSpikes();
  }

  private Thread daemon(String role, Runnable body) {
    Thread t = new Thread(body, "mobile-" + name + "-" + role);
    t.setDaemon(true);
    return t;
  }

  private void acceptLoop(ServerSocket server, int targetPort) {
    while (!closed) {
      try {
        Socket phone = server.accept();
        daemon("connect", () -> connect(phone, targetPort)).start();
      } catch (IOException e) {
        if (!closed) {
          sleepQuietly(10);
        }
      }
    }
  }

  private void outageLoop() {
    try {
      while (!closed) {
        long next = model.nextEventAt();
        if (next == Long.MAX_VALUE) {
          return;
        }
        sleepUntil(next);
        for (Effect e : model.advance()) {
          apply(e);
        }
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  private void apply(Effect e) {
    Pair p = pairs.get(e.conn());
    switch (e.kind()) {
      case RESET -> {
        if (p != null) {
          p.finish(true);
        }
      }
      case RESET_PHONE_SIDE -> {
        if (p != null) {
          abort(p.phone);
        }
      }
      case NETWORK_BACK -> {
        for (Runnable listener : networkListeners) {
          try {
            listener.run();
          } catch (RuntimeException ex) {
            // the phone's problem; the link goes on
          }
        }
      }
      case BLACKHOLE -> {
        // Nothing to do here: the relays ask the model before every segment.
      }
    }
  }

  private void connect(Socket phone, int targetPort) {
    Connect c = model.open();
    Pair p = null;
    try {
      if (c.kind() != Connect.Kind.OPEN) {
        sleepUntil(c.at());
        abort(phone);
        return;
      }
      p = new Pair(c.id(), phone);
      pairs.put(p.id, p);
      p.threads.add(Thread.currentThread());
      sleepUntil(c.at());
      Socket s = new Socket();
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
      if (!p.attach(s) || !model.alive(p.id)) {
        p.finish(true);
        return;
      }
      phone.setTcpNoDelay(true);
      s.setTcpNoDelay(true);
      LinkedBlockingQueue<Chunk> toServer = new LinkedBlockingQueue<>();
      LinkedBlockingQueue<Chunk> toPhone = new LinkedBlockingQueue<>();
      Pair pair = p;
      p.start("up-write", () -> write(pair, s, toServer));
      p.start("down-write", () -> write(pair, phone, toPhone));
      p.start("down-read", () -> read(pair, Direction.DOWN, s, toPhone));
      read(p, Direction.UP, phone, toServer);
    } catch (IOException e) {
      if (p != null) {
        p.finish(true);
      } else {
        abort(phone);
      }
    } catch (InterruptedException e) {
      // reset or closed
    }
  }

  /** A segment to write when it arrives; no bytes: the FIN. */
  private record Chunk(byte[] bytes, long at) {}

  private void read(Pair p, Direction d, Socket from, LinkedBlockingQueue<Chunk> to) {
    byte[] buf = new byte[MSS];
    try {
      InputStream in = from.getInputStream();
      while (true) {
        int n = in.read(buf);
        if (n < 0) {
          long at = model.finAt(p.id, d);
          if (at < 0) {
            p.sideGone(d);
          } else {
            to.add(new Chunk(null, at));
          }
          return;
        }
        byte[] segment = Arrays.copyOf(buf, n);
        if (!relay(p, d, segment, to)) {
          return;
        }
      }
    } catch (IOException e) {
      if (model.blackholed(p.id)) {
        p.sideGone(d);
      } else {
        p.finish(true);
      }
    } catch (InterruptedException e) {
      // reset or closed
    }
  }

  /** Offers a segment until the link takes (or swallows) it; false once the connection is reset. */
  private boolean relay(Pair p, Direction d, byte[] segment, LinkedBlockingQueue<Chunk> to)
      throws InterruptedException {
    while (true) {
      Verdict v = model.send(p.id, d, segment.length);
      if (v.kind() == Verdict.Kind.DELIVER) {
        to.add(new Chunk(segment, v.at()));
        return true;
      } else if (v.kind() == Verdict.Kind.BLACKHOLE) {
        return true;
      } else if (v.kind() == Verdict.Kind.RESET) {
        p.finish(true);
        return false;
      }
      sleepUntil(v.at());
    }
  }

  private void write(Pair p, Socket to, LinkedBlockingQueue<Chunk> from) {
    try {
      OutputStream out = to.getOutputStream();
      while (true) {
        Chunk c = from.take();
        sleepUntil(c.at());
        if (model.blackholed(p.id)) {
          continue;
        }
        if (c.bytes() == null) {
          to.shutdownOutput();
          p.finDelivered();
          return;
        }
        out.write(c.bytes());
      }
    } catch (IOException e) {
      if (!model.blackholed(p.id)) {
        p.finish(true);
      }
    } catch (InterruptedException e) {
      // reset or closed
    }
  }

  /** The two sockets of one connection and the threads relaying between them. */
  private final class Pair {
    final int id;
    final Socket phone;
    final List<Thread> threads = new CopyOnWriteArrayList<>();
    private Socket server;
    private final boolean[] gone = new boolean[2];
    private int fins;
    private boolean done;

    Pair(int id, Socket phone) {
      this.id = id;
      this.phone = phone;
    }

    synchronized boolean attach(Socket s) {
      if (done) {
        abort(s);
        return false;
      }
      server = s;
      return true;
    }

    void start(String role, Runnable body) {
      Thread t = daemon(role, body);
      threads.add(t);
      t.start();
    }

    /** Both FINs arrived: close normally. */
    synchronized void finDelivered() {
      if (++fins == 2) {
        finish(false);
      }
    }

    /** A blackholed connection's side closed; nobody is told, and once both have, forget it. */
    synchronized void sideGone(Direction d) {
      gone[d.ordinal()] = true;
      if (gone[0] && gone[1]) {
        finish(false);
      }
    }

    /** Closes both ends, with a reset if {@code abortive}, and stops the relays. */
    synchronized void finish(boolean abortive) {
      if (done) {
        return;
      }
      done = true;
      for (Socket s : new Socket[] {phone, server}) {
        if (s != null) {
          if (abortive) {
            abort(s);
          } else {
            quietly(s);
          }
        }
      }
      for (Thread t : threads) {
        if (t != Thread.currentThread()) {
          t.interrupt();
        }
      }
      pairs.remove(id);
      model.close(id);
    }
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long wait = nanos - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Closes with a reset (RST), as a peer that lost its network would. */
  private static void abort(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException e) {
      // already gone
    }
    quietly(s);
  }

  private static void quietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // nothing to do
    }
  }

  @Override
  public void close() {
    closed = true;
    servers.forEach(MobileLink::quietly);
    outages.interrupt();
    for (Pair p : pairs.values()) {
      p.finish(true);
    }
  }
}
