package io.iris.streams;

import io.iris.topics.AclSet;
import io.iris.topics.Topics;
import java.util.List;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;

/**
 * What the streams app's Kafka principal needs on a cluster with an authorizer: read commands,
 * write the log and the dead-letter topic, own its internal topics (changelogs, the repartition
 * topic: created, read, written, trimmed), its group and its transactional ids (exactly-once). It
 * may not read the device registry or write commands. docs/operations.md lists the same as {@code
 * kafka-acls} commands.
 */
public final class StreamsAcls {
  private StreamsAcls() {}

  /**
   * @param principal e.g. {@code User:streams}
   * @param applicationId {@code streams.application.id}: the group, the prefix of the internal
   *     topics and of the transactional ids
   */
  public static List<AclBinding> of(String principal, String applicationId) {
    return AclSet.of(principal)
        .topic(Topics.COMMANDS.name(), AclOperation.READ)
        .topic(Topics.LOG.name(), AclOperation.WRITE)
        .topic(Topics.DLQ.name(), AclOperation.WRITE)
        .topicPrefix(applicationId + "-", AclOperation.ALL)
        .group(applicationId, AclOperation.READ, AclOperation.DESCRIBE)
        .transactionalIdPrefix(applicationId + "-", AclOperation.WRITE, AclOperation.DESCRIBE)
        .bindings();
  }
}
