package io.iris.streams;

/**
 * Tells a streams instance that has stopped committing while commands wait for it from one that is
 * idle or busy. Under exactly-once a task's work becomes visible only when its transaction commits;
 * a thread whose transaction hangs at the coordinator stays RUNNING and alive, so neither the state
 * nor the thread's life shows it. (What prompted it, on a three-broker cluster after two brokers
 * were killed, turned out to be a crawl, not a hang: commits kept coming, slowly.) Fed a sample at
 * each health check: the instance's commits so far (Kafka Streams' {@code commit-total}, summed
 * over threads) and how many records its main consumers have still to read ({@code
 * records-lag-max}). It is stalled when commands wait and no commit has been made for {@code
 * timeoutMs}.
 */
public final class CommitStall {
  private final long timeoutMs;
  private double commits = -1;
  private long progressAtMs = Long.MIN_VALUE;

  public CommitStall(long timeoutMs) {
    this.timeoutMs = timeoutMs;
  }

  /**
   * @param nowMs the time of the sample
   * @param commits commits made so far
   * @param lag records waiting in the input topics' partitions this instance reads (0 or less:
   *     none, or not known yet)
   * @return null when the instance is not stalled; else why it is, for /health
   */
  public synchronized String check(long nowMs, double commits, double lag) {
    if (progressAtMs == Long.MIN_VALUE || commits > this.commits || !(lag > 0)) {
      progressAtMs = nowMs;
    }
    this.commits = Math.max(this.commits, commits);
    long stalledMs = nowMs - progressAtMs;
    if (stalledMs < timeoutMs) {
      return null;
    }
    return String.format(
        "stalled: no commit for %d s while %.0f commands wait (a transaction may hang at its"
            + " coordinator; restart this instance, and see kafka-transactions --describe)",
        stalledMs / 1000, lag);
  }
}
