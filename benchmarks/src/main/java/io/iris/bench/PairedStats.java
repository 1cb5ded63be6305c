package io.iris.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Send failures of two phones (A: push, B: pull) measured in paired runs, with 95% intervals from a
 * two-stage cluster bootstrap.
 *
 * <p>Failures are not independent sends: one outage fails every send near it, so counting sends as
 * independent trials (a binomial or Wilson interval) makes intervals too narrow. The unit here is
 * the <i>cluster</i>: one conversation of one pair, a burst of sends separated from the next by
 * idle minutes, in which both phones saw the same outages at the same moments. Pairs run on
 * independent seeds. A bootstrap replicate draws the pairs with replacement, then within each drawn
 * pair its clusters with replacement (resampling at both stages: wider than resampling pairs alone
 * when there are many pairs, but still informative with the few pairs a 2-core machine can run),
 * and computes every statistic on the same draw, so the ratio keeps the pairing. Intervals are the
 * 2.5th and 97.5th percentiles of the replicates.
 *
 * <p>A ratio whose replicate has no failure of B is infinite when A has some (kept: it pushes the
 * upper bound up) and undefined when neither has (dropped; {@link Interval#undefined()} counts
 * them).
 */
final class PairedStats {

  /**
   * One conversation of one pair: sends (the same for both phones) and how many of them failed on
   * each.
   */
  record Cluster(int pair, int sends, int failedA, int failedB) {
    Cluster {
      if (sends < 0 || failedA < 0 || failedB < 0 || failedA > sends || failedB > sends) {
        throw new IllegalArgumentException("0 <= failed <= sends");
      }
    }
  }

  /** A point estimate and its 95% interval; {@code undefined} replicates were dropped. */
  record Interval(double estimate, double low, double high, int undefined) {}

  /**
   * @param failedA failed sends of A in all pairs
   * @param sessions clusters with at least one send (each is a session of the person)
   * @param sessionsFailedA sessions in which at least one send of A failed
   * @param rateA A's share of sends that failed
   * @param ratio A's failures over B's, per send (the phones have the same sends)
   * @param sessionShareA A's share of sessions with at least one failed send
   * @param sessionRatio A's share of such sessions over B's
   * @param failingClusters clusters with a failure of A or B: when they are few (below {@link
   *     #MIN_FAILING_CLUSTERS}) every replicate draws the same few, and an interval says little
   */
  record Summary(
      int pairs,
      int clusters,
      int failingClusters,
      long sends,
      long failedA,
      long failedB,
      long sessions,
      long sessionsFailedA,
      long sessionsFailedB,
      Interval rateA,
      Interval rateB,
      Interval ratio,
      Interval sessionShareA,
      Interval sessionShareB,
      Interval sessionRatio) {}

  static final int REPLICATES = 10_000;

  /** Fewer clusters with a failure than this, and the intervals are not worth reporting. */
  static final int MIN_FAILING_CLUSTERS = 5;

  private PairedStats() {}

  static Summary of(List<Cluster> clusters, long seed) {
    return of(clusters, REPLICATES, seed);
  }

  /** The statistics of these clusters, bootstrapped {@code replicates} times from {@code seed}. */
  static Summary of(List<Cluster> clusters, int replicates, long seed) {
    Map<Integer, List<Cluster>> byPair = new LinkedHashMap<>();
    for (Cluster c : clusters) {
      byPair.computeIfAbsent(c.pair(), k -> new ArrayList<>()).add(c);
    }
    List<List<Cluster>> pairs = new ArrayList<>(byPair.values());
    Sums all = new Sums();
    clusters.forEach(all::add);
    double[][] draws = new double[6][replicates];
    Random random = new Random(seed);
    for (int r = 0; r < replicates; r++) {
      Sums s = new Sums();
      for (int p = 0; p < pairs.size(); p++) {
        List<Cluster> pair = pairs.get(random.nextInt(pairs.size()));
        for (int c = 0; c < pair.size(); c++) {
          s.add(pair.get(random.nextInt(pair.size())));
        }
      }
      double[] v = s.values();
      for (int i = 0; i < v.length; i++) {
        draws[i][r] = v[i];
      }
    }
    double[] point = all.values();
    Interval[] intervals = new Interval[6];
    for (int i = 0; i < 6; i++) {
      intervals[i] = interval(point[i], draws[i]);
    }
    return new Summary(
        pairs.size(),
        clusters.size(),
        (int) clusters.stream().filter(c -> c.failedA() + c.failedB() > 0).count(),
        all.sends,
        all.failedA,
        all.failedB,
        all.sessions,
        all.sessionsA,
        all.sessionsB,
        intervals[0],
        intervals[1],
        intervals[2],
        intervals[3],
        intervals[4],
        intervals[5]);
  }

  /** The percentile interval of the defined draws. */
  static Interval interval(double estimate, double[] draws) {
    double[] defined = Arrays.stream(draws).filter(d -> !Double.isNaN(d)).sorted().toArray();
    int undefined = draws.length - defined.length;
    if (defined.length == 0) {
      return new Interval(estimate, Double.NaN, Double.NaN, undefined);
    }
    return new Interval(estimate, quantile(defined, 0.025), quantile(defined, 0.975), undefined);
  }

  /** The {@code q} quantile of sorted values, linearly interpolated (type 7, as R's default). */
  static double quantile(double[] sorted, double q) {
    double h = (sorted.length - 1) * q;
    int lo = (int) Math.floor(h);
    int hi = Math.min(sorted.length - 1, lo + 1);
    if (Double.isInfinite(sorted[hi]) || sorted[lo] == sorted[hi]) {
      return sorted[h - lo > 0 ? hi : lo];
    }
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }

  /** A over B: infinite when only B is 0, undefined when both are. */
  static double ratio(double a, double b) {
    if (b == 0) {
      return a == 0 ? Double.NaN : Double.POSITIVE_INFINITY;
    }
    return a / b;
  }

  private static final class Sums {
    long sends;
    long failedA;
    long failedB;
    long sessions;
    long sessionsA;
    long sessionsB;

    void add(Cluster c) {
      sends += c.sends();
      failedA += c.failedA();
      failedB += c.failedB();
      if (c.sends() > 0) {
        sessions++;
        sessionsA += c.failedA() > 0 ? 1 : 0;
        sessionsB += c.failedB() > 0 ? 1 : 0;
      }
    }

    /** Rate A, rate B, ratio, session share A, session share B, session ratio. */
    double[] values() {
      return new double[] {
        sends == 0 ? Double.NaN : failedA / (double) sends,
        sends == 0 ? Double.NaN : failedB / (double) sends,
        ratio(failedA, failedB),
        sessions == 0 ? Double.NaN : sessionsA / (double) sessions,
        sessions == 0 ? Double.NaN : sessionsB / (double) sessions,
        ratio(sessionsA, sessionsB)
      };
    }
  }
}
