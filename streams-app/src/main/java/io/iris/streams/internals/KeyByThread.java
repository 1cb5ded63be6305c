package io.iris.streams.internals;

import io.iris.protocol.FrameCodec;
import io.iris.protocol.FrameException;
import io.iris.protocol.thrift.ClientCommand;
import io.iris.topics.DeadLetters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The way in for producers that cannot key a record, such as {@code kafka-producer-perf-test} with
 * a payload file: a record of {@code iris.commands} without a key is keyed by the thread id its
 * command names and sent on through a repartition topic, so that it reaches the task that owns the
 * thread.
 *
 * <p>Such a producer usually cannot make up client ids either. A command whose client id is {@value
 * #ASSIGN_CLIENT_ID} gets {@code @<partition>-<offset>}, the record's own place in iris.commands:
 * unique per record, and the same if the record is read again, so the dedup rule still holds. A
 * receive time of 0 becomes the record's timestamp. The command goes on in binary.
 *
 * <p>A value that does not decode goes on unchanged under thread id 0, and the command processor
 * refuses it with the reason it would have given anyway.
 */
public final class KeyByThread implements Processor<byte[], byte[], byte[], byte[]> {
  /** The client id that asks for the record's position as client id. */
  public static final String ASSIGN_CLIENT_ID = "@";

  private static final byte[] NO_THREAD = ByteBuffer.allocate(Long.BYTES).putLong(0L).array();

  private final FrameCodec codec;
  private ProcessorContext<byte[], byte[]> context;

  public KeyByThread(int maxFrameBytes) {
    this.codec = new FrameCodec(maxFrameBytes).acceptingText();
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata source =
        context.recordMetadata().orElseThrow(() -> new IllegalStateException("no record metadata"));
    // Dead letters name the record's place in iris.commands, not in the repartition topic.
    Headers headers = new RecordHeaders(record.headers().toArray());
    headers.add(DeadLetters.SOURCE_TOPIC, utf8(source.topic()));
    headers.add(DeadLetters.SOURCE_PARTITION, utf8(Integer.toString(source.partition())));
    headers.add(DeadLetters.SOURCE_OFFSET, utf8(Long.toString(source.offset())));
    ClientCommand command;
    try {
      command = codec.decode(record.value(), ClientCommand::new);
    } catch (FrameException e) {
      context.forward(record.withKey(NO_THREAD).withHeaders(headers));
      return;
    }
    if (ASSIGN_CLIENT_ID.equals(command.getClientId())) {
      command.setClientId("@" + source.partition() + "-" + source.offset());
    }
    if (command.getReceivedAtMs() <= 0) {
      command.setReceivedAtMs(record.timestamp());
    }
    byte[] key = ByteBuffer.allocate(Long.BYTES).putLong(command.getThreadId()).array();
    context.forward(record.withKey(key).withValue(codec.encode(command)).withHeaders(headers));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
