package io.iris.topics.serde;

import io.iris.protocol.thrift.ClientCommand;

/**
 * Deserializer for {@link ClientCommand} values, usable by class name (for example {@code
 * --value-deserializer} of Kafka's console consumer).
 */
public class ClientCommandDeserializer extends ThriftDeserializer<ClientCommand> {
  public ClientCommandDeserializer() {
    super(ClientCommand::new);
  }
}
