package io.iris.sdk.internals;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.protocol.thrift.Ack;
import io.iris.protocol.thrift.CatchUpTier;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.DeviceRequest;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.sdk.IrisDevice.Position;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;

/**
 * The device's gap rule, checked against a model server over random runs (no network): a delta is
 * applied when {@code prevPos <= lastPos}, dropped when {@code pos <= lastPos}, and otherwise held
 * while {@code (lastPos, prevPos]} is asked for; a batch's {@code throughPos} moves the watermark
 * only where the batch joins what the device holds; another epoch means a new snapshot.
 *
 * <p>The model holds the user's committed deltas at increasing, non-contiguous positions of one log
 * per epoch (other users' records take the offsets between). A bridge pushes what it reads from its
 * read position, each delta's {@code prevPos} the user's previous delta it read (or its start
 * position - 1 after a restart at a random offset, before or after where it was). Catch-up answers
 * come in pages ({@code more}, {@code throughPos} up to the log's end, chain starting at the
 * request's {@code afterPos}), sometimes empty (a tier behind), sometimes offering a snapshot
 * instead. Frames are delivered in any order, some twice; a connection drop loses what is in flight
 * (or keeps what was pushed, delivered late); the log is sometimes replaced (a new epoch whose
 * positions start again at 0).
 *
 * <p>After every step: the app holds exactly the committed deltas after its snapshot up to the
 * position the device reports, once each, in order, and an ack never claims more. At quiescence
 * (connected, one more delta committed and pushed, everything delivered): the device is in the
 * server's epoch, and has applied every committed delta after its snapshot, once each, in position
 * order, with lastPos at or beyond the last one.
 */
class GapRulePropertyTest {
  private static final long USER = 7;
  private static final long THREAD = 100;
  private static final long MS = 1_000_000L;
  private static final int PAGE = 3;

  // --- actions -----------------------------------------------------------------------------

  sealed interface Action {}

  /** The user's next delta, {@code skip} other records after the log's end. */
  record Commit(int skip) implements Action {}

  /** Other users' records (or transaction markers): offsets without a delta of this user. */
  record Others(int count) implements Action {}

  /** The bridge reads up to {@code records} offsets and pushes the user's deltas among them. */
  record BridgeRead(int records) implements Action {}

  /** The bridge restarts reading at an offset anywhere in [0, end]. */
  record BridgeRestart(int at) implements Action {}

  /**
   * A frame in flight to the device arrives (any of them); {@code twice}: it arrives again later.
   */
  record DeliverDown(int which, boolean twice) implements Action {}

  /** A request in flight to the server arrives (any of them), answered per {@code variant}. */
  record DeliverUp(int which, int variant) implements Action {}

  /** The connection drops; {@code lossy}: the frames in flight to the device are lost too. */
  record Disconnect(boolean lossy) implements Action {}

  record Connect() implements Action {}

  record Elapse(int millis) implements Action {}

  /** iris.log is replaced: a new epoch, positions from 0 again. */
  record NewEpoch() implements Action {}

  /** The app asks for a snapshot of its own. */
  record AppSnapshot() implements Action {}

  @Provide
  Arbitrary<List<Action>> actions() {
    Arbitrary<Action> action =
        Arbitraries.frequencyOf(
            Tuple.of(10, Arbitraries.integers().between(0, 4).map(Commit::new)),
            Tuple.of(2, Arbitraries.integers().between(1, 5).map(Others::new)),
            Tuple.of(8, Arbitraries.integers().between(1, 12).map(BridgeRead::new)),
            Tuple.of(4, Arbitraries.integers().between(0, 1000).map(BridgeRestart::new)),
            Tuple.of(
                20,
                Combinators.combine(
                        Arbitraries.integers().between(0, 20),
                        Arbitraries.integers().between(0, 4).map(i -> i == 0))
                    .as(DeliverDown::new)),
            Tuple.of(
                12,
                Combinators.combine(
                        Arbitraries.integers().between(0, 20),
                        Arbitraries.integers().between(0, 1000))
                    .as(DeliverUp::new)),
            Tuple.of(2, Arbitraries.of(true, false).map(Disconnect::new)),
            Tuple.of(4, Arbitraries.just(new Connect())),
            Tuple.of(4, Arbitraries.of(100, 600, 1_100, 11_000).map(Elapse::new)),
            Tuple.of(1, Arbitraries.just(new NewEpoch())),
            Tuple.of(1, Arbitraries.just(new AppSnapshot())));
    return action.list().ofMinSize(1).ofMaxSize(120);
  }

