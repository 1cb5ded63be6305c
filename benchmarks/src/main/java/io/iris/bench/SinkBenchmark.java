package io.iris.bench;

import io.iris.launcher.IrisConfig;
import io.iris.launcher.IrisStack;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * The MySQL sink under a steady delta rate on a fresh embedded stack: rows/s written and the
 * storage pointer's lag (records of iris.log not yet in MySQL) sampled every second, beside the
 * best the same database takes: a plain JDBC batch upsert of the same rows in the same run.
 */
public final class SinkBenchmark {
  private final PrintStream out;
  private final int deltas;
  private final int rate;

  public SinkBenchmark(PrintStream out, int deltas, int rate) {
    this.out = out;
    this.deltas = deltas;
    this.rate = rate;
  }

  public void run() throws Exception {
    Path dir = Files.createTempDirectory("iris-bench-sink");
    Map<String, Object> c = IrisConfig.onFreePorts(dir);
    c.put(IrisConfig.RUN_STREAMS_CONFIG, false);
    try (IrisStack stack = new IrisStack(new IrisConfig(c))) {
      stack.preflight();
      stack.start(line -> out.println("bench: up  " + line));
      int users = Math.max(1, deltas / 100);
      List<byte[]> frames = new ArrayList<>(deltas);
      List<Long> keys = new ArrayList<>(deltas);
      long[] messageIds = new long[users + 1];
      for (int i = 0; i < deltas; i++) {
        long user = 1 + (i % users);
        long messageId = ++messageIds[(int) user];
        // As the streams app writes it: no position in the bytes (the offset becomes it; the sink
        // adds it as the column `position`).
        Delta d =
            new Delta(
                user,
                1 + user % 50,
                1_700_000_000_000L + i,
                DeltaBody.newMessage(
                    new NewMessage(
                        messageId,
                        user,
                        "message " + i + " of a realistic length, about forty bytes")));
        frames.add(FrameCodec.defaults().encode(d));
        keys.add(user);
      }

      out.printf("bench: %,d deltas of %,d users into iris.log at %,d/s%n", deltas, users, rate);
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      List<long[]> samples = new ArrayList<>(); // seconds, rows, lag
      long t0 = System.nanoTime();
      long firstRowAt = 0;
      long lastRowAt = 0;
      try (KafkaProducer<Long, byte[]> producer =
              new KafkaProducer<>(p, new LongSerializer(), new ByteArraySerializer());
          Admin admin = Admin.create(stack.adminConfig());
          Connection db = DriverManager.getConnection(stack.jdbcUrl(), "root", "")) {
        int sent = 0;
        long nextSample = t0;
        long rows = 0;
        while (rows < deltas) {
          long now = System.nanoTime();
          long due = Math.min(deltas, (now - t0) * rate / 1_000_000_000L);
          while (sent < due) {
            producer.send(
                new ProducerRecord<>(Topics.LOG.name(), keys.get(sent), frames.get(sent)));
            sent++;
          }
          if (now >= nextSample) {
            rows = rows(db);
            long lag = lag(admin);
            samples.add(new long[] {(now - t0) / 1_000_000_000L, rows, lag});
            out.printf(
                "bench:   %3d s  sent %,9d  in MySQL %,9d  sink lag %,7d records%n",
                (now - t0) / 1_000_000_000L, sent, rows, lag);
            if (rows > 0 && firstRowAt == 0) {
              firstRowAt = now;
            }
            nextSample += 1_000_000_000L;
            if (now - t0 > TimeUnit.MINUTES.toNanos(10)) {
              throw new IllegalStateException("sink did not catch up within 10 minutes");
            }
          }
          Thread.sleep(5);
          if (sent == deltas) {
            producer.flush();
            rows = rows(db);
            lastRowAt = System.nanoTime();
          }
        }
      }
      double produceSecs = (double) deltas / rate;
      double sinkSecs = (lastRowAt - t0) / 1e9;
      long maxLag = samples.stream().mapToLong(s -> s[2]).max().orElse(0);
      long[] lags = samples.stream().mapToLong(s -> s[2]).sorted().toArray();
      long medianLag = lags.length == 0 ? 0 : lags[lags.length / 2];

      double reference = referenceUpsert(stack.jdbcUrl());
      StringBuilder table = new StringBuilder();
      table.append("| measurement (same stack, same run) | figure |\n|---|---:|\n");
      table.append(
          String.format(
              "| offered delta rate into iris.log | %,d deltas/s for %.0f s |%n",
              rate, produceSecs));
      table.append(
          String.format(
              "| MySQL sink, rows written | %,.0f rows/s over %.1f s (all %,d rows) |%n",
              deltas / sinkSecs, sinkSecs, deltas));
      table.append(
          String.format(
              "| storage-pointer lag, median / max of 1 s samples | %,d / %,d records (%.1f /"
                  + " %.1f s of deltas at the offered rate; target <= 1 s at 5,000/s) |%n",
              medianLag, maxLag, (double) medianLag / rate, (double) maxLag / rate));
      table.append(
          String.format(
              "| reference: JDBC batch upsert of the same rows, same database | %,.0f rows/s |%n",
              reference));
      out.println();
      out.print(table);
      double[] rowsSeries = samples.stream().mapToDouble(x -> x[1]).toArray();
      double[] lagSeries = samples.stream().mapToDouble(x -> x[2]).toArray();
      Path report =
          HtmlChart.write(
              Path.of("bench-results", "sink-" + System.currentTimeMillis() + ".html"),
              "iris bench sink: rows in MySQL and storage-pointer lag",
              "seconds",
              table.toString(),
              List.of(
                  new HtmlChart.Series("rows in MySQL", "#1f77b4", rowsSeries),
                  new HtmlChart.Series("sink lag (records)", "#d62728", lagSeries)));
      out.println("report: " + report);
    } finally {
      StreamsBenchmark.deleteTree(dir);
    }
  }

