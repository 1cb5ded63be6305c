package io.iris.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.cluster.Topology.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterSecurityTest {
  @TempDir Path dir;

  @Test
  void shouldKeepThePlainClusterPlainWithTheMysqlPasswordOnlyInSecretFiles() throws Exception {
    Topology t = Topology.defaults();
    ClusterSecurity s = ClusterSecurity.create(dir, t, false);
    Map<String, String> broker = s.brokerListeners(t.host("kafka-1"));
    assertEquals("PLAINTEXT://10.213.0.11:9092", broker.get("advertised.listeners"));
    assertTrue(s.client("bridge").isEmpty());
    assertTrue(s.irisClients(t.host("bridge-1")).isEmpty());
    assertEquals(24, s.mysqlPassword().length());
    for (Path f :
        new Path[] {
          s.mysqlPasswordFile(), s.connectSecretsDir().resolve(ClusterSecurity.MYSQL_PASSWORD_FILE)
        }) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
      assertEquals(s.mysqlPassword(), Files.readString(f));
    }
  }

  @Test
  void shouldGiveEveryRoleItsOwnPrincipalAndTheBrokersCertificatesOfTheClusterCa()
      throws Exception {
    Topology t = Topology.defaults();
    ClusterSecurity s = ClusterSecurity.create(dir, t, true);
    Map<String, String> broker = s.brokerListeners(t.host("kafka-2"));
    assertEquals("SASL_SSL://10.213.0.12:9092", broker.get("advertised.listeners"));
    assertEquals("SASL_SSL:SASL_SSL,CONTROLLER:SSL", broker.get("listener.security.protocol.map"));
    assertEquals(
        "User:admin;User:CN=kafka-1;User:CN=kafka-2;User:CN=kafka-3", broker.get("super.users"));
    assertEquals("required", broker.get("listener.name.controller.ssl.client.auth"));
    // One SCRAM credential per principal in the brokers' bootstrap metadata.
    assertEquals(2 * ClusterSecurity.USERS.size(), s.scramBootstrapArgs().size());

    Map<String, String> bridge2 = s.irisClients(t.host("bridge-2"));
    assertTrue(bridge2.get("kafka.client.sasl.jaas.config").contains("username=\"bridge\""));
    assertFalse(
        bridge2.keySet().stream().anyMatch(k -> k.startsWith("kafka.client.tools.")),
        "only the first bridge host creates topics");
    assertTrue(
        s.irisClients(t.host("bridge-1"))
            .get("kafka.client.tools.sasl.jaas.config")
            .contains("username=\"admin\""));
    assertTrue(
        s.irisClients(t.host("streams-1"))
            .get("kafka.client.sasl.jaas.config")
            .contains("username=\"streams\""));
    Map<String, String> worker = s.connectWorker();
    assertTrue(worker.get("consumer.sasl.jaas.config").contains("username=\"connect\""));
    assertEquals("SASL_SSL", worker.get("producer.security.protocol"));

    // kafka-2's certificate: its address, signed by the CA the clients trust.
    String pw = Files.readString(dir.resolve("secrets").resolve(ClusterSecurity.TLS_PASSWORD_FILE));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(Path.of(broker.get("ssl.keystore.location")))) {
      ks.load(in, pw.toCharArray());
    }
    X509Certificate cert = (X509Certificate) ks.getCertificate("kafka-2");
    assertTrue(
        cert.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals("10.213.0.12")));
    KeyStore trust = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(s.trustStore())) {
      trust.load(in, pw.toCharArray());
    }
    cert.verify(trust.getCertificate("ca").getPublicKey());
    assertEquals(3, t.of(Role.KAFKA).size());
  }
}
