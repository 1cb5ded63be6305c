package io.iris.streams.internals;

import static io.iris.streams.internals.MockContexts.header;
import static io.iris.streams.internals.MockContexts.threadKey;
import static io.iris.streams.internals.MockContexts.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.protocol.thrift.CommandBody;
import io.iris.protocol.thrift.SendMessage;
import io.iris.topics.DeadLetters;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link KeyByThread} alone, on a mock context. */
class KeyByThreadTest {
  static final long TS = 1_800_000_000_000L;
  static final FrameCodec CODEC = new FrameCodec(1024).acceptingText();

  final MockProcessorContext<byte[], byte[]> context = new MockProcessorContext<>();
  final KeyByThread processor = new KeyByThread(1024);

  @BeforeEach
  void setUp() {
    processor.init(context);
    context.setRecordMetadata("iris.commands", 2, 77);
  }

  static ClientCommand command(String clientId, long receivedAtMs) {
    return new ClientCommand(
        1, "perf", clientId, 100, receivedAtMs, CommandBody.sendMessage(new SendMessage("hi")));
  }

  Record<byte[], byte[]> only(Record<byte[], byte[]> in) {
    context.resetForwards();
    processor.process(in);
    List<Record<byte[], byte[]>> out = MockContexts.forwarded(context);
    assertEquals(1, out.size());
    return out.get(0);
  }

  ClientCommand decoded(Record<byte[], byte[]> out) {
    assertEquals(FrameCodec.VERSION, out.value()[0], "goes on in binary");
    return CODEC.decode(out.value(), ClientCommand::new);
  }

  @Test
  void shouldKeyAnUnkeyedCommandByItsThreadId() {
    ClientCommand c = command("c1", TS - 5);
    Record<byte[], byte[]> out = only(new Record<>(null, CODEC.encode(c), TS));
    assertArrayEquals(threadKey(100), out.key());
    assertArrayEquals(CODEC.encode(c), out.value(), "a complete binary command is unchanged");
    assertEquals(TS, out.timestamp());
  }

  @Test
  void shouldSendATextCommandOnInBinary() {
    ClientCommand c = command("c1", TS - 5);
    Record<byte[], byte[]> out = only(new Record<>(null, utf8(CODEC.encodeText(c)), TS));
    assertEquals(c, decoded(out));
  }

  @Test
  void shouldGiveTheAtClientIdTheRecordsPlaceInIrisCommands() {
    Record<byte[], byte[]> out = only(new Record<>(null, CODEC.encode(command("@", TS)), TS));
    assertEquals("@2-77", decoded(out).getClientId());
    context.setRecordMetadata("iris.commands", 2, 78);
    assertEquals(
        "@2-78",
        decoded(only(new Record<>(null, CODEC.encode(command("@", TS)), TS))).getClientId());
  }

  @Test
  void shouldKeepEveryOtherClientId() {
    for (String id : List.of("c1", "@@", "@1-2", " @")) {
      Record<byte[], byte[]> out = only(new Record<>(null, CODEC.encode(command(id, TS)), TS));
      assertEquals(id, decoded(out).getClientId());
    }
  }

  @Test
  void shouldFillAMissingReceiveTimeWithTheRecordsTimestamp() {
    for (long missing : List.of(0L, -1L)) {
      Record<byte[], byte[]> in = new Record<>(null, CODEC.encode(command("c1", missing)), TS);
      assertEquals(TS, decoded(only(in)).getReceivedAtMs());
    }
    Record<byte[], byte[]> set = new Record<>(null, CODEC.encode(command("c1", 5)), TS);
    assertEquals(5, decoded(only(set)).getReceivedAtMs());
  }

  @Test
  void shouldSendAValueThatDoesNotDecodeOnUnchangedUnderThreadZero() {
    byte[] garbage = utf8("Jnot json");
    Record<byte[], byte[]> out = only(new Record<>(null, garbage, TS));
    assertArrayEquals(threadKey(0), out.key());
    assertSame(garbage, out.value());
    assertEquals("77", header(out.headers(), DeadLetters.SOURCE_OFFSET));
  }

  @Test
  void shouldNameTheRecordsPlaceInIrisCommandsAndKeepItsHeaders() {
    RecordHeaders headers = new RecordHeaders();
    headers.add("trace", utf8("abc"));
    Record<byte[], byte[]> in =
        new Record<byte[], byte[]>(null, CODEC.encode(command("c1", TS)), TS).withHeaders(headers);
    Record<byte[], byte[]> out = only(in);
    assertEquals("abc", header(out.headers(), "trace"));
    assertEquals("iris.commands", header(out.headers(), DeadLetters.SOURCE_TOPIC));
    assertEquals("2", header(out.headers(), DeadLetters.SOURCE_PARTITION));
    assertEquals("77", header(out.headers(), DeadLetters.SOURCE_OFFSET));
    assertEquals(1, in.headers().toArray().length, "the input's headers are not changed");
  }

  @Test
  void shouldRefuseARecordWithoutItsPlaceInTheTopic() {
    MockProcessorContext<byte[], byte[]> noMetadata = new MockProcessorContext<>();
    KeyByThread p = new KeyByThread(1024);
    p.init(noMetadata);
    Record<byte[], byte[]> in = new Record<>(null, CODEC.encode(command("c1", TS)), TS);
    assertThrows(IllegalStateException.class, () -> p.process(in));
  }
}
