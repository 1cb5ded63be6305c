package io.iris.bridge.edge;

import io.iris.protocol.DeviceTopics;
import io.moquette.broker.security.IAuthorizatorPolicy;
import io.moquette.broker.subscriptions.Topic;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a connected device may touch: publish only to its own up topic, subscribe only to its own
 * down topic. Wildcards are refused outright, so no filter can reach another user's topics.
 */
public final class DeviceTopicPolicy implements IAuthorizatorPolicy {
  private static final Logger log = LoggerFactory.getLogger(DeviceTopicPolicy.class);

  private final AtomicLong refusedPublishes = new AtomicLong();
  private final AtomicLong refusedSubscribes = new AtomicLong();

  @Override
  public boolean canWrite(Topic topic, String user, String client) {
    DeviceTopics.DeviceId id = DeviceTopics.parseClientId(client);
    boolean ok =
        id != null && Long.toString(id.userId()).equals(user) && id.up().equals(topic.toString());
    if (!ok) {
      refusedPublishes.incrementAndGet();
      log.info("Refused publish by {} to {}", client, topic);
    }
    return ok;
  }

  @Override
  public boolean canRead(Topic topic, String user, String client) {
    DeviceTopics.DeviceId id = DeviceTopics.parseClientId(client);
    String t = topic.toString();
    boolean ok =
        id != null
            && Long.toString(id.userId()).equals(user)
            && !t.contains("+")
            && !t.contains("#")
            && id.down().equals(t);
    if (!ok) {
      refusedSubscribes.incrementAndGet();
      log.info("Refused subscribe by {} to {}", client, topic);
    }
    return ok;
  }

  public long refusedPublishes() {
    return refusedPublishes.get();
  }

  public long refusedSubscribes() {
    return refusedSubscribes.get();
  }
}
