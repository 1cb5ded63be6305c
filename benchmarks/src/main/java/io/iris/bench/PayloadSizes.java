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
import org.apache.thrift.TBase;
import org.apache.thrift.TException;
import org.apache.thrift.TSerializer;
import org.apache.thrift.protocol.TBinaryProtocol;

/**
 * Bytes of the same deltas in Thrift compact (the wire format, with its version byte), Thrift
 * binary and JSON with descriptive field names (as a REST API writes them), alone and in batches of
 * 10, without and with gzip (as HTTP's Content-Encoding would).
 *
 * <p>The deltas are realistic new-message deltas: 10-digit user ids, derived 63-bit thread ids,
 * seqs in the thousands, per-thread message ids, epoch-millisecond times, chat texts of 10 to 80
 * characters, and in a third of them (the sender's own) a UUID client id and a device id.
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
    long seq = 4_000 + random.nextInt(1000);
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
      sample.add(new Delta(user, seq, seq - 1, thread, now, DeltaBody.newMessage(m)));
      seq++;
      now += random.nextInt(60_000);
    }
    FrameCodec codec = FrameCodec.defaults();
    TSerializer binary = binary();
    List<Row> rows = new ArrayList<>();
    rows.add(
        row(
            "Thrift compact (wire: version byte + compact)",
            sample,
            codec::encode,
            b -> codec.encode(b)));
    rows.add(row("Thrift binary", sample, d -> ser(binary, d), b -> ser(binary, b)));
    rows.add(
        row("JSON, descriptive field names", sample, d -> json(json(d)), PayloadSizes::jsonBatch));
    return rows;
  }

  private interface Enc<T> {
    byte[] apply(T t);
  }

  private static Row row(String name, List<Delta> sample, Enc<Delta> one, Enc<DeltaBatch> batch) {
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
      DeltaBatch b = new DeltaBatch(sample.subList(i, i + 10), sample.get(i + 9).getSeq());
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
    j.put("sequence_number", d.getSeq());
    j.put("previous_sequence_number", d.getPrevSeq());
    j.put("thread_id", d.getThreadId());
    j.put("server_timestamp", d.getServerTimestampMs());
    j.put("type", "new_message");
    j.put("new_message", msg);
    return j;
  }

  private static byte[] jsonBatch(DeltaBatch b) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("deltas", b.getDeltas().stream().map(PayloadSizes::json).toList());
    j.put("head_sequence_number", b.getHeadSeq());
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
