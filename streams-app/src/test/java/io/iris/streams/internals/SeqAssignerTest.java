package io.iris.streams.internals;

import static io.iris.streams.internals.MockContexts.attach;
import static io.iris.streams.internals.MockContexts.header;
import static io.iris.streams.internals.MockContexts.total;
import static io.iris.streams.internals.MockContexts.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.iris.protocol.thrift.Delta;
import io.iris.protocol.thrift.DeltaBody;
import io.iris.protocol.thrift.ReadReceipt;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link SeqAssigner} alone, on a mock context with an in-memory store. */
class SeqAssignerTest {
  static final long TS = 1_800_000_000_000L;
  static final String GROUP = "stream-iris-deltas-metrics";

  final MockProcessorContext<Long, Delta> context = new MockProcessorContext<>();
  KeyValueStore<Long, Long> seqs;
  final SeqAssigner processor = new SeqAssigner("user-seq");

  @BeforeEach
  void setUp() {
    seqs =
        attach(
            context,
            Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore("user-seq"), Serdes.Long(), Serdes.Long()));
    processor.init(context);
  }

  static Delta draft(long user) {
    return new Delta(user, 0L, 0L, 100, TS, DeltaBody.readReceipt(new ReadReceipt(9, 1)));
  }

  /** Sends drafts for {@code users} through, and returns the seqs they got, in order. */
  List<Long> seqsOf(Long... users) {
    context.resetForwards();
    for (long user : users) {
      processor.process(new Record<>(user, draft(user), TS));
    }
    return MockContexts.forwarded(context).stream().map(r -> r.value().getSeq()).toList();
  }

  @Test
  void shouldStartAUserAtSeqOneAfterPrevSeqZero() {
    processor.process(new Record<>(4L, draft(4), TS));
    Delta d = MockContexts.forwarded(context).get(0).value();
    assertEquals(1, d.getSeq());
    assertEquals(0, d.getPrevSeq());
    assertEquals(1L, seqs.get(4L));
  }

  @Test
  void shouldGiveEachUserGapFreeSeqsOfTheirOwn() {
    assertEquals(List.of(1L, 2L, 1L, 3L, 2L, 1L), seqsOf(1L, 1L, 2L, 1L, 2L, 3L));
    for (Record<Long, Delta> r : MockContexts.forwarded(context)) {
      assertEquals(r.value().getSeq() - 1, r.value().getPrevSeq());
    }
    assertEquals(3L, seqs.get(1L));
    assertEquals(2L, seqs.get(2L));
  }

  @Test
  void shouldContinueFromTheSeqInTheStore() {
    seqs.put(7L, 41L); // as restored from the changelog after a restart
    assertEquals(List.of(42L, 43L), seqsOf(7L, 7L));
    assertEquals(41, MockContexts.forwarded(context).get(0).value().getPrevSeq());
  }

  @Test
  void shouldKeyEachDeltaByItsUserAndKeepTheRecordsTimeAndHeaders() {
    RecordHeaders headers = new RecordHeaders();
    headers.add("trace", utf8("abc"));
    processor.process(new Record<>(99L, draft(5), TS + 3).withHeaders(headers));
    Record<Long, Delta> out = MockContexts.forwarded(context).get(0);
    assertEquals(5L, out.key());
    assertEquals(TS + 3, out.timestamp());
    assertEquals("abc", header(out.headers(), "trace"));
    assertEquals(1L, seqs.get(5L), "counted for the delta's user, not the record key");
  }

  @Test
  void shouldCountSequencedDeltasAndRemoveItsSensorOnClose() {
    seqsOf(1L, 2L, 1L);
    assertEquals(3, total(context, GROUP, "sequenced"));
    processor.close();
    assertFalse(MockContexts.anyMetricIn(context, GROUP));
  }
}
