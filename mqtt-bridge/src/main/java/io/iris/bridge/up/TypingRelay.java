package io.iris.bridge.up;

import io.iris.protocol.DeviceTopics;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ServerFrame;
import io.iris.protocol.thrift.ServerFrameBody;
import io.iris.protocol.thrift.TypingEvent;
import io.iris.storage.DeltaHistory;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * Typing indicators, device to device: never stored, never in Kafka. The sender must be a member of
 * the thread (as MySQL's thread table has it, cached for {@code cacheMillis}); the event goes at
 * QoS 0 to the connected devices of the other members. Lost events are fine by design: the next
 * keystroke sends another.
 */
public final class TypingRelay {
  /** Publishes a frame to a device at QoS 0. */
  @FunctionalInterface
  public interface Sender {
    void send(DeviceTopics.DeviceId device, byte[] frame);
  }

  /** Who may type in a thread, as storage has it ({@link DeltaHistory} in production). */
  @FunctionalInterface
  interface Membership {
    /** The thread's members if {@code userId} is one of them, otherwise an empty list. */
    List<Long> membersIfMember(long userId, long threadId) throws SQLException;
  }

  private record Members(List<Long> ids, long atMillis) {}

  private final Membership history;
  private final LongFunction<Set<DeviceTopics.DeviceId>> devicesOf;
  private final Sender sender;
  private final long cacheMillis;
  private final FrameCodec codec = FrameCodec.defaults();
  private final Map<String, Members> cache = new ConcurrentHashMap<>();
  private final AtomicLong relayed = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final LongSupplier currentTimeMillis;

  public TypingRelay(
      DeltaHistory history,
      LongFunction<Set<DeviceTopics.DeviceId>> devicesOf,
      Sender sender,
      long cacheMillis) {
    this(
        (userId, threadId) -> history.membersIfMember(userId, threadId),
        devicesOf,
        sender,
        cacheMillis,
        System::currentTimeMillis);
  }

  /** A relay asking {@code membership} and reading time from {@code currentTimeMillis}. */
  TypingRelay(
      Membership membership,
      LongFunction<Set<DeviceTopics.DeviceId>> devicesOf,
      Sender sender,
      long cacheMillis,
      LongSupplier currentTimeMillis) {
    this.history = membership;
    this.devicesOf = devicesOf;
    this.sender = sender;
    this.cacheMillis = cacheMillis;
    this.currentTimeMillis = currentTimeMillis;
  }

  /** Events delivered to devices since start. */
  public long relayed() {
    return relayed.get();
  }

  /** Typing commands refused: the sender is not a member of the thread (or it is unknown). */
  public long refused() {
    return refused.get();
  }

  /** Relays; false when the sender may not type in the thread. */
  public boolean relay(DeviceTopics.DeviceId from, long threadId, boolean typing)
      throws SQLException {
    List<Long> members = members(from.userId(), threadId);
    if (!members.contains(from.userId())) {
      refused.incrementAndGet();
      return false;
    }
    byte[] frame =
        codec.encode(
            new ServerFrame(
                ServerFrameBody.typing(new TypingEvent(threadId, from.userId(), typing))));
    for (long member : members) {
      if (member == from.userId()) {
        continue;
      }
      Set<DeviceTopics.DeviceId> devices = devicesOf.apply(member);
      if (devices != null) {
        for (DeviceTopics.DeviceId d : devices) {
          sender.send(d, frame);
          relayed.incrementAndGet();
        }
      }
    }
    return true;
  }

  private List<Long> members(long userId, long threadId) throws SQLException {
    // Per (user, thread): membership as this user's stored deltas leave it.
    String key = userId + ":" + threadId;
    Members m = cache.get(key);
    long now = currentTimeMillis.getAsLong();
    if (m == null || now - m.atMillis() > cacheMillis) {
      if (cache.size() > 100_000) {
        cache.clear();
      }
      m = new Members(history.membersIfMember(userId, threadId), now);
      if (!m.ids().isEmpty()) {
        cache.put(key, m); // a refusal is not cached: the thread may just not be stored yet
      }
    }
    return m.ids();
  }
}
