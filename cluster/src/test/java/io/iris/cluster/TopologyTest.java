package io.iris.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.iris.cluster.Topology.Host;
import io.iris.cluster.Topology.Role;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopologyTest {
  @Test
  void shouldGiveEveryRoleItsHostsWithDistinctAddressesAndShortLinkNames() {
    Topology t = new Topology("iris", "10.213", 3);
    List<Host> hosts = t.hosts();
    assertEquals(3, t.of(Role.KAFKA).size());
    assertEquals(2, t.of(Role.CONNECT).size());
    assertEquals(2, t.of(Role.STREAMS).size());
    assertEquals(3, t.of(Role.BRIDGE).size());
    assertEquals(1, t.of(Role.MYSQL).size());
    assertEquals(hosts.size(), new HashSet<>(hosts.stream().map(Host::address).toList()).size());
    assertEquals(hosts.size(), new HashSet<>(hosts.stream().map(Host::namespace).toList()).size());
    for (Host h : hosts) {
      assertTrue(h.address().startsWith("10.213.0."), h.address());
      // Linux interface names: at most 15 characters, with the device link's "f".
      assertTrue((h.link() + "f").length() <= 15, h.link());
      assertEquals(h.role() == Role.BRIDGE, h.deviceAddress() != null, h.name());
    }
    assertEquals("iris-kafka-2", t.host("kafka-2").namespace());
    assertEquals("10.213.1.42", t.host("bridge-2").deviceAddress());
    assertNull(t.host("streams-1").deviceAddress());
    assertEquals("tcp://10.213.1.43:1883", Topology.mqttUri(t.host("bridge-3")));
  }

  @Test
  void shouldNameTheClusterAddressesEveryClientNeeds() {
    Topology t = Topology.defaults();
    assertEquals("10.213.0.11:9092,10.213.0.12:9092,10.213.0.13:9092", t.bootstrapServers());
    assertEquals("1@10.213.0.11:9093,2@10.213.0.12:9093,3@10.213.0.13:9093", t.quorumVoters());
    assertEquals("jdbc:mysql://10.213.0.51:3306/iris", t.jdbcUrl());
    assertEquals("http://10.213.0.21:8083,http://10.213.0.22:8083", t.connectUrls());
    assertEquals("10.213.0.1", t.machineAddress());
    assertEquals("10.213.1.1", t.machineDeviceAddress());
  }

  @Test
  void shouldRefuseNamesAndNetworksTheHostsCannotHave() {
    assertThrows(IllegalArgumentException.class, () -> new Topology("Iris", "10.213", 2));
    assertThrows(IllegalArgumentException.class, () -> new Topology("toolongx", "10.213", 2));
    assertThrows(IllegalArgumentException.class, () -> new Topology("iris", "10.300", 2));
    assertThrows(IllegalArgumentException.class, () -> new Topology("iris", "10.2.3", 2));
    assertThrows(IllegalArgumentException.class, () -> new Topology("iris", "10.213", 0));
    assertThrows(IllegalArgumentException.class, () -> new Topology("iris", "10.213", 10));
  }

  @Test
  void shouldStopClientsBeforeTheServicesTheyNeed() {
    assertTrue(Cluster.stopStage("iris-bridge-1") < Cluster.stopStage("iris-connect-1"));
    assertEquals(Cluster.stopStage("iris-bridge-1"), Cluster.stopStage("iris-streams-2"));
    assertTrue(Cluster.stopStage("iris-connect-2") < Cluster.stopStage("iris-mysql"));
    assertTrue(Cluster.stopStage("iris-mysql") < Cluster.stopStage("iris-kafka-1"));
  }
}
