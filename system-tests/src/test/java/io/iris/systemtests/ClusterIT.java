package io.iris.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.cluster.Cluster;
import io.iris.cluster.ClusterFaults;
import io.iris.cluster.ClusterStatus;
import io.iris.cluster.Netns;
import io.iris.cluster.Topology;
import io.iris.cluster.Topology.Role;
import io.iris.testkit.TestStacks;
import io.iris.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue 18 on the real thing: {@code iris cluster up --secure} makes ten hosts in network
 * namespaces (three brokers over TLS with SASL/SCRAM and ACLs, MariaDB, two Connect workers, two
 * bridges, two streams instances), every role under its own principal; the bridge's principal is
 * refused on iris.log; devices on both bridges converse while one bridge's host is cut off from
 * Kafka for 30 s, then while the broker leading the most iris.log partitions and a second one are
 * killed (writes stop with min.insync.replicas 2) and restarted; after each, every device, iris.log
 * and MySQL agree; {@code down} leaves no namespace, link or process behind. The streams and
 * Connect rows run with {@code iris cluster faults} (README, "Faults on a cluster").
 */
class ClusterIT {
  @Test
  void shouldRunSecuredOnTenHostsAndLoseNothingWhenABridgeIsCutOffOrTwoBrokersAreKilled()
      throws Exception {
    String why = Netns.unavailable();
    Assumptions.assumeTrue(why == null, "network namespaces: " + why);
    Path dir = TestStacks.newDataDir("cluster");
    Topology t = new Topology("itc", "10.215", 2);
    List<String> lines = new java.util.ArrayList<>();
    Cluster c = null;
    boolean passed = false;
    try {
      c = Cluster.up(dir, t, true, lines::add);
      String status = ClusterStatus.render(c);
      for (ClusterStatus.Line l : ClusterStatus.lines(c, ClusterStatus.summary(c))) {
        assertTrue(l.alive(), l.host().name() + " runs: " + status);
        assertFalse(
            l.state().contains("not") || l.state().contains("HTTP"),
            l.host().name() + ": " + l.state());
      }
      assertTrue(status.contains("min.insync.replicas 2; 0 under-replicated"), status);
      assertTrue(status.contains("SASL_SSL"), status);

      // The bridge's principal may not write iris.log.
      Map<String, Object> asBridge = new HashMap<>(c.security().client("bridge"));
      asBridge.put("bootstrap.servers", t.bootstrapServers());
      asBridge.put("max.block.ms", 20_000);
      try (KafkaProducer<byte[], byte[]> p =
          new KafkaProducer<>(asBridge, new ByteArraySerializer(), new ByteArraySerializer())) {
        ExecutionException e =
            assertThrows(
                ExecutionException.class,
                () ->
                    p.send(new ProducerRecord<>(Topics.LOG.name(), new byte[8], new byte[] {1}))
                        .get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof TopicAuthorizationException, e.getCause().toString());
      }

      ClusterFaults faults = new ClusterFaults(c, System.out, 4, Duration.ofMillis(500));
      List<ClusterFaults.Row> rows = faults.run(List.of("bridge", "brokers"));
      String report = Files.readString(faults.report(), StandardCharsets.UTF_8);
      assertEquals(2, rows.size(), report);
      for (ClusterFaults.Row row : rows) {
        assertTrue(row.lost().startsWith("0 of "), report);
        assertEquals("0", row.duplicated(), report);
      }

      // No secret in any host's configuration or log but the files made for it.
      String mysql = Files.readString(dir.resolve("secrets").resolve("mysql_password"));
      for (var h : t.of(Role.CONNECT)) {
        assertFalse(
            Files.readString(c.outputFile(h), StandardCharsets.ISO_8859_1).contains(mysql),
            h.name() + "'s output holds the MySQL password");
      }
      passed = true;
    } finally {
      if (c != null) {
        // A failure keeps every host's logs under target/it-data to be read.
        c.down(!passed, lines::add);
      } else {
        Cluster.downByPrefix(t.prefix(), lines::add);
      }
      System.out.println(String.join("\n", lines));
    }
    assertEquals(List.of(), Netns.namespaces(t.prefix()), "namespaces left behind");
    assertFalse(Files.exists(dir), "the cluster's directory is removed");
  }
}