  /**
   * @param start -2: a new device (snapshot first); -1: a device of the first epoch holding none of
   *     its deltas; k: one holding the first epoch's deltas up to its k-th
   * @param takeSnapshot what the app answers to a resnapshot offer
   */
  @Property
  @StatisticsReport(StatisticsReport.StatisticsReportMode.OFF)
  void shouldApplyEveryCommittedDeltaOnceInOrder(
      @ForAll @IntRange(min = 0, max = 6) int initialDeltas,
      @ForAll @IntRange(min = -2, max = 6) int start,
      @ForAll boolean takeSnapshot,
      @ForAll("actions") List<Action> actions) {
    Sim sim = new Sim(initialDeltas, start, takeSnapshot);
    for (Action a : actions) {
      sim.run(a);
      sim.checkInvariant();
    }
    sim.quiesce();
    sim.checkQuiescent();
    // What the runs went through, checked below so that the property keeps testing something.
    Statistics.label("gap repaired").collect(sim.machine.gapsRepaired() > 0);
    Statistics.label("epoch replaced").collect(sim.epochs.size() > 1);
    Statistics.label("duplicate dropped").collect(sim.machine.duplicatesDropped() > 0);
    Statistics.label("snapshot offered").collect(sim.offers > 0);
    Statistics.label("empty page").collect(sim.emptyPages > 0);
    // Thresholds about a third of what 1000 tries see, so that they hold for any seed.
    Statistics.label("gap repaired").coverage(c -> c.check(true).percentage(p -> p >= 4));
    Statistics.label("epoch replaced").coverage(c -> c.check(true).percentage(p -> p >= 7));
    Statistics.label("duplicate dropped").coverage(c -> c.check(true).percentage(p -> p >= 25));
    Statistics.label("snapshot offered").coverage(c -> c.check(true).percentage(p -> p >= 1));
    Statistics.label("empty page").coverage(c -> c.check(true).percentage(p -> p >= 2));
  }

  // --- the model ---------------------------------------------------------------------------

  /** One run: the server, the bridge, the network in between, the device and its app. */
  static final class Sim implements SyncStateMachine.Host {
    // Server: one log per epoch (the user's deltas by position), the current epoch's end offset.
    final List<String> epochs = new ArrayList<>();
    final Map<String, TreeMap<Long, Delta>> logs = new HashMap<>();
    String epoch;
    long end;

    // Bridge: the next offset it reads, and the user's last delta it read (or its start - 1).
    long readPos;
    long prevRead;

    // Network.
    final List<ServerFrame> down = new ArrayList<>();
    final List<DeviceRequest> up = new ArrayList<>();
    boolean connected;

    // Device and app.
    final SyncStateMachine machine;
    final boolean takeSnapshot;
    String appEpoch;
    long appSnapshotPos;
    final List<Delta> appDeltas = new ArrayList<>();

    // What happened, for the statistics.
    int offers;
    int emptyPages;

    // Time.
    long now = 1_000_000 * MS;
    final List<Long> timers = new ArrayList<>();
    int requestIds;

    Sim(int initialDeltas, int start, boolean takeSnapshot) {
      this.takeSnapshot = takeSnapshot;
      newEpoch();
      for (int i = 0; i < initialDeltas; i++) {
        commit(i % 3 + 1);
      }
      readPos = end; // the bridge is live from here
      prevRead = end - 1;
      String startEpoch = null;
      long startPos = -1;
      if (start >= -1) {
        startEpoch = epoch;
        List<Long> positions = new ArrayList<>(log().keySet());
        startPos =
            start < 0 || positions.isEmpty()
                ? -1
                : positions.get(Math.min(start, positions.size() - 1));
      }
      appEpoch = startEpoch;
      appSnapshotPos = startPos;
      SyncStateMachine.Settings settings =
          new SyncStateMachine.Settings(
              Duration.ofSeconds(5),
              Duration.ofSeconds(60),
              Duration.ofMinutes(2),
              4,
              Duration.ofMillis(200),
              PAGE,
              true);
      machine =
          new SyncStateMachine(
              "7/phone", settings, startEpoch, startPos, this, () -> "r" + ++requestIds);
    }

    TreeMap<Long, Delta> log() {
      return logs.get(epoch);
    }

    void newEpoch() {
      epoch = String.format("EPOCH-%018d", epochs.size()); // stands for a topic id
      epochs.add(epoch);
      logs.put(epoch, new TreeMap<>());
      end = 0;
      readPos = 0;
      prevRead = -1;
    }

