package io.iris.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time of this JVM's threads, grouped by role, for "where did the cores go" during a run: Java
 * threads by name from the ThreadMXBean (numbers and ids folded, so the broker's eight request
 * handlers are one group), and the JVM's and RocksDB's own native threads (GC, JIT compilers,
 * RocksDB compactions), which the ThreadMXBean does not show, from {@code /proc/self/task} on
 * Linux. A thread that ends between two snapshots loses its time; the process total does not.
 */
final class ThreadCpu {
  /** The group that holds the whole process's CPU time (user + system), from /proc/self/stat. */
  static final String PROCESS = "(whole process)";

  /**
   * The group that holds the busy time of the whole machine, every process (other work on the same
   * cores included), from /proc/stat.
   */
  static final String MACHINE = "(whole machine, every process)";

  /** Linux reports times in clock ticks of 10 ms (USER_HZ 100 on every Linux we run on). */
  private static final long NANOS_PER_TICK = 10_000_000L;

  private ThreadCpu() {}

  /** One group between two snapshots: CPU seconds, and cores busy on average over the wall time. */
  record Row(String group, double cpuSeconds, double cores) {}

  /**
   * Busy CPU time of the whole machine (every process, every core), nanoseconds; 0 without /proc.
   */
  static long machineBusyNanos() {
    try {
      return machineBusyTicks(Files.readString(Path.of("/proc/stat"))) * NANOS_PER_TICK;
    } catch (IOException e) {
      return 0;
    }
  }

  /** CPU time of another process, nanoseconds; 0 when it cannot be read. */
  static long processNanos(long pid) {
    try {
      return ticks(Files.readString(Path.of("/proc", Long.toString(pid), "stat"))) * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** CPU nanoseconds per group now; empty where the platform measures nothing. */
  static Map<String, Long> snapshot() {
    Map<String, Long> cpu = new HashMap<>();
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    if (mx.isThreadCpuTimeSupported()) {
      for (long id : mx.getAllThreadIds()) {
        ThreadInfo info = mx.getThreadInfo(id);
        long nanos = mx.getThreadCpuTime(id);
        if (info != null && nanos > 0) {
          cpu.merge(javaGroup(info.getThreadName()), nanos, Long::sum);
        }
      }
    }
    Path tasks = Path.of("/proc/self/task");
    if (Files.isDirectory(tasks)) {
      try (Stream<Path> all = Files.list(tasks)) {
        all.forEach(
            t -> {
              try {
                String stat = Files.readString(t.resolve("stat"));
                String group = nativeGroup(comm(stat));
                if (group != null) {
                  cpu.merge(group, ticks(stat) * NANOS_PER_TICK, Long::sum);
                }
              } catch (IOException | RuntimeException e) {
                // the thread ended while we looked
              }
            });
        cpu.put(PROCESS, ticks(Files.readString(Path.of("/proc/self/stat"))) * NANOS_PER_TICK);
        cpu.put(
            MACHINE, machineBusyTicks(Files.readString(Path.of("/proc/stat"))) * NANOS_PER_TICK);
      } catch (IOException e) {
        // no /proc: Java threads only
      }
    }
    return cpu;
  }

  /**
   * The groups' CPU between two snapshots, most first, those of at least {@code minShare} of the
   * process's CPU (all when the process total is unknown).
   */
  static List<Row> between(
      Map<String, Long> before, Map<String, Long> after, long wallNanos, double minShare) {
    long process = after.getOrDefault(PROCESS, 0L) - before.getOrDefault(PROCESS, 0L);
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, Long> e : after.entrySet()) {
      long nanos = e.getValue() - before.getOrDefault(e.getKey(), 0L);
      if (nanos <= 0 || (process > 0 && nanos < minShare * process)) {
        continue;
      }
      rows.add(new Row(e.getKey(), nanos / 1e9, wallNanos <= 0 ? 0 : (double) nanos / wallNanos));
    }
    rows.sort(Comparator.comparingDouble(Row::cpuSeconds).reversed());
    return rows;
  }

  /**
   * A Java thread's group: its name with ids and numbers folded, e.g. {@code
   * iris-streams-<id>-StreamThread-N} or {@code data-plane-kafka-request-handler-N}.
   */
  static String javaGroup(String name) {
    return name.replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>")
        .replaceAll("\\d+", "N");
  }

  /**
   * The group of a native thread by its Linux name (at most 15 characters), or {@code null} for a
   * Java thread (counted by the ThreadMXBean instead).
   */
  static String nativeGroup(String comm) {
    if (comm.startsWith("GC Thread") || comm.startsWith("G1 ")) {
      return "(JVM) garbage collector";
    }
    if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
      return "(JVM) JIT compilers";
    }
    if (comm.equals("VM Thread")) {
      return "(JVM) VM thread";
    }
    if (comm.startsWith("rocksdb:")) {
      return "(RocksDB) background threads";
    }
    return null;
  }

  /** The thread name of a {@code /proc/.../stat} line: between the first '(' and the last ')'. */
  static String comm(String stat) {
    return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  }

  /**
   * Busy time of all CPUs from the first line of {@code /proc/stat}, in clock ticks: everything but
   * idle and iowait (user, nice, system, irq, softirq, steal; guest time is inside user).
   */
  static long machineBusyTicks(String procStat) {
    String[] f = procStat.substring(0, procStat.indexOf('\n')).trim().split("\\s+");
    long busy = 0;
    for (int i = 1; i < Math.min(f.length, 9); i++) {
      if (i != 4 && i != 5) {
        busy += Long.parseLong(f[i]);
      }
    }
    return busy;
  }

  /** User plus system time of a {@code /proc/.../stat} line, in clock ticks (fields 14 and 15). */
  static long ticks(String stat) {
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th here.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }
}
