package io.iris.bridge;

import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Where the bridge's Kafka clients connect and with which common settings: {@code
 * bootstrap.servers} plus any client property given in configuration (TLS, SASL, timeouts …). Every
 * producer, consumer and admin client of the bridge starts from {@link #properties()}, then sets
 * what its role needs (acks, isolation level, client id).
 */
public final class KafkaClients {
  private final Map<String, Object> common;

  /**
   * @param bootstrapServers {@code host:port[,host:port]}
   * @param overrides further client properties applied to every client (may be empty)
   */
  public KafkaClients(String bootstrapServers, Map<String, ?> overrides) {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Map<String, Object> m = new java.util.HashMap<>(overrides);
    m.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    this.common = Map.copyOf(m);
  }

  /** Clients that need nothing but the cluster's address. */
  public static KafkaClients of(String bootstrapServers) {
    return new KafkaClients(bootstrapServers, Map.of());
  }

  public String bootstrapServers() {
    return (String) common.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
  }

  /** A fresh copy of the common properties, for one client to add its own to. */
  public Properties properties() {
    Properties p = new Properties();
    p.putAll(common);
    return p;
  }

  /**
   * The common properties of a producer whose writes must not be lost or doubled: every replica in
   * sync acknowledges ({@code acks=all}), retries do not duplicate (idempotence); named {@code
   * clientId}.
   */
  public Properties durableProducer(String clientId) {
    Properties p = properties();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    return p;
  }

  /** The common properties as a map (for admin clients). */
  public Map<String, Object> asMap() {
    return common;
  }
}
