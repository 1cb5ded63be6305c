package io.iris.topics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the contract's topics that are missing, with their partitions, replication and configs,
 * and reports every existing topic whose partitions or configs differ from what is asked. It never
 * alters an existing topic: changing partitions re-homes keys, which is an operator's decision.
 */
public final class TopicInstaller {

  /** How one topic is to be created. */
  public record Plan(
      Topic<?, ?> topic, int partitions, short replicationFactor, Map<String, String> configs) {
    public Plan {
      configs = Map.copyOf(configs);
    }
  }

  /**
   * What was done: topics created, topics that already existed, differences found, and topics this
   * client's principal may neither see nor create (on a cluster with ACLs, a role that does not use
   * a topic is not allowed to describe it; an operator's principal creates the topics).
   */
  public record Report(
      List<String> created,
      List<String> existing,
      List<String> differences,
      List<String> notAllowed) {}

  private final Admin admin;
  private final long timeoutMs;

  public TopicInstaller(Admin admin, long timeoutMs) {
    this.admin = admin;
    this.timeoutMs = timeoutMs;
  }

  public Report install(Collection<Plan> plans) throws InterruptedException, TimeoutException {
    try {
      Set<String> present = admin.listTopics().names().get(timeoutMs, TimeUnit.MILLISECONDS);
      List<String> created = new ArrayList<>();
      List<String> existing = new ArrayList<>();
      List<String> notAllowed = new ArrayList<>();
      List<NewTopic> toCreate = new ArrayList<>();
      for (Plan plan : plans) {
        String name = plan.topic().name();
        if (present.contains(name)) {
          existing.add(name);
        } else {
          toCreate.add(
              new NewTopic(name, plan.partitions(), plan.replicationFactor())
                  .configs(plan.configs()));
        }
      }
      if (!toCreate.isEmpty()) {
        for (var e : admin.createTopics(toCreate).values().entrySet()) {
          try {
            e.getValue().get(timeoutMs, TimeUnit.MILLISECONDS);
            created.add(e.getKey());
          } catch (ExecutionException ex) {
            if (ex.getCause() instanceof TopicAuthorizationException) {
              notAllowed.add(e.getKey());
              continue;
            }
            if (!(ex.getCause() instanceof TopicExistsException)) {
              throw ex;
            }
            existing.add(e.getKey()); // created concurrently by another instance
          }
        }
      }
      return new Report(created, existing, differences(plans, existing), notAllowed);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "could not create topics: " + e.getCause().getMessage(), e.getCause());
    }
  }

  private List<String> differences(Collection<Plan> plans, List<String> existing)
      throws ExecutionException, InterruptedException, TimeoutException {
    List<String> diffs = new ArrayList<>();
    if (existing.isEmpty()) {
      return diffs;
    }
    Map<String, TopicDescription> descriptions =
        admin.describeTopics(existing).allTopicNames().get(timeoutMs, TimeUnit.MILLISECONDS);
    Map<String, Config> byName = new HashMap<>();
    // Each topic's configuration on its own: a principal without DESCRIBE_CONFIGS on a topic (a
    // bridge's, on a cluster with ACLs) still gets its partition counts compared.
    var configs =
        admin
            .describeConfigs(
                existing.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n))
                    .toList())
            .values();
    for (var e : configs.entrySet()) {
      try {
        byName.put(e.getKey().name(), e.getValue().get(timeoutMs, TimeUnit.MILLISECONDS));
      } catch (ExecutionException ex) {
        if (!(ex.getCause() instanceof TopicAuthorizationException)) {
          throw ex;
        }
      }
    }
    for (Plan plan : plans) {
      String name = plan.topic().name();
      TopicDescription d = descriptions.get(name);
      if (d == null) {
        continue;
      }
      if (d.partitions().size() != plan.partitions()) {
        diffs.add(
            name
                + ": has "
                + d.partitions().size()
                + " partitions, configured "
                + plan.partitions());
      }
      Config actual = byName.get(name);
      if (actual == null) {
        continue; // not allowed to read it
      }
      plan.configs()
          .forEach(
              (k, v) -> {
                var entry = actual.get(k);
                String have = entry == null ? null : entry.value();
                if (!v.equals(have)) {
                  diffs.add(name + ": " + k + "=" + have + ", configured " + v);
                }
              });
    }
    return diffs;
  }
}
