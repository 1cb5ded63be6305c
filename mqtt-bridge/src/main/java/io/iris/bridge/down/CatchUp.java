package io.iris.bridge.down;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.edge.DeviceSender;
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
import java.util.ArrayList;
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
 * threads, on a small pool. A range is read from the cheapest tier that holds its first seq:
 *
 * <ol>
 *   <li>{@link CatchUpTier#MEMORY}: the newest deltas per user kept by {@link UserLogs};
 *   <li>{@link CatchUpTier#LOG}: iris.log itself, from the user's last offset bookmark at or before
 *       the first missing seq, skipping ahead to later bookmarks while reading;
 *   <li>{@link CatchUpTier#STORAGE}: MySQL, for what the log no longer holds.
 * </ol>
 *
 * One answer carries at most one page; the device asks again after the last seq it got while that
 * is below the head. A device further behind than {@code resnapshotAfterDeltas} is answered with
 * {@link ResnapshotRequired} stating both costs, unless it asked with {@code force}.
 */
public final class CatchUp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CatchUp.class);

  /**
   * @param threads catch-up and snapshot requests served at once
   * @param queue requests waiting beyond that before new ones are refused (RATE_LIMITED)
   * @param maxDeltasPerAnswer cap on a page, whatever the device asks
   * @param resnapshotAfterDeltas a device further behind is offered a snapshot first
   */
  public record Settings(
      int threads, int queue, int maxDeltasPerAnswer, long resnapshotAfterDeltas) {}

  /** The storage tier's deltas, as catch-up reads them ({@link DeltaHistory} in production). */
  interface StoredDeltas {
    List<Delta> range(long userId, long afterSeq, long toSeq, int limit) throws SQLException;

    long maxSeq(long userId) throws SQLException;
  }

  /** Inbox snapshots, as catch-up takes them ({@link SnapshotService} in production). */
  @FunctionalInterface
  interface Snapshots {
    Snapshot snapshot(long userId, int maxThreads, int messagesPerThread) throws SQLException;
  }

  private final Supplier<? extends Consumer<Long, byte[]>> newReader;
  private final UserLogs logs;
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
      DeltaHistory history,
      SnapshotService snapshots,
      Settings settings,
      DeviceSender replier) {
    this(
        logs,
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
      StoredDeltas history,
      Snapshots snapshots,
      Settings settings,
      DeviceSender replier,
      Supplier<? extends Consumer<Long, byte[]>> newReader) {
    this.newReader = newReader;
    this.logs = logs;
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
      public List<Delta> range(long userId, long afterSeq, long toSeq, int limit)
          throws SQLException {
        return history.range(userId, afterSeq, toSeq, limit);
      }

      @Override
      public long maxSeq(long userId) throws SQLException {
        return history.maxSeq(userId);
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
   * resnapshot-required, snapshots, unavailable, rate-limited.
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
    submit(device, requestId, () -> answerSync(device.userId(), request));
  }

  /** Answers a SnapshotRequest of {@code device} from MySQL. */
  public void snapshot(DeviceTopics.DeviceId device, String requestId, SnapshotRequest request) {
    submit(
        device,
        requestId,
        () -> {
          Snapshot s =
              snapshots.snapshot(
                  device.userId(),
                  clamp(request.getMaxThreads(), 1, 200),
                  clamp(request.getMessagesPerThread(), 1, 200));
          count("snapshots", 1);
          return new ServerFrame(ServerFrameBody.snapshot(s));
        });
  }

  private interface Answer {
    ServerFrame get() throws Exception;
  }

  private void submit(DeviceTopics.DeviceId device, String requestId, Answer answer) {
    try {
      pool.execute(
          () -> {
            ServerFrame frame;
            try {
              frame = answer.get();
            } catch (SQLException e) {
              count("unavailable", 1);
              log.warn(
                  "Catch-up for {} failed, MySQL unavailable: {}", device.clientId(), e.toString());
              frame = error(ErrorCode.UNAVAILABLE, "storage unavailable, retry with backoff");
            } catch (Exception e) {
              count("unavailable", 1);
              log.warn("Catch-up for {} failed", device.clientId(), e);
              frame = error(ErrorCode.UNAVAILABLE, "catch-up failed, retry with backoff");
            }
            frame.setRequestId(requestId);
            replier.send(device, codec.encode(frame));
          });
    } catch (RejectedExecutionException e) {
      count("rate-limited", 1);
      ServerFrame f =
          error(ErrorCode.RATE_LIMITED, "too many catch-up requests, retry after a pause");
      f.setRequestId(requestId);
      replier.send(device, codec.encode(f));
    }
  }

  private static ServerFrame error(ErrorCode code, String message) {
    return new ServerFrame(ServerFrameBody.error(new ServerError(code, message)));
  }

  ServerFrame answerSync(long user, SyncRequest r) throws SQLException {
    long after = Math.max(0, r.getAfterSeq());
    long to = r.getToSeq() > 0 ? r.getToSeq() : 0;
    int max = clamp(r.getMaxDeltas(), 1, settings.maxDeltasPerAnswer());
    long head = logs.head(user);
    if (head >= 0 && !logs.headExact(user)) {
      head = trueHead(user, head);
    } else if (head < 0 && history != null) {
      head = history.maxSeq(user); // not seen by this bridge yet: what storage holds
    }
    if (head >= 0 && after >= head || (to > 0 && to <= after)) {
      return batch(List.of(), head, CatchUpTier.MEMORY);
    }
    if (!r.isForce() && to == 0 && head - after > settings.resnapshotAfterDeltas()) {
      return resnapshot(user, after, head);
    }
    UserLogs.Recent recent = logs.recent(user, after, to, max);
    if (recent != null) {
      List<Delta> out = decode(recent.frames());
      count("sync-memory", 1);
      count("deltas-memory", out.size());
      return batch(out, head, CatchUpTier.MEMORY);
    }
    UserLogs.Bookmark b = logs.bookmarkAtOrBefore(user, after + 1);
    if (b != null) {
      List<Delta> out = readLog(user, b, after, to, max);
      if (out != null) {
        count("sync-log", 1);
        count("deltas-log", out.size());
        return batch(out, Math.max(head, last(out)), CatchUpTier.LOG);
      }
    }
    if (history == null) {
      return resnapshot(user, after, head);
    }
    List<Delta> out = history.range(user, after, to, max);
    count("sync-storage", 1);
    count("deltas-storage", out.size());
    return batch(out, Math.max(head, last(out)), CatchUpTier.STORAGE);
  }

  /**
   * The user's true head when this bridge only knows a lower bound (bookmarks restored after a
   * restart; the deltas after the last bookmark were read by an earlier incarnation and lie before
   * where the push path resumed): reads the user's partition from the last bookmark to its end,
   * else asks storage. Never answers with a head it is not sure of.
   *
   * @throws IllegalStateException when neither can tell in time (the device is answered UNAVAILABLE
   *     and asks again)
   */
  private long trueHead(long user, long lowerBound) throws SQLException {
    UserLogs.Bookmark last = logs.bookmarkAtOrBefore(user, Long.MAX_VALUE);
    long found = last == null ? -1 : headFromLog(user, last);
    if (found < 0 && history != null) {
      found = history.maxSeq(user); // the log no longer holds the bookmark: storage does
    }
    if (found < 0 && history == null && last != null && last.seq() == lowerBound) {
      return lowerBound; // no storage tier (tests, tools): nothing better to ask; not confirmed
    }
    if (found < 0) {
      throw new IllegalStateException(
          "the head of user " + user + " is unknown here (restored bookmark " + lowerBound + ")");
    }
    long head = Math.max(lowerBound, found);
    logs.confirmHead(user, head);
    count("head-confirmed", 1);
    return head;
  }

  /**
   * The highest seq of {@code user} from bookmark {@code b} to the end of its partition, or -1 when
   * the log no longer holds the bookmark or the end was not reached within 10 s.
   */
  private long headFromLog(long user, UserLogs.Bookmark b) {
    Consumer<Long, byte[]> c = threadsReader();
    TopicPartition tp = new TopicPartition(Topics.LOG.name(), b.partition());
    long end = seekToBookmark(c, tp, b);
    if (end < 0) {
      return -1;
    }
    long head = b.seq();
    long read = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (c.position(tp) < end) {
      if (System.nanoTime() > deadline) {
        count("log-records-read", read);
        return -1;
      }
      for (ConsumerRecord<Long, byte[]> rec : c.poll(Duration.ofMillis(200))) {
        read++;
        if (rec.key() != null && rec.key() == user) {
          try {
            head = Math.max(head, codec.decode(rec.value(), Delta::new).getSeq());
          } catch (FrameException e) {
            // not a delta: skipped, as the push path does
          }
        }
      }
    }
    count("log-records-read", read);
    return head;
  }

  private static long last(List<Delta> out) {
    return out.isEmpty() ? -1 : out.get(out.size() - 1).getSeq();
  }

  private ServerFrame batch(List<Delta> deltas, long head, CatchUpTier tier) {
    return new ServerFrame(
        ServerFrameBody.deltas(new DeltaBatch(deltas, Math.max(head, 0)).setTier(tier)));
  }

  private ServerFrame resnapshot(long user, long after, long head) throws SQLException {
    count("resnapshot-required", 1);
    long snapshotBytes = -1;
    if (snapshots != null) {
      snapshotBytes =
          codec.encode(new ServerFrame(ServerFrameBody.snapshot(snapshots.snapshot(user, 20, 20))))
              .length;
    }
    long deltas = head >= after ? head - after : -1;
    long bytes = deltas < 0 ? -1 : Math.round(deltas * Math.max(1, logs.averageDeltaBytes()));
    return new ServerFrame(
        ServerFrameBody.resnapshotRequired(
            new ResnapshotRequired(after, head, deltas, bytes, snapshotBytes)));
  }

  /** This catch-up thread's reader of iris.log (one per pool thread, closed with the pool). */
  private Consumer<Long, byte[]> threadsReader() {
    return readers.computeIfAbsent(Thread.currentThread(), t -> newReader.get());
  }

  /**
   * Assigns {@code tp} alone and seeks to the bookmark's offset; returns the partition's end (the
   * last stable offset, read_committed), or -1 when retention has passed the bookmark.
   */
  private static long seekToBookmark(
      Consumer<Long, byte[]> c, TopicPartition tp, UserLogs.Bookmark b) {
    List<TopicPartition> tps = List.of(tp);
    c.assign(tps);
    if (b.offset() < c.beginningOffsets(tps).get(tp)) {
      return -1;
    }
    long end = c.endOffsets(tps).get(tp);
    c.seek(tp, b.offset());
    return end;
  }

  /**
   * Tier 2: the user's deltas after {@code after} from the bookmarked partition; null when the log
   * no longer holds the bookmark's offset (retention passed it).
   */
  private List<Delta> readLog(long user, UserLogs.Bookmark b, long after, long to, int max) {
    Consumer<Long, byte[]> c = threadsReader();
    TopicPartition tp = new TopicPartition(Topics.LOG.name(), b.partition());
    long end = seekToBookmark(c, tp, b);
    if (end < 0) {
      return null;
    }
    List<Delta> out = new ArrayList<>();
    long read = 0;
    long next = after + 1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (out.size() < max && c.position(tp) < end && System.nanoTime() < deadline) {
      for (ConsumerRecord<Long, byte[]> rec : c.poll(Duration.ofMillis(200))) {
        read++;
        if (rec.key() == null || rec.key() != user) {
          continue;
        }
        Delta d;
        try {
          d = codec.decode(rec.value(), Delta::new);
        } catch (FrameException e) {
          continue;
        }
        if (d.getSeq() < next) {
          continue;
        }
        if ((to > 0 && d.getSeq() > to) || out.size() >= max) {
          break;
        }
        out.add(d);
        next = d.getSeq() + 1;
      }
      if (out.size() >= max || (to > 0 && next > to)) {
        break;
      }
      // Skip other users' records: jump to the last bookmark at or before the next missing seq.
      UserLogs.Bookmark ahead = logs.bookmarkAtOrBefore(user, next);
      if (ahead != null && ahead.partition() == b.partition() && ahead.offset() > c.position(tp)) {
        c.seek(tp, ahead.offset());
      }
    }
    count("log-records-read", read);
    return out;
  }

  private static KafkaConsumer<Long, byte[]> reader(KafkaClients kafka) {
    Properties p = kafka.properties();
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "iris-catch-up-" + Thread.currentThread().getName());
    return new KafkaConsumer<>(p, new LongDeserializer(), new ByteArrayDeserializer());
  }

  private List<Delta> decode(List<byte[]> frames) {
    List<Delta> out = new ArrayList<>(frames.size());
    for (byte[] f : frames) {
      out.add(codec.decode(f, Delta::new));
    }
    return out;
  }

  private static int clamp(int v, int lo, int hi) {
    return Math.max(lo, Math.min(hi, v));
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
