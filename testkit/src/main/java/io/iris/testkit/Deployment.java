package io.iris.testkit;

import io.iris.bridge.KafkaClients;
import io.iris.bridge.down.LogLayout;
import io.iris.launcher.IrisStack;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

/**
 * Where the checks of a test or fault run reach a running Iris: its Kafka cluster (with whatever
 * client settings it needs) and its MySQL. An embedded stack and a multi-host cluster both are one.
 *
 * @param kafka an admin's clients: reads iris.log, registers devices
 * @param awaitRegistered waits until the bridges know at least this many devices, or null when that
 *     cannot be seen (devices then retry their first connection)
 */
public record Deployment(
    KafkaClients kafka,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    java.util.function.IntConsumer awaitRegistered) {

  /** The embedded stack (root without a password on its MariaDB). */
  public static Deployment of(IrisStack stack) {
    return new Deployment(
        new KafkaClients(stack.bootstrapServers(), Map.of()),
        stack.jdbcUrl(),
        "root",
        "",
        n -> TestStacks.awaitRegistered(stack, n));
  }

  /** The epoch of iris.log (its topic id), as devices hold it. */
  public String epoch() {
    try (Admin admin = Admin.create(kafka.asMap())) {
      return LogLayout.describe(admin, Duration.ofSeconds(30)).epoch();
    }
  }
}
