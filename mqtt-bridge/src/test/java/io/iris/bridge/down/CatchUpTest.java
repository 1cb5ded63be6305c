package io.iris.bridge.down;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bridge.CapturingSender;
import io.iris.bridge.PacedMockConsumer;
import io.iris.protocol.DeviceTopics.DeviceId;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.CatchUpTier;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.LogBookmarks;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.topics.Topics;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CatchUpTest {
  private static final FrameCodec CODEC = FrameCodec.defaults();
  private static final long USER = 42;
  private static final DeviceId PHONE = new DeviceId(USER, "phone");
  private static final TopicPartition P0 = new TopicPartition(Topics.LOG.name(), 0);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final int PAGE = 5;
  private static final long RESNAPSHOT_AFTER = 20;

  /** The storage tier: every user's deltas 1..maxSeq. */
  private static final class Storage implements CatchUp.StoredDeltas {
    final Map<Long, Long> maxSeqs = new java.util.concurrent.ConcurrentHashMap<>();
    final List<String> ranges = new CopyOnWriteArrayList<>();
    volatile SQLException down;

    @Override
    public List<Delta> range(long userId, long afterSeq, long toSeq, int limit)
        throws SQLException {
      if (down != null) {
        throw down;
      }
      ranges.add(userId + ":" + afterSeq + ".." + toSeq + "/" + limit);
      long last = maxSeqs.getOrDefault(userId, 0L);
      if (toSeq > 0) {
        last = Math.min(last, toSeq);
      }
      List<Delta> out = new ArrayList<>();
      for (long s = afterSeq + 1; s <= last && out.size() < limit; s++) {
        out.add(CODEC.decode(delta(userId, s), Delta::new));
      }
      return out;
    }

    @Override
    public long maxSeq(long userId) throws SQLException {
      if (down != null) {
        throw down;
      }
      return maxSeqs.getOrDefault(userId, 0L);
    }
  }

  private final Storage storage = new Storage();
  private final List<String> snapshotsTaken = new CopyOnWriteArrayList<>();
  private volatile CountDownLatch snapshotGate = new CountDownLatch(0);
  private volatile RuntimeException snapshotBroken;
  private final PacedMockConsumer<Long, byte[]> reader = new PacedMockConsumer<>("earliest");
  private final CapturingSender devices = new CapturingSender();
  private final List<CatchUp> opened = new ArrayList<>();

  @AfterEach
  void close() {
    opened.forEach(CatchUp::close);
  }

  private Snapshot snapshot(long user, int threads, int messages) {
    snapshotsTaken.add(user + ":" + threads + "x" + messages);
    try {
      snapshotGate.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (snapshotBroken != null) {
      throw snapshotBroken;
    }
    return new Snapshot(user, 9, List.of(), 1L);
  }

  private CatchUp catchUp(UserLogs logs, CatchUp.StoredDeltas history, int threads, int queue) {
    CatchUp c =
        new CatchUp(
            logs,
            history,
            this::snapshot,
            new CatchUp.Settings(threads, queue, PAGE, RESNAPSHOT_AFTER),
            devices,
            () -> reader);
    opened.add(c);
    return c;
  }

  private CatchUp catchUp(UserLogs logs) {
    return catchUp(logs, storage, 1, 4);
  }

  private static byte[] delta(long user, long seq) {
    return CODEC.encode(
        new Delta(
            user, seq, seq - 1, 7, 1L, DeltaBody.newMessage(new NewMessage(seq, user, "m" + seq))));
  }

  /** Logs with the newest 16 deltas of a user in memory, a bookmark every 4 seqs, 8 kept. */
  private static UserLogs logsWith(long... seqs) {
    UserLogs logs = new UserLogs(16, 100, 4, 8, b -> {});
    for (long s : seqs) {
      logs.append(USER, 0, 1000 + s, s, delta(USER, s));
    }
    return logs;
  }

  private static long[] range(long from, long to) {
    return java.util.stream.LongStream.rangeClosed(from, to).toArray();
  }

  private static List<Long> seqs(ServerFrame f) {
    List<Long> out = new ArrayList<>();
    f.getBody().getDeltas().getDeltas().forEach(d -> out.add(d.getSeq()));
    return out;
  }

  private static CatchUpTier tier(ServerFrame f) {
    return f.getBody().getDeltas().getTier();
  }

  // --- tier 1 ---

  @Test
  void shouldServeFromMemoryWhenItHoldsTheFirstMissingSeq() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 10)));

    ServerFrame f = c.answerSync(USER, new SyncRequest(7));

    assertEquals(List.of(8L, 9L, 10L), seqs(f));
    assertEquals(CatchUpTier.MEMORY, tier(f));
    assertEquals(10, f.getBody().getDeltas().getHeadSeq());
    assertEquals(1, c.count("sync-memory"));
    assertEquals(3, c.count("deltas-memory"));
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldCapAPageAtWhatTheDeviceAsksAndAtTheSetting() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 10)));

    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), seqs(c.answerSync(USER, new SyncRequest(0))));
    assertEquals(PAGE, seqs(c.answerSync(USER, new SyncRequest(0).setMaxDeltas(10_000))).size());
    assertEquals(List.of(1L, 2L), seqs(c.answerSync(USER, new SyncRequest(0).setMaxDeltas(2))));
    assertEquals(List.of(1L), seqs(c.answerSync(USER, new SyncRequest(0).setMaxDeltas(0))));
    assertEquals(List.of(1L), seqs(c.answerSync(USER, new SyncRequest(-3).setMaxDeltas(1))));
  }

  @Test
  void shouldStopAtToSeq() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 10)));

    assertEquals(List.of(3L, 4L), seqs(c.answerSync(USER, new SyncRequest(2).setToSeq(4))));
  }

  @Test
  void shouldAnswerAnEmptyPageWhenNothingIsMissing() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 10)));

    for (SyncRequest r :
        List.of(
            new SyncRequest(10),
            new SyncRequest(12),
            new SyncRequest(5).setToSeq(5),
            new SyncRequest(5).setToSeq(3))) {
      ServerFrame f = c.answerSync(USER, r);
      assertEquals(List.of(), seqs(f), r.toString());
      assertEquals(10, f.getBody().getDeltas().getHeadSeq(), r.toString());
    }
    assertEquals(0, c.count("sync-memory"));
    assertTrue(storage.ranges.isEmpty());
  }

  // --- too far behind ---

  @Test
  void shouldOfferASnapshotWithBothCostsWhenTheDeviceIsTooFarBehind() throws Exception {
    UserLogs logs = logsWith(range(1, 50));
    CatchUp c = catchUp(logs);

    ServerFrame f = c.answerSync(USER, new SyncRequest(5));

    ResnapshotRequired r = f.getBody().getResnapshotRequired();
    assertEquals(5, r.getAfterSeq());
    assertEquals(50, r.getHeadSeq());
    assertEquals(45, r.getCatchUpDeltas());
    assertEquals(Math.round(45 * logs.averageDeltaBytes()), r.getCatchUpBytes());
    long snapshotBytes =
        CODEC.encode(
                new ServerFrame(ServerFrameBody.snapshot(new Snapshot(USER, 9, List.of(), 1L))))
            .length;
    assertEquals(snapshotBytes, r.getSnapshotBytes(), "a default snapshot, measured");
    assertEquals(List.of("42:20x20"), snapshotsTaken);
    assertEquals(1, c.count("resnapshot-required"));
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldServeDeltasAnywayWhenTheDeviceInsists() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 50)));
    storage.maxSeqs.put(USER, 50L);

    ServerFrame f = c.answerSync(USER, new SyncRequest(5).setForce(true));

    assertEquals(List.of(6L, 7L, 8L, 9L, 10L), seqs(f));
    assertEquals(CatchUpTier.STORAGE, tier(f), "older than memory and the bookmarks kept");
    assertEquals(List.of("42:5..0/5"), storage.ranges);
    assertEquals(0, c.count("resnapshot-required"));
  }

  @Test
  void shouldNotOfferASnapshotForABoundedRange() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 50)));
    storage.maxSeqs.put(USER, 50L);

    ServerFrame f = c.answerSync(USER, new SyncRequest(5).setToSeq(7));

    assertEquals(List.of(6L, 7L), seqs(f), "a gap to repair, not a device that was away");
  }

  // --- tier 2 ---

  /**
   * User 42's seqs 1..5 at offsets 0, 1, 50, 51, 100 of partition 0, other users' records in
   * between; the bridge holds only seq 5 in memory and a bookmark at seqs 1, 3 and 5.
   */
  private UserLogs logWithOtherUsersBetween(long logStart) {
    UserLogs logs = new UserLogs(1, 100, 2, 8, b -> {});
    long[][] seqAtOffset = {{1, 0}, {2, 1}, {3, 50}, {4, 51}, {5, 100}};
    for (long[] so : seqAtOffset) {
      logs.append(USER, 0, so[1], so[0], delta(USER, so[0]));
    }
    reader.updateBeginningOffsets(Map.of(P0, logStart));
    reader.updateEndOffsets(Map.of(P0, 101L));
    reader.setMaxPollRecords(2);
    reader.schedulePollTask(
        () -> {
          int next = 0;
          for (long offset = Math.max(0, logStart); offset <= 100; offset++) {
            if (next < seqAtOffset.length && seqAtOffset[next][1] < offset) {
              next++;
            }
            boolean mine = next < seqAtOffset.length && seqAtOffset[next][1] == offset;
            long user = mine ? USER : 7;
            long seq = mine ? seqAtOffset[next][0] : offset;
            reader.addRecord(new ConsumerRecord<>(P0.topic(), 0, offset, user, delta(user, seq)));
          }
        });
    return logs;
  }

  @Test
  void shouldReadTheLogFromABookmarkAndJumpOverOtherUsersRecords() throws Exception {
    CatchUp c = catchUp(logWithOtherUsersBetween(0));

    ServerFrame f = c.answerSync(USER, new SyncRequest(2));

    assertEquals(List.of(3L, 4L, 5L), seqs(f));
    assertEquals(CatchUpTier.LOG, tier(f));
    assertEquals(5, f.getBody().getDeltas().getHeadSeq());
    assertEquals(1, c.count("sync-log"));
    assertEquals(3, c.count("deltas-log"));
    assertEquals(3, c.count("log-records-read"), "50 to 51, then 100: not the 48 between");
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldGoToStorageWhenTheLogNoLongerHoldsTheBookmark() throws Exception {
    CatchUp c = catchUp(logWithOtherUsersBetween(60));
    storage.maxSeqs.put(USER, 5L);

    ServerFrame f = c.answerSync(USER, new SyncRequest(2));

    assertEquals(CatchUpTier.STORAGE, tier(f));
    assertEquals(List.of(3L, 4L, 5L), seqs(f));
    assertEquals(List.of("42:2..0/5"), storage.ranges);
    assertEquals(1, c.count("sync-storage"));
    assertEquals(3, c.count("deltas-storage"));
    assertEquals(0, c.count("sync-log"));
  }

  @Test
  void shouldCloseItsLogReaders() throws Exception {
    CatchUp c = catchUp(logWithOtherUsersBetween(0));
    c.answerSync(USER, new SyncRequest(2));

    c.close();

    assertTrue(reader.closed());
  }

  // --- tier 3 ---

  @Test
  void shouldAskStorageForTheHeadOfAUserThisBridgeHasNotSeen() throws Exception {
    CatchUp c = catchUp(logsWith());
    storage.maxSeqs.put(USER, 3L);

    ServerFrame upToDate = c.answerSync(USER, new SyncRequest(3));
    ServerFrame behind = c.answerSync(USER, new SyncRequest(1));

    assertEquals(List.of(), seqs(upToDate));
    assertEquals(3, upToDate.getBody().getDeltas().getHeadSeq());
    assertEquals(List.of(2L, 3L), seqs(behind));
    assertEquals(CatchUpTier.STORAGE, tier(behind));
    assertEquals(3, behind.getBody().getDeltas().getHeadSeq());
  }

  @Test
  void shouldOfferASnapshotWhenNoTierHoldsTheRangeAndThereIsNoStorage() throws Exception {
    UserLogs logs = new UserLogs(16, 100, 4, 8, b -> {});
    logs.restore(new LogBookmarks(USER, 0, List.of(10L), List.of(1000L)));
    reader.updateBeginningOffsets(Map.of(P0, 1001L)); // retention passed the bookmark
    CatchUp c =
        new CatchUp(
            logs,
            null,
            null,
            new CatchUp.Settings(1, 1, PAGE, RESNAPSHOT_AFTER),
            devices,
            () -> reader);
    opened.add(c);

    ServerFrame f = c.answerSync(USER, new SyncRequest(2));

    ResnapshotRequired r = f.getBody().getResnapshotRequired();
    assertEquals(10, r.getHeadSeq());
    assertEquals(8, r.getCatchUpDeltas());
    assertEquals(8, r.getCatchUpBytes(), "at least a byte a delta before any was seen");
    assertEquals(-1, r.getSnapshotBytes(), "no snapshot service to measure");
  }

  /**
   * After a restart, the bridge knows a user's head only from the bookmarks restored from
   * iris.log-index, while the push path resumes after the deltas it had already consumed; the true
   * head can be up to mqtt.tier2.bookmark.every - 1 seqs higher. A device that holds seqs beyond
   * the restored head was answered an empty page "up to date at 65" and missed 71..80 until the
   * user's next delta (issue 16); catch-up now reads from the last bookmark to find the true head.
   */
  @Test
  void shouldServeADeviceAheadOfTheLastBookmarkAfterARestart() throws Exception {
    UserLogs logs = new UserLogs(16, 100, 32, 8, b -> {});
    logs.restore(new LogBookmarks(USER, 0, List.of(1L, 33L, 65L), List.of(0L, 32L, 64L)));
    storage.maxSeqs.put(USER, 80L); // 66..80 were consumed before the restart
    reader.updateBeginningOffsets(Map.of(P0, 0L));
    reader.updateEndOffsets(Map.of(P0, 80L));
    // Read twice from the last bookmark: once to find the true head, once to serve the page (a
    // MockConsumer hands a record out once, a broker again after a seek).
    for (int read = 0; read < 2; read++) {
      reader.schedulePollTask(
          () -> {
            for (long s = 65; s <= 80; s++) {
              reader.addRecord(new ConsumerRecord<>(P0.topic(), 0, s - 1, USER, delta(USER, s)));
            }
          });
    }
    CatchUp c = catchUp(logs);

    ServerFrame f = c.answerSync(USER, new SyncRequest(70));

    assertEquals(List.of(71L, 72L, 73L, 74L, 75L), seqs(f));
    assertEquals(80, f.getBody().getDeltas().getHeadSeq(), "the true head, not the bookmark's");
    assertTrue(logs.headExact(USER), "confirmed once found");
  }

  // --- off the MQTT threads ---

  @Test
  void shouldAnswerASyncOnTheDevicesDownTopicWithItsRequestId() {
    CatchUp c = catchUp(logsWith(range(1, 3)));

    c.sync(PHONE, "s1", new SyncRequest(1));

    await().atMost(WAIT).until(() -> devices.size() == 1);
    assertEquals(PHONE, devices.all().get(0).device());
    ServerFrame f = devices.only();
    assertEquals("s1", f.getRequestId());
    assertEquals(List.of(2L, 3L), seqs(f));
  }

  @Test
  void shouldTakeASnapshotWithinTheLimits() {
    CatchUp c = catchUp(logsWith());

    c.snapshot(PHONE, "p1", new SnapshotRequest());
    c.snapshot(PHONE, "p2", new SnapshotRequest().setMaxThreads(1000).setMessagesPerThread(0));

    await().atMost(WAIT).until(() -> devices.size() == 2);
    assertEquals(List.of("42:20x20", "42:200x1"), snapshotsTaken);
    ServerFrame f = devices.to(PHONE).get(0);
    assertEquals("p1", f.getRequestId());
    assertEquals(USER, f.getBody().getSnapshot().getUserId());
    assertEquals(2, c.count("snapshots"));
  }

  @Test
  void shouldAnswerUnavailableWhileStorageIsDown() {
    CatchUp c = catchUp(logsWith());
    storage.down = new SQLException("MySQL away");

    c.sync(PHONE, "s1", new SyncRequest(0));

    await().atMost(WAIT).until(() -> devices.size() == 1);
    ServerFrame f = devices.only();
    assertEquals("s1", f.getRequestId());
    ServerError e = f.getBody().getError();
    assertEquals(ErrorCode.UNAVAILABLE, e.getCode());
    assertEquals("storage unavailable, retry with backoff", e.getMessage());
    assertEquals(1, c.count("unavailable"));
  }

  @Test
  void shouldAnswerUnavailableWhenCatchUpFailsOtherwise() {
    CatchUp c = catchUp(logsWith());
    snapshotBroken = new IllegalStateException("bug");

    c.snapshot(PHONE, "p1", new SnapshotRequest());

    await().atMost(WAIT).until(() -> devices.size() == 1);
    ServerFrame f = devices.only();
    assertEquals("p1", f.getRequestId());
    assertEquals(ErrorCode.UNAVAILABLE, f.getBody().getError().getCode());
    assertEquals(1, c.count("unavailable"));
  }

  @Test
  void shouldRefuseWithRateLimitedOnceThePoolAndItsQueueAreFull() {
    CatchUp c = catchUp(logsWith(), storage, 1, 1);
    snapshotGate = new CountDownLatch(1);

    c.snapshot(PHONE, "p1", new SnapshotRequest()); // served, held
    c.snapshot(PHONE, "p2", new SnapshotRequest()); // waits
    c.snapshot(PHONE, "p3", new SnapshotRequest()); // refused

    ServerFrame refused = devices.only();
    assertEquals("p3", refused.getRequestId());
    assertEquals(ErrorCode.RATE_LIMITED, refused.getBody().getError().getCode());
    assertEquals(1, c.count("rate-limited"));

    snapshotGate.countDown();
    await().atMost(WAIT).until(() -> devices.size() == 3);
    assertEquals(2, c.count("snapshots"));
    assertFalse(c.names().contains("unavailable"));
  }

  @Test
  void shouldNameOnlyTheCountersThatMoved() throws Exception {
    CatchUp c = catchUp(logsWith(range(1, 3)));
    assertTrue(c.names().isEmpty());

    c.answerSync(USER, new SyncRequest(1));

    assertEquals(java.util.Set.of("sync-memory", "deltas-memory"), c.names());
  }
}
