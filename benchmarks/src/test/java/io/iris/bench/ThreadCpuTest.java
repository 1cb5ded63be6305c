package io.iris.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
  // A real line of /proc/<pid>/task/<tid>/stat, with a name that holds a space and a parenthesis.
  private static final String STAT =
      "4242 (C2 CompilerThre) S 4200 4200 1 0 -1 4194368 812 0 0 0 1234 56 0 0 20 0 40 0"
          + " 1853712 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 -1 1 0 0 0 0 0";

  @Test
  void readsNameAndUserPlusSystemTicks() {
    assertEquals("C2 CompilerThre", ThreadCpu.comm(STAT));
    assertEquals(1234 + 56, ThreadCpu.ticks(STAT));
    String odd = STAT.replace("(C2 CompilerThre)", "(a) b (c)");
    assertEquals("a) b (c", ThreadCpu.comm(odd));
    assertEquals(1290, ThreadCpu.ticks(odd));
  }

  @Test
  void machineBusyIsAllButIdleAndIowait() {
    String procStat = "cpu  100 5 30 9000 70 2 3 1 40 0\ncpu0 50 2 15 4500 35 1 1 0 20 0\nintr 1\n";
    assertEquals(100 + 5 + 30 + 2 + 3 + 1, ThreadCpu.machineBusyTicks(procStat));
  }

  @Test
  void foldsIdsAndNumbersOfJavaThreads() {
    assertEquals(
        "iris-streams-<id>-StreamThread-N",
        ThreadCpu.javaGroup("iris-streams-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-StreamThread-1"));
    assertEquals(
        "data-plane-kafka-request-handler-N",
        ThreadCpu.javaGroup("data-plane-kafka-request-handler-7"));
  }

  @Test
  void namesOnlyTheNativeThreadsTheThreadBeanDoesNotSee() {
    assertEquals("(JVM) garbage collector", ThreadCpu.nativeGroup("GC Thread#1"));
    assertEquals("(JVM) garbage collector", ThreadCpu.nativeGroup("G1 Conc#0"));
    assertEquals("(JVM) JIT compilers", ThreadCpu.nativeGroup("C1 CompilerThre"));
    assertEquals("(RocksDB) background threads", ThreadCpu.nativeGroup("rocksdb:low"));
    assertNull(ThreadCpu.nativeGroup("iris-streams-0f"));
  }

  @Test
  void rowsAreDifferencesSortedAndSmallOnesLeftOut() {
    Map<String, Long> before = Map.of(ThreadCpu.PROCESS, 0L, "a", 1_000_000_000L, "b", 0L);
    Map<String, Long> after =
        Map.of(
            ThreadCpu.PROCESS,
            10_000_000_000L,
            "a",
            3_000_000_000L,
            "b",
            5_000_000_000L,
            "tiny",
            50_000_000L);
    List<ThreadCpu.Row> rows = ThreadCpu.between(before, after, 5_000_000_000L, 0.01);
    assertEquals(
        List.of(ThreadCpu.PROCESS, "b", "a"), rows.stream().map(ThreadCpu.Row::group).toList());
    assertEquals(1.0, rows.get(1).cores(), 1e-9);
    assertEquals(2.0, rows.get(2).cpuSeconds(), 1e-9);
  }

  @Test
  void snapshotCountsThisThreadsWork() {
    long spin = 0;
    for (long i = 0; i < 50_000_000L; i++) {
      spin += i ^ spin;
    }
    Map<String, Long> cpu = ThreadCpu.snapshot();
    assertTrue(
        cpu.getOrDefault(ThreadCpu.javaGroup(Thread.currentThread().getName()), 0L) > 0,
        "no CPU for this thread in " + cpu + " " + spin);
  }
}
