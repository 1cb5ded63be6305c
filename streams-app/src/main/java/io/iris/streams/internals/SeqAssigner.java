package io.iris.streams.internals;

import io.iris.protocol.thrift.Delta;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Gives each delta its user's next seq and sets prevSeq. Input is keyed by user, so one task owns
 * each user's counter; under exactly-once the counter's changelog and the output commit in one
 * transaction, so a crash never leaves a gap or a repeat.
 */
public final class SeqAssigner implements Processor<Long, Delta, Long, Delta> {
  private final String storeName;
  private ProcessorContext<Long, Delta> context;
  private KeyValueStore<Long, Long> seqs;
  private Sensor sequenced;

  public SeqAssigner(String storeName) {
    this.storeName = storeName;
  }

  @Override
  public void init(ProcessorContext<Long, Delta> context) {
    this.context = context;
    this.seqs = context.getStateStore(storeName);
    this.sequenced =
        context
            .metrics()
            .addRateTotalSensor(
                "iris-deltas",
                context.taskId().toString(),
                "sequenced",
                Sensor.RecordingLevel.INFO);
  }

  @Override
  public void close() {
    context.metrics().removeSensor(sequenced);
  }

  @Override
  public void process(Record<Long, Delta> record) {
    Delta draft = record.value();
    long userId = draft.getUserId();
    Long last = seqs.get(userId);
    long prev = last == null ? 0L : last;
    // The draft was decoded for this call alone: completing it in place is safe.
    Delta delta = draft.setSeq(prev + 1).setPrevSeq(prev);
    seqs.put(userId, prev + 1);
    context.forward(record.withKey(userId).withValue(delta));
    sequenced.record();
  }
}
