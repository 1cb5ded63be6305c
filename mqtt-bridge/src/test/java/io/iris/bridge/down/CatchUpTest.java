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
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.ErrorCode;
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
import org.apache.kafka.clients.consumer.ConsumerConfig;
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
  private static final String E = DownFixtures.EPOCH;

  /** The storage tier: each user's deltas at the positions given. */
  private static final class Storage implements CatchUp.StoredDeltas {
    final Map<Long, List<Long>> positions = new java.util.concurrent.ConcurrentHashMap<>();
    final List<String> ranges = new CopyOnWriteArrayList<>();
    volatile SQLException down;
    volatile boolean big;

    @Override
    public List<Delta> range(long userId, long afterPos, long throughPos, int limit)
        throws SQLException {
      if (down != null) {
        throw down;
      }
      ranges.add(userId + ":" + afterPos + ".." + throughPos + "/" + limit);
      List<Delta> out = new ArrayList<>();
      long prev = afterPos;
      for (long p : positions.getOrDefault(userId, List.of())) {
        if (p > afterPos && (throughPos < 0 || p <= throughPos) && out.size() < limit) {
          byte[] frame = big ? bigDelta(userId, p) : delta(userId, p);
          out.add(CODEC.decode(frame, Delta::new).setPos(p).setPrevPos(prev));
          prev = p;
        }
      }
      return out;
    }

    @Override
    public long countAfter(long userId, long afterPos) throws SQLException {
      if (down != null) {
        throw down;
      }
      return positions.getOrDefault(userId, List.of()).stream().filter(p -> p > afterPos).count();
    }
  }

  private final Storage storage = new Storage();
  private volatile long storedThrough = -1;
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

  private Snapshot snapshot(long user, int threads, int messages, long through, String epoch) {
    snapshotsTaken.add(user + ":" + threads + "x" + messages + "@" + through);
    try {
      snapshotGate.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (snapshotBroken != null) {
      throw snapshotBroken;
    }
    return new Snapshot(user, List.of(), 1L, through, epoch);
  }

  private CatchUp catchUp(UserLogs logs, CatchUp.StoredDeltas history, int threads, int queue) {
    return catchUp(logs, history, threads, queue, PAGE, 64 * 1024);
  }

  private CatchUp catchUp(
      UserLogs logs,
      CatchUp.StoredDeltas history,
      int threads,
      int queue,
      int page,
      int maxFrameBytes) {
    CatchUp c =
        new CatchUp(
            logs,
            DownFixtures.LAYOUT,
            partition -> storedThrough,
            history,
            this::snapshot,
            new CatchUp.Settings(threads, queue, page, RESNAPSHOT_AFTER, maxFrameBytes),
            devices,
            () -> reader);
    opened.add(c);
    return c;
  }

  /** The answer to {@code r} of user 42, as the device reads it. */
  private static ServerFrame answer(CatchUp c, SyncRequest r) throws SQLException {
    return CODEC.decode(c.answerSync(USER, null, r), ServerFrame::new);
  }

  private CatchUp catchUp(UserLogs logs) {
    return catchUp(logs, storage, 1, 4);
  }

  private static byte[] delta(long user, long n) {
    return CODEC.encode(
        new Delta(user, 7, 1L, DeltaBody.newMessage(new NewMessage(n, user, "m" + n))));
  }

  /** A delta of about 1 KiB. */
  private static byte[] bigDelta(long user, long n) {
    return CODEC.encode(
        new Delta(user, 7, 1L, DeltaBody.newMessage(new NewMessage(n, user, "x".repeat(1000)))));
  }

  /**
   * Memory (16 per user) of a reader that started at offset 1000 and read through 1020: the user's
   * deltas at the positions given, other users' between.
   */
  private static UserLogs logsWith(long... positions) {
    UserLogs logs = new UserLogs(16, 100);
    logs.startReading(0, 1000);
    for (long p : positions) {
      logs.append(USER, 0, p, delta(USER, p));
    }
    logs.readThrough(0, 1021);
    return logs;
  }

  private static SyncRequest after(long pos) {
    return new SyncRequest(E, pos);
  }

  private static List<Long> positions(ServerFrame f) {
    List<Long> out = new ArrayList<>();
    f.getBody().getDeltas().getDeltas().forEach(d -> out.add(d.getPos()));
    return out;
  }

  private static List<Long> prevPositions(ServerFrame f) {
    List<Long> out = new ArrayList<>();
    f.getBody().getDeltas().getDeltas().forEach(d -> out.add(d.getPrevPos()));
    return out;
  }

  private static CatchUpTier tier(ServerFrame f) {
    return f.getBody().getDeltas().getTier();
  }

  private static long through(ServerFrame f) {
    return f.getBody().getDeltas().getThroughPos();
  }

  private static boolean more(ServerFrame f) {
    return f.getBody().getDeltas().isMore();
  }

  // --- tier 1 ---

  @Test
  void shouldServeFromMemoryWhenItsChainReachesTheDevicesPosition() throws Exception {
    CatchUp c = catchUp(logsWith(1000, 1003, 1010, 1011));

    ServerFrame f = answer(c, after(1003));

    assertEquals(List.of(1010L, 1011L), positions(f));
    assertEquals(List.of(1003L, 1010L), prevPositions(f));
    assertEquals(CatchUpTier.MEMORY, tier(f));
    assertEquals(1020, through(f), "memory covers the user up to what the reader has read");
    assertFalse(more(f));
    assertEquals(E, f.getBody().getDeltas().getEpoch());
    assertEquals(1, c.count("sync-memory"));
    assertEquals(2, c.count("deltas-memory"));
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldCapAPageAtWhatTheDeviceAsksAndAtTheSetting() throws Exception {
    CatchUp c = catchUp(logsWith(1000, 1001, 1004, 1005, 1006, 1009, 1012, 1015));

    ServerFrame page = answer(c, after(999));
    assertEquals(List.of(1000L, 1001L, 1004L, 1005L, 1006L), positions(page));
    assertTrue(more(page));
    assertEquals(1006, through(page), "a page stops at its last delta");
    assertEquals(PAGE, positions(answer(c, after(999).setMaxDeltas(10_000))).size());
    assertEquals(List.of(1000L, 1001L), positions(answer(c, after(999).setMaxDeltas(2))));
    ServerError zero = answer(c, after(999).setMaxDeltas(0)).getBody().getError();
    assertEquals(ErrorCode.INVALID_ARGUMENT, zero.getCode(), "an empty page asked for: refused");
    assertTrue(zero.getMessage().contains("maxDeltas at least 1"), zero.getMessage());
  }

  @Test
  void shouldCutAPageAtTheFrameLimitInBytesInEveryTier() throws Exception {
    // Deltas of ~1 KiB: a limit of 4 KiB takes three of them per frame.
    UserLogs logs = new UserLogs(16, 100);
    logs.startReading(0, 1000);
    for (long p = 1000; p < 1008; p++) {
      logs.append(USER, 0, p, bigDelta(USER, p));
    }
    logs.readThrough(0, 1008);
    CatchUp c = catchUp(logs, storage, 1, 4, 10, 4096);

    byte[] memory = c.answerSync(USER, "r-1", after(999));
    ServerFrame f = CODEC.decode(memory, ServerFrame::new);
    assertTrue(memory.length <= 4096, memory.length + " bytes");
    assertEquals(List.of(1000L, 1001L, 1002L), positions(f));
    assertTrue(more(f));
    assertEquals(1002, through(f), "the page stops at its last delta");
    assertEquals("r-1", f.getRequestId());

    // The storage tier, the same way.
    storage.positions.put(43L, java.util.stream.LongStream.range(10, 20).boxed().toList());
    storage.big = true;
    storedThrough = 999;
    byte[] stored = c.answerSync(43, "r-2", new SyncRequest(E, 9).setForce(true));
    ServerFrame s = CODEC.decode(stored, ServerFrame::new);
    assertTrue(stored.length <= 4096, stored.length + " bytes");
    assertEquals(CatchUpTier.STORAGE, tier(s));
    assertEquals(List.of(10L, 11L, 12L), positions(s));
    assertTrue(more(s));
    assertEquals(12, through(s));
  }

  @Test
  void shouldCutASnapshotToTheFrameLimitOldestMessagesFirstThenLeastRecentThreads() {
    List<io.iris.protocol.thrift.ThreadSummary> threads = new ArrayList<>();
    for (long t = 1; t <= 20; t++) {
      List<io.iris.protocol.thrift.Message> messages = new ArrayList<>();
      for (long m = 1; m <= 20; m++) {
        messages.add(
            new io.iris.protocol.thrift.Message(
                t * 100 + m, t, 43, "x".repeat(200), m, t * 100 + m));
      }
      threads.add(new io.iris.protocol.thrift.ThreadSummary(t, List.of(42L, 43L), messages, 3, t));
    }
    Snapshot big = new Snapshot(USER, threads, 1L, 5000, E);
    int whole = CODEC.encode(new ServerFrame(ServerFrameBody.snapshot(big.deepCopy()))).length;
    assertTrue(whole > 80_000, whole + " bytes before");

    byte[] frame = CatchUp.snapshotFrame(big.deepCopy(), "r-1", 16 * 1024);
    assertTrue(frame.length <= 16 * 1024, frame.length + " bytes");
    Snapshot cut = CODEC.decode(frame, ServerFrame::new).getBody().getSnapshot();
    assertEquals(5000, cut.getPos(), "the same position: less history, not another state");
    assertEquals(20, cut.getThreadsSize(), "every thread kept while messages can go");
    for (io.iris.protocol.thrift.ThreadSummary t : cut.getThreads()) {
      assertEquals(3, t.getUnreadCount());
      assertTrue(t.getLastMessagesSize() >= 1);
      long newest = t.getLastMessages().get(t.getLastMessagesSize() - 1).getMessageId();
      assertEquals(t.getThreadId() * 100 + 20, newest, "the newest messages stay");
    }

    byte[] tiny = CatchUp.snapshotFrame(big.deepCopy(), null, 2048);
    Snapshot fewer = CODEC.decode(tiny, ServerFrame::new).getBody().getSnapshot();
    assertTrue(tiny.length <= 2048, tiny.length + " bytes");
    assertTrue(fewer.getThreadsSize() < 20);
    assertEquals(1, fewer.getThreads().get(0).getThreadId(), "the most recent thread first");
    assertEquals(
        whole,
        CatchUp.snapshotFrame(big.deepCopy(), null, 1 << 20).length,
        "a snapshot within the limit is untouched");
  }

  @Test
  void shouldForwardADeltaOfAKindNewerThanTheBridgeWholeFromMemoryAndFromTheLog() throws Exception {
    byte[] newer = io.iris.protocol.NewerWriterFrames.deltaOfAnUnknownKind(); // user 42
    UserLogs logs = new UserLogs(16, 100);
    logs.startReading(0, 1000);
    logs.append(USER, 0, 1004, newer);
    logs.readThrough(0, 1010);
    CatchUp c = catchUp(logs);
    byte[] fromMemory = c.answerSync(USER, null, after(999));
    assertTrue(
        io.iris.protocol.NewerWriterFrames.contains(
            fromMemory, io.iris.protocol.NewerWriterFrames.unknownMemberBytes()));
    ServerFrame f = CODEC.decode(fromMemory, ServerFrame::new);
    assertEquals(List.of(1004L), positions(f));
    assertEquals(null, f.getBody().getDeltas().getDeltas().get(0).getBody().getSetField());

    reader.updateBeginningOffsets(Map.of(P0, 0L));
    reader.updateEndOffsets(Map.of(P0, 3L));
    reader.schedulePollTask(
        () -> reader.addRecord(new ConsumerRecord<>(P0.topic(), 0, 2L, USER, newer)));
    CatchUp fromLog = catchUp(new UserLogs(16, 100));
    byte[] logAnswer = fromLog.answerSync(USER, null, after(1));
    assertEquals(List.of(2L), positions(CODEC.decode(logAnswer, ServerFrame::new)));
    assertTrue(
        io.iris.protocol.NewerWriterFrames.contains(
            logAnswer, io.iris.protocol.NewerWriterFrames.unknownMemberBytes()));
  }

  @Test
  void shouldStopAtToPos() throws Exception {
    CatchUp c = catchUp(logsWith(1000, 1003, 1010, 1011));

    ServerFrame f = answer(c, after(1000).setToPos(1010));

    assertEquals(List.of(1003L, 1010L), positions(f));
    assertEquals(1010, through(f));
    assertFalse(more(f));
  }

  @Test
  void shouldAnswerAnEmptyPageWhenNothingIsMissing() throws Exception {
    CatchUp c = catchUp(logsWith(1000, 1003));

    ServerFrame current = answer(c, after(1003));
    assertEquals(List.of(), positions(current));
    assertEquals(1020, through(current));
    reader.updateEndOffsets(Map.of(P0, 1030L)); // the broker has more than this bridge read
    ServerFrame ahead = answer(c, after(1025));
    assertEquals(List.of(), positions(ahead));
    assertEquals(1025, through(ahead), "never claims less than the device holds");
    ServerFrame bounded = answer(c, after(1003).setToPos(1003));
    assertEquals(List.of(), positions(bounded));
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldAnswerFromMemoryForAUserWithNothingSinceTheReaderStarted() throws Exception {
    CatchUp c = catchUp(logsWith());

    ServerFrame f = answer(c, after(999));

    assertEquals(List.of(), positions(f));
    assertEquals(1020, through(f));
    assertEquals(CatchUpTier.MEMORY, tier(f));
  }

  // --- positions of another epoch, bad arguments ---

  @Test
  void shouldTellADeviceOfAnotherEpochToResnapshot() throws Exception {
    CatchUp c = catchUp(logsWith(1000));

    ServerFrame f = answer(c, new SyncRequest("AAAAAAAAAAAAAAAAAAAAAg", 5));

    ServerError e = f.getBody().getError();
    assertEquals(ErrorCode.RESNAPSHOT_REQUIRED, e.getCode());
    assertTrue(e.getMessage().contains("take a new snapshot"), e.getMessage());
    assertEquals(1, c.count("other-epoch"));
  }

  @Test
  void shouldServeADeviceThatHoldsNothingWithoutItsEpoch() throws Exception {
    CatchUp c = catchUp(logsWith());
    storage.positions.put(USER, List.of(3L, 8L));
    storedThrough = 500;

    ServerFrame f = answer(c, new SyncRequest("", -1).setForce(true));

    assertEquals(List.of(3L, 8L), positions(f));
    assertEquals(E, f.getBody().getDeltas().getEpoch(), "the device learns the epoch here");
    assertEquals(
        ErrorCode.RESNAPSHOT_REQUIRED,
        answer(c, new SyncRequest("", 5)).getBody().getError().getCode(),
        "a position without its epoch means nothing");
  }

  @Test
  void shouldTellADeviceBeyondTheEndOfTheLogToResnapshot() throws Exception {
    // Before: an empty batch "through 1500" and the device took itself for current, dropping the
    // deltas that came next at positions below 1500 as duplicates.
    CatchUp c = catchUp(logsWith(1000, 1003));
    reader.updateEndOffsets(Map.of(P0, 1030L));

    for (long pos : new long[] {1030, 1500}) {
      ServerError e = answer(c, after(pos)).getBody().getError();
      assertEquals(ErrorCode.RESNAPSHOT_REQUIRED, e.getCode(), "position " + pos);
      assertTrue(e.getMessage().contains("beyond the end"), e.getMessage());
    }
    assertEquals(2, c.count("beyond-head"));
    assertEquals(List.of(), positions(answer(c, after(1029))), "the last position is fine");
  }

  @Test
  void shouldRefuseASnapshotOfNoThreadOrNoMessage() {
    CatchUp c = catchUp(logsWith());
    c.snapshot(PHONE, "r-5", new SnapshotRequest().setMaxThreads(0));
    await().atMost(WAIT).until(() -> devices.size() > 0);
    ServerFrame f = devices.only();
    assertEquals("r-5", f.getRequestId());
    assertEquals(ErrorCode.INVALID_ARGUMENT, f.getBody().getError().getCode());
    assertTrue(snapshotsTaken.isEmpty());
  }

  @Test
  void shouldRefuseAPositionBelowMinusOne() throws Exception {
    CatchUp c = catchUp(logsWith(1000));

    assertEquals(ErrorCode.INVALID_ARGUMENT, answer(c, after(-3)).getBody().getError().getCode());
  }

  // --- too far behind ---

  @Test
  void shouldOfferASnapshotWithBothCostsWhenTheDeviceIsTooFarBehind() throws Exception {
    UserLogs logs = logsWith(1000, 1001);
    CatchUp c = catchUp(logs);
    storage.positions.put(USER, java.util.stream.LongStream.range(100, 150).boxed().toList());
    storedThrough = 999;

    ServerFrame f = CODEC.decode(c.answerSync(USER, "r-0000", after(104)), ServerFrame::new);

    ResnapshotRequired r = f.getBody().getResnapshotRequired();
    assertEquals(104, r.getAfterPos());
    assertEquals(47, r.getCatchUpDeltas(), "45 in MySQL, 2 in memory above the pointer");
    long snapshotBytes =
        CODEC.encode(
                new ServerFrame(
                    ServerFrameBody.snapshot(new Snapshot(USER, List.of(), 1L, 999, E))))
            .length;
    assertEquals(snapshotBytes, r.getSnapshotBytes(), "a default snapshot, measured");
    assertEquals(List.of("42:20x20@999"), snapshotsTaken);
    assertEquals(1, c.count("resnapshot-required"));
    assertTrue(storage.ranges.isEmpty());
    // The bytes are what the forced catch-up then really sends, page after page (within 10%).
    long sent = 0;
    long deltas = 0;
    long at = 104;
    for (boolean more = true; more; ) {
      byte[] page = c.answerSync(USER, "r-0001", after(at).setForce(true));
      sent += page.length;
      DeltaBatch b = CODEC.decode(page, ServerFrame::new).getBody().getDeltas();
      deltas += b.getDeltasSize();
      at = b.getThroughPos();
      more = b.isMore();
    }
    assertEquals(47, deltas);
    assertEquals(sent, r.getCatchUpBytes(), sent / 10.0, "estimated vs sent");
  }

  @Test
  void shouldCountWhatLiesAboveTheStoragePointerWhenOfferingASnapshot() throws Exception {
    // MySQL holds 10 of the user's deltas after 104; the sink is behind: the user's 30 deltas
    // above the pointer (500) are in memory only.
    UserLogs logs = new UserLogs(64, 100);
    logs.startReading(0, 450);
    for (long p = 501; p <= 530; p++) {
      logs.append(USER, 0, p, delta(USER, p));
    }
    CatchUp c = catchUp(logs);
    storage.positions.put(USER, java.util.stream.LongStream.range(100, 115).boxed().toList());
    storedThrough = 500;

    ResnapshotRequired r = answer(c, after(104)).getBody().getResnapshotRequired();

    assertEquals(40, r.getCatchUpDeltas(), "10 in MySQL + 30 above the pointer");
  }

  @Test
  void shouldBoundWhatLiesAboveThePointerByOffsetsWhenMemoryDoesNotCoverIt() throws Exception {
    UserLogs logs = new UserLogs(4, 100); // too small to cover
    logs.startReading(0, 450);
    for (long p = 501; p <= 530; p++) {
      logs.append(USER, 0, p, delta(USER, p));
    }
    CatchUp c = catchUp(logs);
    storage.positions.put(USER, List.of(101L));
    storedThrough = 500;

    ResnapshotRequired r = answer(c, after(100)).getBody().getResnapshotRequired();

    assertEquals(31, r.getCatchUpDeltas(), "1 in MySQL + at most 30 offsets read past the pointer");
  }

  @Test
  void shouldServeDeltasAnywayWhenTheDeviceInsists() throws Exception {
    CatchUp c = catchUp(logsWith(1000));
    storage.positions.put(USER, java.util.stream.LongStream.range(100, 150).boxed().toList());
    storedThrough = 999;

    ServerFrame f = answer(c, after(104).setForce(true));

    assertEquals(List.of(105L, 106L, 107L, 108L, 109L), positions(f));
    assertEquals(List.of(104L, 105L, 106L, 107L, 108L), prevPositions(f));
    assertEquals(CatchUpTier.STORAGE, tier(f), "older than memory");
    assertTrue(more(f));
    assertEquals(109, through(f));
    assertEquals(List.of("42:104..999/5"), storage.ranges);
    assertEquals(0, c.count("resnapshot-required"));
  }

  @Test
  void shouldNotOfferASnapshotForABoundedRange() throws Exception {
    CatchUp c = catchUp(logsWith(1000));
    storage.positions.put(USER, java.util.stream.LongStream.range(100, 150).boxed().toList());
    storedThrough = 999;

    ServerFrame f = answer(c, after(104).setToPos(106));

    assertEquals(List.of(105L, 106L), positions(f), "a gap to repair, not a device that was away");
    assertEquals(106, through(f));
    assertFalse(more(f));
  }

  // --- tier 3: storage below the storage pointer ---

  @Test
  void shouldServeFromStorageUpToTheStoragePointer() throws Exception {
    CatchUp c = catchUp(logsWith(1000));
    storage.positions.put(USER, List.of(10L, 17L, 30L));
    storedThrough = 500;

    // Forced: the estimate bounds what lies between the pointer (500) and memory's start (1000)
    // by offsets, which would offer a snapshot here.
    ServerFrame f = answer(c, after(12).setForce(true));

    assertEquals(List.of(17L, 30L), positions(f));
    assertEquals(List.of(12L, 17L), prevPositions(f));
    assertEquals(CatchUpTier.STORAGE, tier(f));
    assertEquals(500, through(f), "everything of the partition below the pointer is stored");
    assertTrue(more(f), "the log may hold more after the storage pointer: ask again from there");

    assertEquals(1, c.count("sync-storage"));
    assertEquals(2, c.count("deltas-storage"));

    ServerFrame bounded = answer(c, after(12).setToPos(30));
    assertEquals(List.of(17L, 30L), positions(bounded));
    assertEquals(30, through(bounded));
    assertFalse(more(bounded), "a bounded range within storage is whole");
  }

  // --- tier 2: the log, from the device's position ---

  /** User 42's deltas at offsets 50, 51 and 100 of partition 0, another user's in between. */
  private void logWithOtherUsersBetween(long logStart) {
    long[] mine = {50, 51, 100};
    reader.updateBeginningOffsets(Map.of(P0, logStart));
    reader.updateEndOffsets(Map.of(P0, 101L));
    reader.setMaxPollRecords(7);
    reader.schedulePollTask(
        () -> {
          for (long offset = Math.max(41, logStart); offset <= 100; offset++) {
            long o = offset;
            long user = java.util.Arrays.stream(mine).anyMatch(m -> m == o) ? USER : 7;
            reader.addRecord(
                new ConsumerRecord<>(P0.topic(), 0, offset, user, delta(user, offset)));
          }
        });
  }

  @Test
  void shouldReadTheLogFromTheDevicesPositionChainingItsDeltas() throws Exception {
    logWithOtherUsersBetween(0);
    CatchUp c = catchUp(new UserLogs(16, 100)); // this bridge's memory does not cover it
    storedThrough = 20;

    ServerFrame f = answer(c, after(40));

    assertEquals(List.of(50L, 51L, 100L), positions(f));
    assertEquals(List.of(40L, 50L, 51L), prevPositions(f));
    assertEquals(CatchUpTier.LOG, tier(f));
    assertEquals(100, through(f), "read to the end");
    assertFalse(more(f));
    assertEquals(1, c.count("sync-log"));
    assertEquals(3, c.count("deltas-log"));
    assertEquals(60, c.count("log-records-read"), "41 to 100");
    assertTrue(storage.ranges.isEmpty());
  }

  @Test
  void shouldStillServeFromTheLogWhileMySqlIsAway() throws Exception {
    logWithOtherUsersBetween(0);
    CatchUp c = catchUp(new UserLogs(16, 100));
    storage.down = new SQLException("MySQL away");

    ServerFrame f = answer(c, after(40));

    assertEquals(List.of(50L, 51L, 100L), positions(f), "the resnapshot estimate is skipped");
    assertEquals(CatchUpTier.LOG, tier(f));
  }

  @Test
  void shouldOfferASnapshotWhenTheLogNoLongerHoldsThePositionAndStorageCannot() throws Exception {
    logWithOtherUsersBetween(60);
    CatchUp c = catchUp(new UserLogs(16, 100), null, 1, 1);

    ServerFrame f = answer(c, after(40));

    ResnapshotRequired r = f.getBody().getResnapshotRequired();
    assertEquals(-1, r.getCatchUpDeltas(), "no tier holds the range");
    assertEquals(40, r.getAfterPos());
  }

  @Test
  void shouldAskToRetryWhenThePositionLiesBetweenTheStoragePointerAndTheLogsStart()
      throws Exception {
    // Seen in OfflineSpellsIT: the log starts at 60, the sink committed only through 39 (its
    // offset stops before a transaction marker until the next record). A snapshot would state
    // 40 again, and its catch-up would be answered the same: 22 snapshots in a row.
    logWithOtherUsersBetween(60);
    CatchUp c = catchUp(new UserLogs(16, 100));
    storedThrough = 39;

    ServerFrame f = answer(c, after(40).setForce(true));

    assertEquals(ErrorCode.UNAVAILABLE, f.getBody().getError().getCode());
    assertEquals(1000, f.getBody().getError().getRetryAfterMs());
    assertEquals(1, c.count("storage-behind-log-start"));
    assertEquals(0, c.count("resnapshot-required"));

    storedThrough = 100; // the sink caught up: MySQL serves the range
    assertEquals(CatchUpTier.STORAGE, tier(answer(c, after(40).setForce(true))));
  }

  @Test
  void shouldCloseItsLogReaders() throws Exception {
    logWithOtherUsersBetween(0);
    CatchUp c = catchUp(new UserLogs(16, 100));
    answer(c, after(40));

    c.close();

    assertTrue(reader.closed());
  }

  // --- off the MQTT threads ---

  @Test
  void shouldAnswerASyncOnTheDevicesDownTopicWithItsRequestId() {
    CatchUp c = catchUp(logsWith(1000, 1001, 1002));

    c.sync(PHONE, "s1", after(1000));

    await().atMost(WAIT).until(() -> devices.size() == 1);
    assertEquals(PHONE, devices.all().get(0).device());
    ServerFrame f = devices.only();
    assertEquals("s1", f.getRequestId());
    assertEquals(List.of(1001L, 1002L), positions(f));
  }

  @Test
  void shouldTakeASnapshotWithinTheLimits() {
    CatchUp c = catchUp(logsWith());

    c.snapshot(PHONE, "p1", new SnapshotRequest());
    c.snapshot(PHONE, "p2", new SnapshotRequest().setMaxThreads(1000).setMessagesPerThread(1));

    await().atMost(WAIT).until(() -> devices.size() == 2);
    assertEquals(List.of("42:20x20@-1", "42:200x1@-1"), snapshotsTaken, "at most 200 served");
    ServerFrame f = devices.to(PHONE).get(0);
    assertEquals("p1", f.getRequestId());
    assertEquals(USER, f.getBody().getSnapshot().getUserId());
    assertEquals(2, c.count("snapshots"));
  }

  @Test
  void shouldAnswerUnavailableWhileStorageIsDown() {
    CatchUp c = catchUp(logsWith());
    storage.down = new SQLException("MySQL away");

    storedThrough = 500;
    c.sync(PHONE, "s1", after(0).setForce(true));

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
    CatchUp c = catchUp(logsWith(1000, 1001, 1002));
    assertTrue(c.names().isEmpty());

    answer(c, after(1000));

    assertEquals(java.util.Set.of("sync-memory", "deltas-memory"), c.names());
  }

  @Test
  void shouldReadTheLogWithoutWaitingAtItsEndForMoreRecords() {
    java.util.Properties p =
        CatchUp.readerProperties(io.iris.bridge.KafkaClients.of("127.0.0.1:9092"), "reader-1");
    // A fetch left waiting at the end of the log holds the next catch-up's first fetch behind it.
    assertEquals(0, p.get(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), p.toString());
    assertEquals("read_committed", p.get(ConsumerConfig.ISOLATION_LEVEL_CONFIG));
    assertEquals(false, p.get(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG));
    assertEquals("reader-1", p.get(ConsumerConfig.CLIENT_ID_CONFIG));
    assertEquals("127.0.0.1:9092", p.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
  }
}
