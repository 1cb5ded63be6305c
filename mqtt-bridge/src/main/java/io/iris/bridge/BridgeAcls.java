package io.iris.bridge;

import io.iris.topics.AclSet;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.util.List;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;

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
    return AclSet.of(principal)
        .topic(Topics.COMMANDS.name(), AclOperation.WRITE)
        .topic(Topics.DLQ.name(), AclOperation.WRITE)
        .topic(Topics.LOG.name(), AclOperation.READ)
        .topic(Topics.DEVICES.name(), AclOperation.READ)
        .topic(Topics.DEVICE_POINTERS.name(), AclOperation.READ, AclOperation.WRITE)
        .topic(Topics.BRIDGES.name(), AclOperation.READ, AclOperation.WRITE)
        .group(Names.BRIDGE_GROUP, AclOperation.READ, AclOperation.DESCRIBE)
        .group(Names.SINK_GROUP, AclOperation.DESCRIBE)
        .bindings();
  }
}