  private static long rows(Connection db) throws Exception {
    try (Statement s = db.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COALESCE(SUM(stored_count), 0) FROM " + Names.USER_POSITIONS_TABLE)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static long lag(Admin admin) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(Names.SINK_GROUP)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
    for (int i = 0; i < 64; i++) {
      TopicPartition tp = new TopicPartition(Topics.LOG.name(), i);
      if (committed.containsKey(tp) || i < 12) {
        ask.put(tp, OffsetSpec.latest());
      }
    }
    long lag = 0;
    try {
      for (var e : admin.listOffsets(ask).all().get(10, TimeUnit.SECONDS).entrySet()) {
        OffsetAndMetadata om = committed.get(e.getKey());
        lag += e.getValue().offset() - (om == null ? 0 : om.offset());
      }
    } catch (Exception e) {
      return -1;
    }
    return lag;
  }

  /**
   * A direct JDBC batch upsert of rows like the sink's, into users the sink never writes. Row i
   * takes position i (the offsets of one partition shared by the 1,000 users: each user's positions
   * grow, 1,000 apart).
   */
  private double referenceUpsert(String jdbcUrl) throws Exception {
    int n = Math.min(deltas, 100_000);
    String cols =
        "user_id, position, thread_id, server_ts_ms, kind, actor_user_id, message_id, text";
    String sql =
        "INSERT INTO "
            + Names.DELTAS_TABLE
            + " ("
            + cols
            + ") VALUES (?, ?, ?, ?, 'new_message', ?, ?, ?)"
            + " ON DUPLICATE KEY UPDATE text = VALUES(text)";
    try (Connection c =
            DriverManager.getConnection(jdbcUrl + "?rewriteBatchedStatements=true", "root", "");
        var ps = c.prepareStatement(sql)) {
      c.setAutoCommit(false);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        long user = 10_000_000L + (i % 1000);
        long messageId = 1 + i / 1000;
        ps.setLong(1, user);
        ps.setLong(2, i);
        ps.setLong(3, 1);
        ps.setLong(4, 1_700_000_000_000L + i);
        ps.setLong(5, user);
        ps.setLong(6, messageId);
        ps.setString(7, "message " + i + " of a realistic length, about forty bytes");
        ps.addBatch();
        if ((i + 1) % 2000 == 0) {
          ps.executeBatch();
          c.commit();
        }
      }
      ps.executeBatch();
      c.commit();
      return n / ((System.nanoTime() - t0) / 1e9);
    }
  }
}
