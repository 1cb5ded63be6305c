package io.iris.launcher;

import io.iris.topics.AclSet;
import io.iris.topics.Names;
import io.iris.topics.Topics;
import java.util.List;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;

/**
 * What the Connect workers' Kafka principal needs on a cluster with an authorizer, for the workers
 * themselves (their group and their config, offset and status topics, all named after the group)
 * and for the MySQL sink they run under the same principal: read {@code iris.log} in the sink's
 * group, write refused records to {@code iris.sink-dlq}. It may not write {@code iris.log} or read
 * commands. docs/operations.md lists the same as {@code kafka-acls} commands.
 */
public final class ConnectAcls {
  private ConnectAcls() {}

  /**
   * @param principal e.g. {@code User:connect}
   * @param workerGroup the workers' {@code group.id}; their topics are {@code <group>-configs},
   *     {@code -offsets}, {@code -status}
   */
  public static List<AclBinding> of(String principal, String workerGroup) {
    return AclSet.of(principal)
        .group(workerGroup, AclOperation.READ, AclOperation.DESCRIBE)
        .topicPrefix(workerGroup + "-", AclOperation.ALL)
        .topic(Topics.LOG.name(), AclOperation.READ)
        .topic(Topics.SINK_DLQ.name(), AclOperation.WRITE)
        .group(Names.SINK_GROUP, AclOperation.READ, AclOperation.DESCRIBE)
        .bindings();
  }
}
