package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.DeviceSender;
import io.iris.protocol.DeltaFrames;
import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.CatchUpTier;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.ErrorCode;
import io.iris.protocol.thrift.ResnapshotRequired;
import io.iris.protocol.thrift.ServerError;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.SnapshotRequest;
import io.iris.protocol.thrift.SyncRequest;
import io.iris.storage.DeltaHistory;
import io.iris.storage.SnapshotService;
import io.iris.topics.Topics;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves what a device missed (SyncRequest) and inbox snapshots (SnapshotRequest), off the MQTT
 * threads, on a small pool. A range of positions is read from the cheapest tier that holds it:
 *
 * <ol>
 *   <li>{@link CatchUpTier#MEMORY}: the newest deltas per user kept by {@link UserLogs}, when its
 *       chain of the user reaches back to the device's position;
 *   <li>{@link CatchUpTier#STORAGE}: MySQL, for positions below the storage pointer (an indexed
 *       range of the user's rows);
 *   <li>{@link CatchUpTier#LOG}: iris.log itself, from the device's position to the end (the last
 *       stable offset: read_committed).
 * </ol>
 *
 * Every answer is a {@link DeltaBatch} whose deltas chain from the request's afterPos ({@code
 * prevPos}), with {@code throughPos} saying how far it covers the user's queue; one answer carries
 * at most one page ({@code more} set: ask again after throughPos), bounded by count and by bytes
 * ({@code maxFrameBytes}: a phone on a slow link never gets a frame above the limit it may send).
 * Deltas of the memory and log tiers go out as the bytes the streams app wrote ({@link
 * DeltaFrames}), so a delta kind newer than this bridge reaches the device whole. A device further
 * behind than {@code resnapshotAfterDeltas} is answered with {@link ResnapshotRequired} stating
 * both costs, unless it asked with {@code force}. A position of another epoch is answered
 * RESNAPSHOT_REQUIRED.
 */
