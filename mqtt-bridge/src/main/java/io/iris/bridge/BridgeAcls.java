package io.iris.bridge;

import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * What a bridge's Kafka principal needs on a cluster with an authorizer, and nothing more: write
 * commands (and refused ones to the dead-letter topic), read the log it pushes from, read the
 * device registry, read and write the device pointers and the bridge routes, join its group, and
 * read the sink group's offsets (the storage pointer). It may not write {@code iris.log}: only the
 * streams app does. docs/operations.md lists the same, as {@code kafka-acls} commands.
 */
public final class BridgeAcls {
  private BridgeAcls() {}

  /** The ACLs to create for {@code principal} (e.g. {@code User:iris-bridge}). */
  public static List<AclBinding> of(String principal) {
    List<AclBinding> acls = new ArrayList<>();
    topic(acls, principal, Topics.COMMANDS.name(), AclOperation.WRITE);
    topic(acls, principal, Topics.DLQ.name(), AclOperation.WRITE);
    topic(acls, principal, Topics.LOG.name(), AclOperation.READ);
    topic(acls, principal, Topics.DEVICES.name(), AclOperation.READ);
    topic(acls, principal, Topics.DEVICE_POINTERS.name(), AclOperation.READ, AclOperation.WRITE);
    topic(acls, principal, Topics.BRIDGES.name(), AclOperation.READ, AclOperation.WRITE);
    group(acls, principal, Names.BRIDGE_GROUP, AclOperation.READ, AclOperation.DESCRIBE);
    group(acls, principal, Names.SINK_GROUP, AclOperation.DESCRIBE);
    return acls;
  }

  private static void topic(
      List<AclBinding> acls, String principal, String topic, AclOperation... ops) {
    ResourcePattern r = new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL);
    acls.add(allow(r, principal, AclOperation.DESCRIBE));
    for (AclOperation op : ops) {
      acls.add(allow(r, principal, op));
    }
  }

  private static void group(
      List<AclBinding> acls, String principal, String group, AclOperation... ops) {
    ResourcePattern r = new ResourcePattern(ResourceType.GROUP, group, PatternType.LITERAL);
    for (AclOperation op : ops) {
      acls.add(allow(r, principal, op));
    }
  }

  private static AclBinding allow(ResourcePattern r, String principal, AclOperation op) {
    return new AclBinding(r, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
  }
}
