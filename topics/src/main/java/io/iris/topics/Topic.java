package io.iris.topics;

import java.util.Map;
import org.apache.kafka.common.serialization.Serde;

/**
 * One Kafka topic of the contract: its name, how its keys and values are encoded, and the topic
 * configuration it is created with (cleanup policy, retention). Partition counts and replication
 * are deployment choices and come from configuration.
 *
 * @param name the topic name, part of the contract
 * @param keySerde how keys are encoded
 * @param valueSerde how values are encoded
 * @param configs topic-level configs applied at creation (e.g. {@code cleanup.policy})
 * @param purpose one line for operators
 */
public record Topic<K, V>(
    String name,
    Serde<K> keySerde,
    Serde<V> valueSerde,
    Map<String, String> configs,
    String purpose) {

  public Topic {
    configs = Map.copyOf(configs);
  }

  @Override
  public String toString() {
    return name;
  }
}