public final class CatchUp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CatchUp.class);

  /**
   * @param threads catch-up and snapshot requests served at once
   * @param queue requests waiting beyond that before new ones are refused (RATE_LIMITED)
   * @param maxDeltasPerAnswer cap on a page, whatever the device asks
   * @param resnapshotAfterDeltas a device further behind is offered a snapshot first
   * @param maxFrameBytes largest frame sent to a device: pages stop before it, snapshots are cut
   */
  public record Settings(
      int threads,
      int queue,
      int maxDeltasPerAnswer,
      long resnapshotAfterDeltas,
      int maxFrameBytes) {
    /** Settings with frames bounded by the default frame limit of the edge, 64 KiB. */
    public Settings(int threads, int queue, int maxDeltasPerAnswer, long resnapshotAfterDeltas) {
      this(threads, queue, maxDeltasPerAnswer, resnapshotAfterDeltas, 64 * 1024);
    }
  }

  /** The storage tier's deltas, as catch-up reads them ({@link DeltaHistory} in production). */
  interface StoredDeltas {
    /**
     * Rows with afterPos < pos <= throughPos, pos and prevPos set, prevPos chained from afterPos.
     */
    List<Delta> range(long userId, long afterPos, long throughPos, int limit) throws SQLException;

    long countAfter(long userId, long afterPos) throws SQLException;
  }

  /** Inbox snapshots, as catch-up takes them ({@link SnapshotService} in production). */
  @FunctionalInterface
  interface Snapshots {
    Snapshot snapshot(
        long userId, int maxThreads, int messagesPerThread, long storedThrough, String epoch)
        throws SQLException;
  }

  /** The storage pointer of a partition, minus one: the highest position stored. */
  @FunctionalInterface
  interface StoredThrough {
    long of(int partition);
  }

  private final Supplier<? extends Consumer<Long, byte[]>> newReader;
  private final UserLogs logs;
  private final LogLayout layout;
  private final StoredThrough stored;
  private final StoredDeltas history;
  private final Snapshots snapshots;
  private final Settings settings;
  private final DeviceSender replier;
  private final FrameCodec codec = FrameCodec.defaults();
  private final ThreadPoolExecutor pool;
  private final Map<Thread, Consumer<Long, byte[]>> readers = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();

  public CatchUp(
      KafkaClients kafka,
      UserLogs logs,
      LogLayout layout,
      StoragePointers storagePointers,
      DeltaHistory history,
      SnapshotService snapshots,
      Settings settings,
      DeviceSender replier) {
    this(
        logs,
        layout,
        storagePointers::storedThrough,
        history == null ? null : storedDeltas(history),
        snapshots == null ? null : snapshots::snapshot,
        settings,
        replier,
        () -> reader(kafka));
  }

  /**
   * Catch-up over the given storage tier (either may be null: not available), reading tier 2
   * through the consumers {@code newReader} makes (one per pool thread, on that thread).
   */
  CatchUp(
      UserLogs logs,
      LogLayout layout,
      StoredThrough stored,
      StoredDeltas history,
      Snapshots snapshots,
      Settings settings,
      DeviceSender replier,
      Supplier<? extends Consumer<Long, byte[]>> newReader) {
    this.newReader = newReader;
    this.logs = logs;
    this.layout = layout;
    this.stored = stored;
    this.history = history;
    this.snapshots = snapshots;
    this.settings = settings;
    this.replier = replier;
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            settings.threads(),
            settings.threads(),
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(settings.queue()),
            r -> {
              Thread t = new Thread(r, "iris-catch-up-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  private static StoredDeltas storedDeltas(DeltaHistory history) {
    return new StoredDeltas() {
      @Override
      public List<Delta> range(long userId, long afterPos, long throughPos, int limit)
          throws SQLException {
        return history.range(userId, afterPos, throughPos, limit);
      }

      @Override
      public long countAfter(long userId, long afterPos) throws SQLException {
        return history.countAfter(userId, afterPos);
      }
    };
  }

  /** The counters that exist so far (for metrics). */
  public java.util.Set<String> names() {
    return java.util.Set.copyOf(counters.keySet());
  }

  /**
   * Counters: sync-memory, sync-log, sync-storage (answers per tier), deltas-memory, deltas-log,
   * deltas-storage, log-records-read (records of iris.log read for tier 2, other users' included),
   * resnapshot-required, other-epoch, beyond-head (a position past the log's end: told to take a
   * snapshot), invalid (arguments out of range), storage-behind-log-start, snapshots, unavailable,
   * rate-limited.
   */
  public long count(String what) {
    AtomicLong c = counters.get(what);
    return c == null ? 0 : c.get();
  }

  private void count(String what, long n) {
    counters.computeIfAbsent(what, k -> new AtomicLong()).addAndGet(n);
  }

  /** Answers a SyncRequest of {@code device} (its own user's queue only) on its down topic. */
  public void sync(DeviceTopics.DeviceId device, String requestId, SyncRequest request) {
    submit(device, requestId, () -> answerSync(device.userId(), requestId, request));
  }

  /** Answers a SnapshotRequest of {@code device} from MySQL. */
  public void snapshot(DeviceTopics.DeviceId device, String requestId, SnapshotRequest request) {
    submit(
        device,
        requestId,
        () -> {
          if (request.getMaxThreads() < 1 || request.getMessagesPerThread() < 1) {
            return encode(
                error(
                    ErrorCode.INVALID_ARGUMENT,
                    "maxThreads and messagesPerThread must be at least 1 (at most 200 are"
                        + " served), were "
                        + request.getMaxThreads()
                        + " and "
                        + request.getMessagesPerThread()),
                requestId);
          }
          Snapshot s =
              takeSnapshot(
                  device.userId(),
                  Math.min(request.getMaxThreads(), 200),
                  Math.min(request.getMessagesPerThread(), 200));
          count("snapshots", 1);
          return snapshotFrame(s, requestId, settings.maxFrameBytes());
        });
  }

  /**
   * The frame of {@code s}, cut to {@code maxBytes}: fewer messages per thread first (the oldest of
   * the thread holding the most go first), then fewer threads (the least recently active first).
   * Unread counts and the snapshot's position stay as they are: the device holds less history, not
   * a different state. A single thread too large even without messages goes out as it is.
   */
  static byte[] snapshotFrame(Snapshot s, String requestId, int maxBytes) {
    FrameCodec codec = FrameCodec.defaults();
    byte[] frame = codec.encode(snapshotFrame(s, requestId));
    while (frame.length > maxBytes) {
      long excess = frame.length - maxBytes;
      while (excess > 0) {
        io.iris.protocol.thrift.ThreadSummary most = null;
        for (io.iris.protocol.thrift.ThreadSummary t : s.getThreads()) {
          if (most == null || t.getLastMessagesSize() > most.getLastMessagesSize()) {
            most = t;
          }
        }
        if (most != null && most.getLastMessagesSize() > 1) {
          excess -= codec.encode(most.getLastMessages().remove(0)).length;
        } else if (s.getThreadsSize() > 1) {
          excess -= codec.encode(s.getThreads().remove(s.getThreadsSize() - 1)).length;
        } else if (most != null && most.getLastMessagesSize() == 1) {
          excess -= codec.encode(most.getLastMessages().remove(0)).length;
        } else {
          return frame; // one thread, no message: as small as it gets
        }
      }
      frame = codec.encode(snapshotFrame(s, requestId));
    }
    return frame;
  }

  private static ServerFrame snapshotFrame(Snapshot s, String requestId) {
    return answering(new ServerFrame(ServerFrameBody.snapshot(s)), requestId);
  }

  private Snapshot takeSnapshot(long user, int maxThreads, int messagesPerThread)
      throws SQLException {
    // The pointer is read before MySQL is: every row below it is visible to the snapshot's read.
    long through = stored.of(layout.partitionOf(user));
    return snapshots.snapshot(user, maxThreads, messagesPerThread, through, layout.epoch());
  }

  /** An answer to a device, encoded with the request id it answers. */
  private interface Answer {
    byte[] get() throws Exception;
  }

  /** What a device refused because every catch-up slot is taken is told to wait. */
  static final int BUSY_RETRY_AFTER_MS = 500;

  /** What a device whose catch-up failed (MySQL away) is told to wait. */
  static final int UNAVAILABLE_RETRY_AFTER_MS = 1000;

  /** What a device between the storage pointer and the log's start is told to wait. */
  static final int STORAGE_BEHIND_RETRY_AFTER_MS = 1000;

  private void submit(DeviceTopics.DeviceId device, String requestId, Answer answer) {
    try {
      pool.execute(
          () -> {
            ServerFrame frame;
            try {
              replier.send(device, answer.get());
              return;
            } catch (SQLException e) {
              count("unavailable", 1);
              log.warn(
                  "Catch-up for {} failed, MySQL unavailable: {}", device.clientId(), e.toString());
              frame =
                  error(
                      ErrorCode.UNAVAILABLE,
                      "storage unavailable, retry with backoff",
                      UNAVAILABLE_RETRY_AFTER_MS);
            } catch (Exception e) {
              count("unavailable", 1);
              log.warn("Catch-up for {} failed", device.clientId(), e);
              frame =
                  error(
                      ErrorCode.UNAVAILABLE,
                      "catch-up failed, retry with backoff",
                      UNAVAILABLE_RETRY_AFTER_MS);
            }
            replier.send(device, encode(frame, requestId));
          });
    } catch (RejectedExecutionException e) {
      count("rate-limited", 1);
      replier.send(
          device,
          encode(
              error(
                  ErrorCode.RATE_LIMITED,
                  "too many catch-up requests, retry after retryAfterMs",
                  BUSY_RETRY_AFTER_MS),
              requestId));
    }
  }

  private byte[] encode(ServerFrame frame, String requestId) {
    return codec.encode(answering(frame, requestId));
  }

  /** {@code frame} as the answer to {@code requestId} (none: a frame no request asked for). */
  private static ServerFrame answering(ServerFrame frame, String requestId) {
    return requestId == null ? frame : frame.setRequestId(requestId);
  }

  private static ServerFrame error(ErrorCode code, String message) {
    return new ServerFrame(ServerFrameBody.error(new ServerError(code, message)));
  }

  /** An error that tells the device to ask again after {@code retryAfterMs}. */
  private static ServerFrame error(ErrorCode code, String message, int retryAfterMs) {
    return new ServerFrame(
        ServerFrameBody.error(new ServerError(code, message).setRetryAfterMs(retryAfterMs)));
  }

  /** The answer to a SyncRequest of {@code user}, encoded with {@code requestId}. */
  byte[] answerSync(long user, String requestId, SyncRequest r) throws SQLException {
    // A device that holds nothing may ask for the whole queue without knowing the epoch yet.
    boolean fromNothing = r.getAfterPos() == -1 && (r.getEpoch() == null || r.getEpoch().isEmpty());
    if (!fromNothing && !layout.epoch().equals(r.getEpoch())) {
      count("other-epoch", 1);
      return encode(
          error(
              ErrorCode.RESNAPSHOT_REQUIRED,
              "position "
                  + r.getAfterPos()
                  + " belongs to epoch "
                  + r.getEpoch()
                  + "; iris.log is now epoch "
                  + layout.epoch()
                  + ": take a new snapshot"),
          requestId);
    }
    if (r.getAfterPos() < -1 || r.getMaxDeltas() < 1) {
      count("invalid", 1);
      return encode(
          error(
              ErrorCode.INVALID_ARGUMENT,
              "afterPos must be -1 (nothing) or a position, and maxDeltas at least 1; were "
                  + r.getAfterPos()
                  + " and "
                  + r.getMaxDeltas()),
          requestId);
    }
    long after = r.getAfterPos();
    long to = r.getToPos() >= 0 ? r.getToPos() : -1;
    int max = Math.min(r.getMaxDeltas(), settings.maxDeltasPerAnswer());
    int partition = layout.partitionOf(user);
    if (after >= 0 && beyondTheHead(partition, after)) {
      count("beyond-head", 1);
      return encode(
          error(
              ErrorCode.RESNAPSHOT_REQUIRED,
              "position "
                  + after
                  + " lies beyond the end of the user's partition of iris.log (epoch "
                  + layout.epoch()
                  + "): it does not come from this log; take a new snapshot"),
          requestId);
    }
    if (to >= 0 && to <= after) {
      return batch(requestId, new DeltaPage(max, 0), after, false, CatchUpTier.MEMORY);
    }
    UserLogs.Recent recent = logs.recent(user, partition, after, to, max);
    if (recent != null) {
      DeltaPage page = page(requestId, max);
      boolean cut = false;
      for (UserLogs.Entry e : recent.entries()) {
        if (!page.add(e.pos(), DeltaFrames.positioned(e.frame(), e.pos(), e.prevPos()))) {
          cut = true;
          break;
        }
      }
      count("sync-memory", 1);
      count("deltas-memory", page.size());
      return cut
          ? batch(requestId, page, page.lastPos(), true, CatchUpTier.MEMORY)
          : batch(requestId, page, recent.throughPos(), recent.more(), CatchUpTier.MEMORY);
    }
    long storedThrough = stored.of(partition);
    if (!r.isForce() && to < 0 && history != null) {
      long behind = behind(user, partition, after, storedThrough);
      if (behind > settings.resnapshotAfterDeltas()) {
        return encode(resnapshot(user, after, behind, requestId, max), requestId);
      }
    }
    if (history != null && after < storedThrough) {
      long through = to >= 0 ? Math.min(to, storedThrough) : storedThrough;
      List<Delta> rows = history.range(user, after, through, max);
      DeltaPage page = page(requestId, max);
      for (Delta d : rows) {
        if (!page.add(d.getPos(), DeltaFrames.struct(d))) {
          break;
        }
      }
      boolean full = page.size() == max && page.lastPos() < through || page.size() < rows.size();
      // MySQL stops at the storage pointer; the log may hold more after it: unless the device
      // asked for no further, it asks again from there (memory or the log answer the rest).
      boolean more = full || to < 0 || to > through;
      count("sync-storage", 1);
      count("deltas-storage", page.size());
      return batch(requestId, page, full ? page.lastPos() : through, more, CatchUpTier.STORAGE);
    }
    byte[] fromLog = readLog(requestId, user, partition, after, to, max);
    if (fromLog != null) {
      return fromLog;
    }
    if (history != null) {
      // The log starts above the storage pointer, and the position lies between them: the sink
      // has not committed up to where the log starts yet (Connect commits the offset after the
      // last record it wrote, so a transaction marker at the log's start stays uncommitted until
      // the next record; a sink behind retention jumps to the log's start and commits from there).
      // A snapshot would state the same position again: wait for the pointer instead.
      count("storage-behind-log-start", 1);
      return encode(
          error(
              ErrorCode.UNAVAILABLE,
              "the log no longer holds position "
                  + after
                  + " and MySQL is stored only through "
                  + storedThrough
                  + ": retry once the storage sink catches up",
              STORAGE_BEHIND_RETRY_AFTER_MS),
          requestId);
    }
    // The log no longer holds the position and there is no storage tier.
    return encode(resnapshot(user, after, -1, requestId, max), requestId);
  }

  /**
   * Whether {@code after} lies at or beyond the end of the partition (the last stable offset): no
   * answer of this log ever stated it, so the device's position belongs to another log (one
   * recreated with the same id, a truncated partition) or was made up. Asks the broker only when
   * the push path has not read that far itself.
   */
  private boolean beyondTheHead(int partition, long after) {
    long read = logs.readThrough(partition);
    if (read >= 0 && after < read) {
      return false;
    }
    TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
    return after >= threadsReader().endOffsets(List.of(tp)).get(tp);
  }

  /** A page for an answer to {@code requestId}: at most {@code max} deltas, and the frame limit. */
  private DeltaPage page(String requestId, int max) {
    return new DeltaPage(
        max, settings.maxFrameBytes() - DeltaFrames.overheadBytes(requestId, layout.epoch()));
  }

  /**
   * How many deltas of the user lie after {@code after}, estimated: MySQL's count (an indexed
   * range), plus what lies above the storage pointer: counted in memory when memory covers it, else
   * bounded by the offsets the push path has read past the pointer (other users' included, so an
   * upper bound). -1 when MySQL cannot tell (away): the log may still serve the range.
   */
  private long behind(long user, int partition, long after, long storedThrough) {
    long stored;
    try {
      stored = history.countAfter(user, after);
    } catch (SQLException e) {
      return -1;
    }
    long from = Math.max(after, storedThrough);
    long tail = logs.countAfter(user, partition, from);
    if (tail < 0) {
      tail = Math.max(0, logs.readThrough(partition) - 1 - from);
    }
    return stored + tail;
  }

  private byte[] batch(
      String requestId, DeltaPage page, long throughPos, boolean more, CatchUpTier tier) {
    return DeltaFrames.batch(requestId, page.deltas(), layout.epoch(), throughPos, more, tier);
  }

  private ServerFrame resnapshot(long user, long after, long behind, String requestId, int page)
      throws SQLException {
    count("resnapshot-required", 1);
    long snapshotBytes = -1;
    if (snapshots != null) {
      snapshotBytes =
          snapshotFrame(takeSnapshot(user, 20, 20), null, settings.maxFrameBytes()).length;
    }
    long bytes =
        behind < 0
            ? -1
            : catchUpBytes(
                behind,
                logs.averageDeltaBytes(),
                after,
                page,
                settings.maxFrameBytes(),
                // An empty page as it is written (and a list header grown by the count).
                DeltaFrames.batch(
                            requestId, List.of(), layout.epoch(), after, true, CatchUpTier.STORAGE)
                        .length
                    + 1);
    return new ServerFrame(
        ServerFrameBody.resnapshotRequired(
            new ResnapshotRequired(behind, bytes, snapshotBytes, after)));
  }

  /**
   * What catching up by {@code deltas} deltas costs on the wire, as the pages are really built:
   * each delta is {@link DeltaFrames#positioned} of its frame in the log ({@code
   * averageLogFrameBytes}), its positions near {@code position}; each page (at most {@code page}
   * deltas and {@code maxFrameBytes}) adds its envelope ({@code pageOverhead}). The estimate
   * counted the log frames alone before, and missed the positions and the pages.
   */
  static long catchUpBytes(
      long deltas,
      double averageLogFrameBytes,
      long position,
      int page,
      int maxFrameBytes,
      int pageOverhead) {
    double perDelta =
        Math.max(2, averageLogFrameBytes) + DeltaFrames.positionedLength(0, position, position);
    double total = deltas * perDelta;
    long pages =
        Math.max(
            (deltas + page - 1) / page,
            (long) Math.ceil(total / Math.max(1, maxFrameBytes - pageOverhead)));
    return Math.round(total + pages * pageOverhead);
  }

  /** This catch-up thread's reader of iris.log (one per pool thread, closed with the pool). */
  private Consumer<Long, byte[]> threadsReader() {
    return readers.computeIfAbsent(Thread.currentThread(), t -> newReader.get());
  }

  /**
   * Tier 2: the user's deltas after {@code after} read from its partition of iris.log, from {@code
   * after + 1} to the end (the last stable offset when the read starts), or null when retention has
   * passed {@code after + 1}. Stops at a page (count or bytes), or after 10 s with what it has
   * (more set).
   */
  private byte[] readLog(String requestId, long user, int partition, long after, long to, int max) {
    Consumer<Long, byte[]> c = threadsReader();
    TopicPartition tp = new TopicPartition(Topics.LOG.name(), partition);
    List<TopicPartition> tps = List.of(tp);
    c.assign(tps);
    long from = after + 1;
    if (from < c.beginningOffsets(tps).get(tp)) {
      return null;
    }
    long end = c.endOffsets(tps).get(tp);
    long bound = to >= 0 ? Math.min(to, end - 1) : end - 1;
    c.seek(tp, from);
    DeltaPage page = page(requestId, max);
    long prev = after;
    long read = 0;
    boolean more = false;
    boolean full = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    reading:
    while (c.position(tp) <= bound) {
      if (System.nanoTime() > deadline) {
        more = true;
        break;
      }
      for (ConsumerRecord<Long, byte[]> rec : c.poll(Duration.ofMillis(200))) {
        read++;
        if (rec.offset() > bound) {
          break reading;
        }
        if (rec.key() == null || rec.key() != user) {
          continue;
        }
        try {
          codec.decode(rec.value(), Delta::new);
        } catch (FrameException e) {
          continue; // not a delta: skipped, as the push path does
        }
        if (!page.add(rec.offset(), DeltaFrames.positioned(rec.value(), rec.offset(), prev))) {
          more = true;
          full = true;
          break reading;
        }
        prev = rec.offset();
      }
    }
    count("log-records-read", read);
    count("sync-log", 1);
    count("deltas-log", page.size());
    long through;
    if (!more) {
      through = Math.max(bound, after);
    } else if (full) {
      through = prev;
    } else {
      through = Math.max(after, Math.min(bound, c.position(tp) - 1)); // out of time
    }
    return batch(requestId, page, through, more, CatchUpTier.LOG);
  }

  private static KafkaConsumer<Long, byte[]> reader(KafkaClients kafka) {
    return new KafkaConsumer<>(
        readerProperties(kafka, "iris-catch-up-" + Thread.currentThread().getName()),
        new LongDeserializer(),
        new ByteArrayDeserializer());
  }

  /**
   * The settings of a tier-2 reader. It reads a range of records that are there (up to the last
   * stable offset when it starts), so it has no use for the broker holding a fetch back until more
   * arrive: {@code fetch.max.wait.ms} 0. With Kafka's default (500 ms) the read that reached the
   * end of the log left its next fetch (sent before poll returns) waiting at the broker, and a
   * consumer sends one fetch to a broker at a time: the next catch-up on the same pool thread
   * within 500 ms waited for it first. Measured with {@code iris bench catchup --set
   * mqtt.catchup.threads=1} (every log read follows the last on one consumer): 60 deltas from the
   * log for devices back to back took 151 ms, 10 ms with this setting; a new device's 600 from the
   * log 645 ms, 95 ms with it.
   */
  static Properties readerProperties(KafkaClients kafka, String clientId) {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 0);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    return p;
  }

  @Override
  public void close() {
    pool.shutdown();
    try {
      pool.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pool.shutdownNow();
    readers.values().forEach(c -> c.close(Duration.ofSeconds(2)));
    readers.clear();
  }
}
