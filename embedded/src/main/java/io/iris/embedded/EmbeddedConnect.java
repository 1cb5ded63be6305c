package io.iris.embedded;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.connect.cli.ConnectDistributed;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.distributed.DistributedHerder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka Connect worker in distributed mode, run in this JVM: its configs, offsets and status
 * live in Kafka topics and its REST API serves on {@link #restUrl()}, exactly as a stand-alone
 * Connect cluster of one worker. Plugins are loaded from {@code plugin.path} with Connect's own
 * class-loader isolation.
 */
public final class EmbeddedConnect implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedConnect.class);

  /**
   * @param bootstrapServers the Kafka cluster holding the worker's topics
   * @param host REST listener address
   * @param restPort REST listener port
   * @param groupId Connect cluster id (consumer group of the workers)
   * @param pluginPath directory whose subdirectories are plugins
   * @param overrides worker configs that win over the defaults
   */
  public record Settings(
      String bootstrapServers,
      String host,
      int restPort,
      String groupId,
      Path pluginPath,
      Map<String, String> overrides) {
    public Settings {
      overrides = Map.copyOf(overrides);
    }
  }

  private final Settings settings;
  private Connect<DistributedHerder> connect;

  public EmbeddedConnect(Settings settings) {
    this.settings = settings;
  }

  public String restUrl() {
    return "http://" + settings.host() + ":" + settings.restPort();
  }

  /** The worker configuration this instance runs with. */
  public Map<String, String> workerConfig() {
    String group = settings.groupId();
    Map<String, String> p = new HashMap<>();
    p.put("bootstrap.servers", settings.bootstrapServers());
    p.put("group.id", group);
    p.put("listeners", restUrl());
    p.put("config.storage.topic", group + "-configs");
    p.put("offset.storage.topic", group + "-offsets");
    p.put("status.storage.topic", group + "-status");
    p.put("config.storage.replication.factor", "1");
    p.put("offset.storage.replication.factor", "1");
    p.put("status.storage.replication.factor", "1");
    p.put("offset.storage.partitions", "5");
    p.put("status.storage.partitions", "1");
    p.put("key.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    p.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    p.put("plugin.path", settings.pluginPath().toAbsolutePath().toString());
    // Every plugin ships META-INF/services entries: skip the slow reflective scan.
    p.put("plugin.discovery", "service_load");
    // Sink offsets are the storage pointer: commit them often so it is not minutes stale. At 2 s
    // the pointer trailed MySQL itself by 0.75-1.8 s at 5,000 deltas/s (bench sink), against a
    // budget of 1 s; at 1 s it trailed by 0.3 s once the sink was warm. 250 ms was tried: the sink
    // then only just kept pace with 5,000/s and never drained its start-up backlog (one run each).
    p.put("offset.flush.interval.ms", "1000");
    p.put("scheduled.rebalance.max.delay.ms", "0");
    p.putAll(settings.overrides());
    return p;
  }

  /** Starts the worker and returns once its REST API answers. */
  public synchronized void start() {
    if (connect != null) {
      throw new IllegalStateException("already started");
    }
    connect = new ConnectDistributed().startConnect(workerConfig());
    awaitRest(Duration.ofSeconds(90));
    log.info(
        "Kafka Connect worker serving {} with plugins from {}", restUrl(), settings.pluginPath());
  }

  private void awaitRest(Duration timeout) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(restUrl() + "/connectors"))
            .timeout(Duration.ofSeconds(5))
            .build();
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    throw new IllegalStateException(
        "Kafka Connect REST API at " + restUrl() + " did not answer within " + timeout, last);
  }

  /** Stops the worker and its tasks; idempotent. */
  @Override
  public synchronized void close() {
    if (connect == null) {
      return;
    }
    connect.stop();
    connect.awaitStop();
    connect = null;
    log.info("Kafka Connect worker {} stopped", restUrl());
  }
}
