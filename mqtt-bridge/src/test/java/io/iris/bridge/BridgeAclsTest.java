package io.iris.bridge;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclPermissionType;
import org.junit.jupiter.api.Test;

class BridgeAclsTest {
  private static Set<String> granted(List<AclBinding> acls) {
    return acls.stream()
        .peek(a -> assertTrue(a.entry().permissionType() == AclPermissionType.ALLOW))
        .map(
            a ->
                a.pattern().resourceType()
                    + " "
                    + a.pattern().name()
                    + " "
                    + a.entry().operation()
                    + " "
                    + a.entry().principal())
        .collect(Collectors.toSet());
  }

  @Test
  void shouldLetABridgeWriteCommandsAndReadTheLogButNeverWriteIt() {
    Set<String> g = granted(BridgeAcls.of("User:b"));
    assertTrue(g.contains("TOPIC iris.commands WRITE User:b"));
    assertTrue(g.contains("TOPIC iris.dlq WRITE User:b"));
    assertTrue(g.contains("TOPIC iris.log READ User:b"));
    assertTrue(g.contains("TOPIC iris.device-pointers WRITE User:b"));
    assertTrue(g.contains("GROUP iris-mqtt-bridge READ User:b"));
    assertTrue(g.contains("GROUP connect-iris-mysql-sink DESCRIBE User:b"));
    assertFalse(g.contains("TOPIC iris.log WRITE User:b"), "only the streams app writes the log");
    assertFalse(g.contains("TOPIC iris.devices WRITE User:b"), "operators register devices");
    assertFalse(g.stream().anyMatch(x -> x.contains(" ALL ")), g.toString());
  }
}
