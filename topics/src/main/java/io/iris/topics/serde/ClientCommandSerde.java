package io.iris.topics.serde;

import io.iris.protocol.thrift.ClientCommand;

/**
 * Serde for {@link ClientCommand} values; usable by class name in Kafka client and Streams configs.
 */
public class ClientCommandSerde extends ThriftSerde<ClientCommand> {
  public ClientCommandSerde() {
    super(ClientCommand::new);
  }
}
