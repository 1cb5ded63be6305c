package io.iris.bench;

import io.iris.bridge.up.SendPath;
import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBatch;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.NewMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.common.Uuid;
import org.apache.thrift.TBase;
import org.apache.thrift.TException;
import org.apache.thrift.TSerializer;
import org.apache.thrift.protocol.TBinaryProtocol;

/**
 * Bytes of the same deltas in Thrift compact (the wire format, with its version byte), Thrift
 * binary and JSON with descriptive field names (as a REST API writes them), alone and in batches of
 * 10, without and with gzip (as HTTP's Content-Encoding would).
 *
 * <p>The deltas are realistic new-message deltas as a device receives them: 10-digit user ids,
 * derived 63-bit thread ids, positions of a busy partition of iris.log (in the hundreds of
 * millions, each 1 to 2,000 offsets after the user's previous one: other users' records lie
 * between) with their prevPos, per-thread message ids, epoch-millisecond times, chat texts of 10 to
 * 80 characters, and in a third of them (the sender's own) a UUID client id and a device id.
 * Batches carry the epoch (iris.log's topic id, 22 characters) and their throughPos, as the push
 * path sends them.
 */
public final class PayloadSizes {
  /** Average bytes per delta of one encoding. */
  public record Row(
      String encoding,
      double perDelta,
      double perDeltaGzip,
      double perBatch10,
      double perBatch10Gzip) {}

  private PayloadSizes() {}

  public static List<Row> measure(int deltas, long seed) {
    Random random = new Random(seed);
    List<Delta> sample = new ArrayList<>();
    long user = 1_000_000_000L + random.nextInt(1_000_000_000);
    // Positions and the epoch from a generator of their own.
    Random positions = new Random(seed + 1);
    long pos = 400_000_000L + positions.nextInt(100_000_000);
    long now = 1_795_000_000_000L;
    for (int i = 0; i < deltas; i++) {
      long thread = SendPath.derivedThreadId(user + random.nextInt(50), "c" + random.nextInt(50));
      boolean own = random.nextInt(3) == 0;
      NewMessage m =
          new NewMessage(
              100 + random.nextInt(900),
              own ? user : 1_000_000_000L + random.nextInt(1_000_000_000),
              CommandPayloads.text(random, 10 + random.nextInt(71)));
      if (own) {
        m.setClientId(UUID.randomUUID().toString()).setSenderDeviceId("phone-" + random.nextInt(3));
      }
      long prevPos = pos;
      pos += 1 + positions.nextInt(2_000);
      sample.add(
          new Delta(user, thread, now, DeltaBody.newMessage(m)).setPos(pos).setPrevPos(prevPos));
      now += random.nextInt(60_000);
    }
    String epoch = new Uuid(positions.nextLong(), positions.nextLong()).toString();
    FrameCodec codec = FrameCodec.defaults();
    TSerializer binary = binary();
    List<Row> rows = new ArrayList<>();
    rows.add(
        row(
            "Thrift compact (wire: version byte + compact)",
            sample,
            epoch,
            codec::encode,
            b -> codec.encode(b)));
    rows.add(row("Thrift binary", sample, epoch, d -> ser(binary, d), b -> ser(binary, b)));
    rows.add(
        row(
            "JSON, descriptive field names",
            sample,
            epoch,
            d -> json(json(d)),
            PayloadSizes::jsonBatch));
    return rows;
  }

  private interface Enc<T> {
    byte[] apply(T t);
  }

  private static Row row(
      String name, List<Delta> sample, String epoch, Enc<Delta> one, Enc<DeltaBatch> batch) {
    long plain = 0;
    long gz = 0;
    for (Delta d : sample) {
      byte[] b = one.apply(d);
      plain += b.length;
      gz += gzip(b).length;
    }
    long bPlain = 0;
    long bGz = 0;
    int batches = 0;
    for (int i = 0; i + 10 <= sample.size(); i += 10) {
      DeltaBatch b = new DeltaBatch(sample.subList(i, i + 10), epoch, sample.get(i + 9).getPos());
      byte[] bytes = batch.apply(b);
      bPlain += bytes.length;
      bGz += gzip(bytes).length;
      batches++;
    }
    int n = sample.size();
    return new Row(
        name,
        plain / (double) n,
        gz / (double) n,
        bPlain / (double) batches,
        bGz / (double) batches);
  }

  private static TSerializer binary() {
    try {
      return new TSerializer(new TBinaryProtocol.Factory());
    } catch (TException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] ser(TSerializer s, TBase<?, ?> value) {
    try {
      return s.serialize(value);
    } catch (TException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The delta as a REST API would write it. */
  static Map<String, Object> json(Delta d) {
    NewMessage m = d.getBody().getNewMessage();
    Map<String, Object> msg = new LinkedHashMap<>();
    msg.put("message_id", m.getMessageId());
    msg.put("sender_user_id", m.getSenderUserId());
    msg.put("text", m.getText());
    if (m.isSetClientId()) {
      msg.put("client_message_id", m.getClientId());
      msg.put("sender_device_id", m.getSenderDeviceId());
    }
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("user_id", d.getUserId());
    j.put("pos", d.getPos());
    j.put("prev_pos", d.getPrevPos());
    j.put("thread_id", d.getThreadId());
    j.put("server_timestamp", d.getServerTimestampMs());
    j.put("type", "new_message");
    j.put("new_message", msg);
    return j;
  }

  private static byte[] jsonBatch(DeltaBatch b) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("deltas", b.getDeltas().stream().map(PayloadSizes::json).toList());
    j.put("epoch", b.getEpoch());
    j.put("through_pos", b.getThroughPos());
    return json(j);
  }

  private static byte[] json(Object o) {
    try {
      return PullServer.JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] gzip(byte[] in) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
