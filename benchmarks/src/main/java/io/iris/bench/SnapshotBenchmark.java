package io.iris.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.iris.embedded.EmbeddedMariaDb;
import io.iris.embedded.Ports;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.protocol.thrift.ReadReceipt;
import io.iris.protocol.thrift.Snapshot;
import io.iris.protocol.thrift.ThreadCreated;
import io.iris.storage.DeltaRows;
import io.iris.storage.SnapshotService;
import io.iris.storage.StorageSchema;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.kafka.common.Uuid;

/**
 * Snapshot latency for a heavy user (default 200 threads, 20,000 messages) on a fresh embedded
 * MariaDB, beside the latency of a primary-key point read on the same connection pool in the same
 * run (the floor any query pays here).
 */
public final class SnapshotBenchmark {
  /** The epoch the snapshots state (an iris.log topic id; no Kafka here). */
  private static final String EPOCH = Uuid.randomUuid().toString();

  private final PrintStream out;
  private final int threads;
  private final int messages;
  private final int runs;

  public SnapshotBenchmark(PrintStream out, int threads, int messages, int runs) {
    this.out = out;
    this.threads = threads;
    this.messages = messages;
    this.runs = runs;
  }

  public void run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-snapshot");
    EmbeddedMariaDb db =
        new EmbeddedMariaDb(new EmbeddedMariaDb.Settings(dir, Ports.freePort(), "iris"));
    try {
      out.println("bench: starting a fresh MariaDB in " + dir);
      db.start();
      HikariConfig c = new HikariConfig();
      c.setJdbcUrl(
          db.jdbcUrl()
              + "?rewriteBatchedStatements=true&useServerPrepStmts=true&cachePrepStmts=true");
      c.setUsername(db.user());
      c.setMaximumPoolSize(2);
      try (HikariDataSource ds = new HikariDataSource(c)) {
        StorageSchema.migrate(ds);
        long user = 1;
        List<Delta> deltas = heavyUser(user);
        out.printf(
            "bench: writing %,d deltas of user %d (%d threads, %,d messages)%n",
            deltas.size(), user, threads, messages);
        long t0 = System.nanoTime();
        write(ds, deltas);
        double writeSecs = (System.nanoTime() - t0) / 1e9;

        SnapshotService service = new SnapshotService(ds);
        // Every row is written: as if the sink had committed through the user's last position.
        long storedThrough = deltas.get(deltas.size() - 1).getPos();
        for (int i = 0; i < 50; i++) {
          service.snapshot(user, 20, 20, storedThrough, EPOCH);
        }
        long[] snap = new long[runs];
        long[] point = new long[runs];
        Snapshot s = null;
        for (int i = 0; i < runs; i++) {
          long a = System.nanoTime();
          s = service.snapshot(user, 20, 20, storedThrough, EPOCH);
          snap[i] = System.nanoTime() - a;
          a = System.nanoTime();
          pointRead(ds, user, deltas.get(i % deltas.size()).getPos());
          point[i] = System.nanoTime() - a;
          if (i % 200 == 0) {
            out.printf("bench:   %d of %d snapshots%n", i, runs);
          }
        }
        Arrays.sort(snap);
        Arrays.sort(point);
        int bytes = FrameCodec.defaults().encode(s).length;
        out.println();
        out.println("| measurement (same database, same run) | p50 ms | p99 ms | max ms |");
        out.println("|---|---:|---:|---:|");
        out.printf(
            "| snapshot: 20 threads x 20 messages of %d threads, %,d messages (%,d B Thrift) | %.2f | %.2f | %.2f |%n",
            threads, messages, bytes, ms(snap, 0.50), ms(snap, 0.99), ms(snap, 1.0));
        out.printf(
            "| reference: primary-key point read of one delta | %.2f | %.2f | %.2f |%n",
            ms(point, 0.50), ms(point, 0.99), ms(point, 1.0));
        out.printf(
            "| (setup) batch upsert of %,d rows with triggers | %,.0f rows/s | | |%n",
            deltas.size(), deltas.size() / writeSecs);
        out.printf(
            "%nsnapshot pos %d, %d threads, target p99 <= 50 ms (2,000 threads, 1M messages)%n",
            s.getPos(), s.getThreadsSize());
      }
    } finally {
      db.close();
      StreamsBenchmark.deleteTree(dir);
    }
  }

  private static double ms(long[] sorted, double q) {
    int i = Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1);
    return sorted[Math.max(0, i)] / 1e6;
  }

  /**
   * The user's deltas in position order, each with its position: offsets of a partition the user
   * shares with others, so they grow by 1 to 200 (other users' records lie between). The gaps come
   * from a generator of their own: the threads, messages and receipts are those of version 1's
   * benchmark (seed 11).
   */
  private List<Delta> heavyUser(long user) {
    Random r = new Random(11);
    Random gaps = new Random(12);
    List<Delta> out = new ArrayList<>();
    long[] pos = {100_000};
    long ts = 1_700_000_000_000L;
    long[] lastMessage = new long[threads + 1];
    for (int t = 1; t <= threads; t++) {
      List<Long> members = new ArrayList<>(List.of(user, 1000L + t, 2000L + t));
      out.add(
          at(
              pos,
              gaps,
              new Delta(
                  user,
                  t,
                  ts++,
                  DeltaBody.threadCreated(
                      new ThreadCreated(user, members).setName("thread " + t)))));
    }
    for (int i = 0; i < messages; i++) {
      int t = 1 + r.nextInt(threads);
      long sender = r.nextInt(3) == 0 ? user : 1000L + t;
      lastMessage[t]++;
      out.add(
          at(
              pos,
              gaps,
              new Delta(
                  user,
                  t,
                  ts += 1000,
                  DeltaBody.newMessage(
                      new NewMessage(
                          lastMessage[t],
                          sender,
                          "message " + i + " of a realistic length, about forty bytes")))));
      if (r.nextInt(10) == 0) {
        out.add(
            at(
                pos,
                gaps,
                new Delta(
                    user, t, ts, DeltaBody.readReceipt(new ReadReceipt(user, lastMessage[t])))));
      }
    }
    return out;
  }

  /** Gives {@code d} the next position of the user (the offset of its record in iris.log). */
  private static Delta at(long[] pos, Random gaps, Delta d) {
    pos[0] += 1 + gaps.nextInt(200);
    return d.setPos(pos[0]);
  }

  private static void write(HikariDataSource ds, List<Delta> deltas) throws SQLException {
    try (Connection c = ds.getConnection()) {
      DeltaRows.upsert(c, deltas, 2000);
    }
  }

  private static void pointRead(HikariDataSource ds, long user, long position) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT text FROM iris_deltas WHERE user_id = ? AND position = ?")) {
      ps.setLong(1, user);
      ps.setLong(2, position);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
      }
    }
  }
}