    long commit(int skip) {
      long pos = end + skip;
      log()
          .put(
              pos,
              new Delta(
                  USER,
                  THREAD,
                  0,
                  DeltaBody.newMessage(new NewMessage(pos, 8, epochs.size() + ":" + pos))));
      end = pos + 1;
      return pos;
    }

    void run(Action a) {
      if (a instanceof Commit c) {
        commit(c.skip());
      } else if (a instanceof Others o) {
        end += o.count();
      } else if (a instanceof BridgeRead r) {
        bridgeRead(readPos + r.records());
      } else if (a instanceof BridgeRestart r) {
        readPos = r.at() % (end + 1);
        prevRead = readPos - 1;
      } else if (a instanceof DeliverDown d) {
        if (connected && !down.isEmpty()) {
          int i = d.which() % down.size();
          ServerFrame f = d.twice() ? down.get(i) : down.remove(i);
          machine.onFrame(f.deepCopy(), now);
        }
      } else if (a instanceof DeliverUp d) {
        if (!up.isEmpty()) {
          serve(up.remove(d.which() % up.size()), d.variant());
        }
      } else if (a instanceof Disconnect d) {
        if (connected) {
          connected = false;
          machine.connectionLost();
          up.clear();
          if (d.lossy()) {
            down.clear();
          }
        }
      } else if (a instanceof Connect) {
        if (!connected) {
          connected = true;
          machine.connected(now);
        }
      } else if (a instanceof Elapse e) {
        elapse(e.millis() * MS);
      } else if (a instanceof NewEpoch) {
        newEpoch();
      } else if (a instanceof AppSnapshot) {
        machine.requestSnapshot(5, 5, new CompletableFuture<>());
      }
    }

    /** The bridge reads offsets [readPos, to) of the current log, pushes the user's deltas. */
    void bridgeRead(long to) {
      long until = Math.min(to, end);
      if (until <= readPos) {
        return;
      }
      List<Delta> deltas = new ArrayList<>();
      for (Delta d : log().subMap(readPos, true, until, false).values()) {
        long pos = d.getBody().getNewMessage().getMessageId();
        deltas.add(d.deepCopy().setPos(pos).setPrevPos(prevRead));
        prevRead = pos;
      }
      readPos = until;
      if (!deltas.isEmpty()) {
        toDevice(new ServerFrame(ServerFrameBody.deltas(new DeltaBatch(deltas, epoch, until - 1))));
      }
    }

    void toDevice(ServerFrame f) {
      if (connected) {
        down.add(f);
      }
    }

    /** The server answers a request; {@code variant} picks among the answers it may give. */
    void serve(DeviceRequest r, int variant) {
      String rid = r.getRequestId();
      switch (r.getBody().getSetField()) {
        case SYNC -> toDevice(answerSync(r.getBody().getSync(), variant).setRequestId(rid));
        case SNAPSHOT -> {
          // Built from storage, which may be behind the log: any position up to the end.
          long pos = Math.max(-1, end - 1 - variant % 4 * 3L);
          toDevice(
              new ServerFrame(
                      ServerFrameBody.snapshot(new Snapshot(USER, List.of(), 0, pos, epoch)))
                  .setRequestId(rid));
        }
        case ACK, COMMAND -> {}
      }
    }

    ServerFrame answerSync(SyncRequest s, int variant) {
      if (!s.getEpoch().equals(epoch)) {
        return new ServerFrame(
            ServerFrameBody.error(
                new ServerError(ErrorCode.RESNAPSHOT_REQUIRED, "epoch " + s.getEpoch())));
      }
      long after = s.getAfterPos();
      long limit = s.isSetToPos() && s.getToPos() >= 0 ? Math.min(s.getToPos(), end - 1) : end - 1;
      limit = Math.max(limit, after);
      NavigableMap<Long, Delta> range = log().subMap(after, false, limit, true);
      if (!s.isForce() && range.size() > PAGE && variant % 3 == 0) {
        offers++;
        return new ServerFrame(
            ServerFrameBody.resnapshotRequired(
                new ResnapshotRequired(range.size(), range.size() * 100L, 5_000, after)));
      }
      if (variant % 7 == 1 && !range.isEmpty()) {
        // The tier that answers is behind: nothing yet.
        emptyPages++;
        return batch(List.of(), after, true);
      }
      int page = Math.min(s.getMaxDeltas(), 1 + variant % PAGE);
      List<Delta> deltas = new ArrayList<>();
      long prev = after;
      Iterator<Long> it = range.keySet().iterator();
      while (it.hasNext() && deltas.size() < page) {
        long pos = it.next();
        deltas.add(range.get(pos).deepCopy().setPos(pos).setPrevPos(prev));
        prev = pos;
      }
      if (!it.hasNext()) {
        return batch(deltas, limit, false); // through the end of the range, beyond the last delta
      }
      long next = it.next();
      return batch(deltas, prev + variant % (next - prev), true); // short of the next delta
    }

