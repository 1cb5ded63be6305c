package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.iris.bench.MobileLink.Outage;
import io.iris.bench.MobileLink.Schedule;
import io.iris.bench.SessionBenchmark.LinkPhone;
import io.iris.bench.SessionBenchmark.Send;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResultsBenchmarkTest {
  private static final Schedule OUTAGES =
      Schedule.of(
          new Outage(Outage.Kind.NETWORK_CHANGE, 100_000, 5_000),
          new Outage(Outage.Kind.FADE, 200_000, 3_000),
          new Outage(Outage.Kind.NAT_DEATH, 300_000, 0),
          new Outage(Outage.Kind.NETWORK_CHANGE, 500_000, 5_000));

  @Test
  void aFailedSendIsPutDownToTheOutageItFellIn() {
    assertEquals(0, ResultsBenchmark.cause(OUTAGES, 92_000, 10_000), "change within its 10 s");
    assertEquals(0, ResultsBenchmark.cause(OUTAGES, 109_000, 10_000), "change in the 5 s before");
    assertEquals(3, ResultsBenchmark.cause(OUTAGES, 111_000, 10_000), "long after the change");
    assertEquals(1, ResultsBenchmark.cause(OUTAGES, 195_000, 10_000), "fade");
    assertEquals(2, ResultsBenchmark.cause(OUTAGES, 400_000, 10_000), "NAT death earlier");
    assertEquals(3, ResultsBenchmark.cause(OUTAGES, 600_000, 10_000), "reset since the NAT death");
    assertEquals(3, ResultsBenchmark.cause(OUTAGES, 50_000, 10_000), "nothing near");
  }

  @Test
  void clustersAreConversationsOfAPairWithBothPhonesFailures() {
    SessionBenchmark.LinkPair pair =
        new SessionBenchmark.LinkPair(
            MobileLink.Profile.byName("2G-DevelopingUrban"), 1, 7, 15, 10_000);
    List<Send> push = List.of(new Send(0, 1, 900), new Send(0, 2, -1), new Send(2, 3, 800));
    List<Send> pull = List.of(new Send(0, 1, -1), new Send(0, 2, -1), new Send(2, 3, -1));
    SessionBenchmark.PairResult r =
        new SessionBenchmark.PairResult(
            pair, OUTAGES, 60_000, phone(push), phone(pull), phone(push));
    assertEquals(
        List.of(
            new PairedStats.Cluster(0, 2, 1, 2),
            new PairedStats.Cluster(0, 1, 0, 1),
            new PairedStats.Cluster(1, 2, 1, 2),
            new PairedStats.Cluster(1, 1, 0, 1)),
        ResultsBenchmark.clusters(List.of(r, r), SessionBenchmark.PairResult::pull));
  }

  @Test
  void ratiosPrintInfinityAndNoFailure() {
    assertEquals(
        "0.50 (95% 0.20–∞)",
        ResultsBenchmark.ratio(new PairedStats.Interval(0.5, 0.2, Double.POSITIVE_INFINITY, 0)));
    assertEquals(
        "- (no failure either side)",
        ResultsBenchmark.ratio(new PairedStats.Interval(Double.NaN, Double.NaN, Double.NaN, 9)));
  }

  private static LinkPhone phone(List<Send> sends) {
    return new LinkPhone(
        "x",
        sends,
        0,
        0,
        0,
        0,
        new SessionBenchmark.LinkCounters(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  }
}
