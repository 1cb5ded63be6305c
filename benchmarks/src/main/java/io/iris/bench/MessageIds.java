package io.iris.bench;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The message ids the pipeline gave to the benchmark's scripted senders, learnt as a device would:
 * from each sender's own {@code NewMessage} deltas in iris.log, which carry the send's client id.
 * An edit or a reaction names a message by its id, and the three copies of a thread the phones live
 * number their messages apart (a send that failed on one phone took no id there).
 */
final class MessageIds implements AutoCloseable {
  private final Map<String, Long> ids = new ConcurrentHashMap<>();
  private final LogTail log;

  /** Reads iris.log from its end on, for the deltas of {@code senders}. */
  MessageIds(String bootstrap, Set<Long> senders) {
    log =
        new LogTail(
            bootstrap,
            senders,
            false,
            "bench-message-ids",
            d -> {
              if (d.getBody().isSetNewMessage() && d.getBody().getNewMessage().isSetClientId()) {
                ids.put(
                    d.getBody().getNewMessage().getClientId(),
                    d.getBody().getNewMessage().getMessageId());
              }
            });
  }

  /** The id of the message sent with {@code clientId}, waiting up to {@code wait}; 0 if unknown. */
  long await(String clientId, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    Long id;
    while ((id = ids.get(clientId)) == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return id == null ? 0 : id;
  }

  @Override
  public void close() {
    log.close();
  }
}
