package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.bench.PairedStats.Cluster;
import io.iris.bench.PairedStats.Summary;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PairedStatsTest {

  @Test
  void shouldCountSendsFailuresAndSessionsAsGiven() {
    List<Cluster> clusters =
        List.of(
            new Cluster(0, 4, 1, 2),
            new Cluster(0, 3, 0, 3),
            new Cluster(1, 5, 0, 0),
            new Cluster(1, 0, 0, 0), // a conversation cut before the person sent: no session
            new Cluster(2, 8, 2, 3));
    Summary s = PairedStats.of(clusters, 500, 1);
    assertEquals(3, s.pairs());
    assertEquals(5, s.clusters());
    assertEquals(3, s.failingClusters());
    assertEquals(20, s.sends());
    assertEquals(3, s.failedA());
    assertEquals(8, s.failedB());
    assertEquals(4, s.sessions());
    assertEquals(2, s.sessionsFailedA());
    assertEquals(3, s.sessionsFailedB());
    assertEquals(3 / 20.0, s.rateA().estimate(), 1e-12);
    assertEquals(8 / 20.0, s.rateB().estimate(), 1e-12);
    assertEquals(3 / 8.0, s.ratio().estimate(), 1e-12);
    assertEquals(2 / 4.0, s.sessionShareA().estimate(), 1e-12);
    assertEquals(2 / 3.0, s.sessionRatio().estimate(), 1e-12);
  }

  @Test
  void theSameSeedGivesTheSameIntervals() {
    List<Cluster> clusters = simulated(new Random(5), 6, 4, 6, 0.05, 0.1);
    assertEquals(PairedStats.of(clusters, 2000, 42), PairedStats.of(clusters, 2000, 42));
    assertNotEquals(
        PairedStats.of(clusters, 2000, 42).ratio(), PairedStats.of(clusters, 2000, 43).ratio());
  }

  @Test
  void failuresBunchedByOutageGiveAWiderIntervalThanTheSameCountScattered() {
    // 10 pairs of 5 conversations of 10 sends; B fails 10 sends in each of 4 pairs. Bunched: all
    // 10 in one conversation (one outage); scattered: 2 in each of the pair's conversations.
    List<Cluster> bunched = new ArrayList<>();
    List<Cluster> scattered = new ArrayList<>();
    for (int p = 0; p < 10; p++) {
      for (int c = 0; c < 5; c++) {
        boolean hit = p < 4;
        bunched.add(new Cluster(p, 10, 0, hit && c == 0 ? 10 : 0));
        scattered.add(new Cluster(p, 10, 0, hit ? 2 : 0));
      }
    }
    Summary b = PairedStats.of(bunched, 4000, 7);
    Summary s = PairedStats.of(scattered, 4000, 7);
    assertEquals(b.rateB().estimate(), s.rateB().estimate(), 1e-12);
    double wideB = b.rateB().high() - b.rateB().low();
    double wideS = s.rateB().high() - s.rateB().low();
    assertTrue(wideB > 1.3 * wideS, "bunched " + wideB + " vs scattered " + wideS);
  }

  @Test
  void aRatioWithoutFailuresOfBIsInfiniteOrUndefined() {
    Summary onlyA =
        PairedStats.of(List.of(new Cluster(0, 5, 1, 0), new Cluster(1, 5, 0, 0)), 200, 1);
    assertEquals(Double.POSITIVE_INFINITY, onlyA.ratio().estimate());
    assertEquals(Double.POSITIVE_INFINITY, onlyA.ratio().high());
    Summary none =
        PairedStats.of(List.of(new Cluster(0, 5, 0, 0), new Cluster(1, 5, 0, 0)), 200, 1);
    assertTrue(Double.isNaN(none.ratio().estimate()));
    assertEquals(200, none.ratio().undefined());
    assertTrue(Double.isNaN(none.ratio().high()));
  }

  @Test
  void quantilesInterpolateAsRsDefault() {
    double[] v = {1, 2, 3, 4, 5};
    assertEquals(3, PairedStats.quantile(v, 0.5), 1e-12);
    assertEquals(4.9, PairedStats.quantile(v, 0.975), 1e-12);
    assertEquals(1.1, PairedStats.quantile(v, 0.025), 1e-12);
    assertEquals(
        Double.POSITIVE_INFINITY,
        PairedStats.quantile(new double[] {1, 2, Double.POSITIVE_INFINITY}, 0.975));
  }

  @Test
  void theRatioIntervalCoversTheTrueRatioMostOfTheTime() {
    // A fails each send with 5%, B with 10%, independently: the true ratio is 0.5. With 8 pairs of
    // 5 conversations of 6 sends, a 95% interval should cover it in most of 100 simulated
    // experiments (resampling at both stages errs on the wide side).
    Random random = new Random(11);
    int covered = 0;
    int trials = 100;
    for (int t = 0; t < trials; t++) {
      Summary s = PairedStats.of(simulated(random, 8, 5, 6, 0.05, 0.10), 1000, t);
      if (s.ratio().low() <= 0.5 && 0.5 <= s.ratio().high()) {
        covered++;
      }
    }
    assertTrue(covered >= 88, covered + " of " + trials + " intervals covered 0.5");
  }

  private static List<Cluster> simulated(
      Random random, int pairs, int conversations, int sends, double pA, double pB) {
    List<Cluster> out = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      for (int c = 0; c < conversations; c++) {
        int a = 0;
        int b = 0;
        for (int i = 0; i < sends; i++) {
          a += random.nextDouble() < pA ? 1 : 0;
          b += random.nextDouble() < pB ? 1 : 0;
        }
        out.add(new Cluster(p, sends, a, b));
      }
    }
    return out;
  }
}