    ServerFrame batch(List<Delta> deltas, long throughPos, boolean more) {
      return new ServerFrame(
          ServerFrameBody.deltas(
              new DeltaBatch(deltas, epoch, throughPos).setMore(more).setTier(CatchUpTier.LOG)));
    }

    void elapse(long nanos) {
      now += nanos;
      machine.tick(now);
      List<Long> due = timers.stream().filter(t -> t - now <= 0).toList();
      timers.removeAll(due);
      for (int i = 0; i < due.size(); i++) {
        machine.timerFired(now);
      }
    }

    /** Connected, one more delta committed and pushed, everything delivered, every timer fired. */
    void quiesce() {
      run(new Connect());
      commit(1);
      bridgeRead(end);
      int quiet = 0;
      for (int step = 0; step < 10_000 && quiet < 15; step++) {
        if (!up.isEmpty()) {
          serve(up.remove(0), 2); // a full page, no offer, no lag
          quiet = 0;
        } else if (!down.isEmpty()) {
          machine.onFrame(down.remove(0), now);
          quiet = 0;
        } else {
          elapse(1_000 * MS);
          quiet++;
        }
        checkInvariant();
      }
      assertTrue(up.isEmpty() && down.isEmpty(), "quiescent");
    }

    // --- the properties --------------------------------------------------------------------

    /**
     * The app holds exactly the committed deltas of its epoch after its snapshot up to the position
     * the device reports, once each, in position order.
     */
    void checkInvariant() {
      Position p = machine.applied();
      if (p.epoch() == null) {
        assertTrue(appDeltas.isEmpty());
        return;
      }
      assertEquals(appEpoch, p.epoch(), "the app's epoch is the device's");
      List<Long> expected =
          new ArrayList<>(
              logs.get(p.epoch()).subMap(appSnapshotPos, false, p.lastPos(), true).keySet());
      assertEquals(expected, positions(appDeltas), "applied, up to " + p);
      for (Delta d : appDeltas) {
        assertEquals(
            logs.get(p.epoch()).get(d.getPos()).getBody(), d.getBody(), "the committed delta");
      }
    }

    void checkQuiescent() {
      Position p = machine.applied();
      assertEquals(epoch, p.epoch(), "in the server's epoch");
      assertEquals(epoch, machine.epoch());
      assertEquals(epoch, appEpoch);
      assertEquals(
          new ArrayList<>(log().tailMap(appSnapshotPos, false).keySet()),
          positions(appDeltas),
          "every committed delta after the snapshot, once, in order");
      assertTrue(
          p.lastPos() >= log().lastKey(), "lastPos " + p.lastPos() + " < " + log().lastKey());
    }

    static List<Long> positions(List<Delta> deltas) {
      return deltas.stream().map(Delta::getPos).toList();
    }

    // --- the host --------------------------------------------------------------------------

    @Override
    public void publish(DeviceRequest request) {
      if (request.getBody().isSetAck()) {
        Ack a = request.getBody().getAck();
        assertEquals(appEpoch, a.getEpoch(), "an ack of the app's epoch");
        assertNotNull(a.getEpoch());
        List<Long> held =
            new ArrayList<>(
                logs.get(a.getEpoch()).subMap(appSnapshotPos, false, a.getPos(), true).keySet());
        assertTrue(positions(appDeltas).containsAll(held), "an ack claims no more than held");
      }
      if (connected) {
        up.add(request.deepCopy());
      }
    }

    @Override
    public void wakeAfter(long delayNanos) {
      timers.add(now + delayNanos);
    }

    @Override
    public void deltasApplied(List<Delta> deltas) {
      appDeltas.addAll(deltas);
    }

    @Override
    public void snapshotApplied(Snapshot snapshot) {
      appEpoch = snapshot.getEpoch();
      appSnapshotPos = snapshot.getPos();
      appDeltas.clear();
    }

    @Override
    public boolean takeSnapshot(ResnapshotRequired costs) {
      return takeSnapshot;
    }
  }
}
