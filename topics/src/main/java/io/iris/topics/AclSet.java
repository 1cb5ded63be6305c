package io.iris.topics;

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
 * The ALLOW ACLs of one principal, from any host, built one resource at a time: what a role of the
 * project needs on a cluster with an authorizer (the bridge's, the streams app's, Connect's sets).
 */
public final class AclSet {
  private final String principal;
  private final List<AclBinding> acls = new ArrayList<>();

  private AclSet(String principal) {
    this.principal = principal;
  }

  /** A set for {@code principal}, e.g. {@code User:bridge}. */
  public static AclSet of(String principal) {
    return new AclSet(principal);
  }

  /** DESCRIBE and {@code ops} on one topic. */
  public AclSet topic(String name, AclOperation... ops) {
    return on(ResourceType.TOPIC, name, PatternType.LITERAL, AclOperation.DESCRIBE, ops);
  }

  /** DESCRIBE and {@code ops} on every topic whose name starts with {@code prefix}. */
  public AclSet topicPrefix(String prefix, AclOperation... ops) {
    return on(ResourceType.TOPIC, prefix, PatternType.PREFIXED, AclOperation.DESCRIBE, ops);
  }

  /** {@code ops} on one consumer group. */
  public AclSet group(String name, AclOperation... ops) {
    return on(ResourceType.GROUP, name, PatternType.LITERAL, null, ops);
  }

  /** {@code ops} on every transactional id that starts with {@code prefix}. */
  public AclSet transactionalIdPrefix(String prefix, AclOperation... ops) {
    return on(ResourceType.TRANSACTIONAL_ID, prefix, PatternType.PREFIXED, null, ops);
  }

  private AclSet on(
      ResourceType type, String name, PatternType pattern, AclOperation first, AclOperation[] ops) {
    ResourcePattern r = new ResourcePattern(type, name, pattern);
    if (first != null) {
      acls.add(allow(r, first));
    }
    for (AclOperation op : ops) {
      acls.add(allow(r, op));
    }
    return this;
  }

  private AclBinding allow(ResourcePattern r, AclOperation op) {
    return new AclBinding(r, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
  }

  public List<AclBinding> bindings() {
    return List.copyOf(acls);
  }
}
