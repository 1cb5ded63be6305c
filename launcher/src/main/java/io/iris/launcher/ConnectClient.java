package io.iris.launcher;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The few Kafka Connect REST calls the launcher makes on one connector (Connect's REST API, {@code
 * /connectors/{name}/...}): put its configuration, read its status, restart its failed tasks, stop
 * and resume it, delete its offsets, and wait for a state.
 *
 * <p>Every call that does not do what was asked throws a {@link ConnectRestException} whose message
 * names the call, what Connect said (the {@code message} of its {@code {"error_code":..,
 * "message":..}} body) and what to do. This class never logs, and never puts a request body or a
 * successful answer into a message: a connector configuration, and Connect's answer to PUT config,
 * hold the MySQL password. Thread-safe.
 */
public final class ConnectClient {
  /** Connector and task states, as Connect's status documents spell them. */
  public static final String RUNNING = "RUNNING";

  public static final String FAILED = "FAILED";
  public static final String STOPPED = "STOPPED";

  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
  static final Duration POLL = Duration.ofMillis(250);
  private static final int BODY_EXCERPT = 200;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> urls;

  /** The worker that answered last: asked first next time. */
  private volatile int current;

  private final Duration requestTimeout;
  private final Duration poll;
  private final HttpClient http;

  /**
   * @param url Connect's REST address, e.g. {@code http://127.0.0.1:8083}, or the addresses of
   *     several workers of one Connect cluster, comma-separated: a call a worker does not answer
   *     (down, unreachable, no answer in time) is made again at the next one (any worker forwards
   *     to the leader what must go there)
   */
  public ConnectClient(String url) {
    this(url, REQUEST_TIMEOUT, POLL);
  }

  /**
   * @param requestTimeout how long one call may wait for Connect's answer
   * @param poll how often the {@code await...} methods read the status
   */
  public ConnectClient(String url, Duration requestTimeout, Duration poll) {
    this.urls = parse(url);
    this.requestTimeout = requestTimeout;
    this.poll = poll;
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
  }

  /** The REST address of the worker asked first (the one that answered last). */
  public String url() {
    return urls.get(current);
  }

  /** Every worker's REST address, as given. */
  public List<String> urls() {
    return urls;
  }

  static List<String> parse(String urls) {
    List<String> out = new ArrayList<>();
    for (String u : urls.split(",")) {
      String t = u.strip();
      if (!t.isEmpty()) {
        out.add(t.endsWith("/") ? t.substring(0, t.length() - 1) : t);
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no Kafka Connect REST address in '" + urls + "'");
    }
    return List.copyOf(out);
  }

  /** One task of a connector, as {@code GET /connectors/{name}/status} reports it. */
  public record TaskStatus(int id, String state, String workerId, String trace) {}

  /**
   * A connector's status ({@code GET /connectors/{name}/status}): its own state and its tasks'.
   * {@code trace} is set only where the state is FAILED.
   */
  public record ConnectorStatus(
      String name, String state, String workerId, String trace, List<TaskStatus> tasks) {
    public ConnectorStatus {
      tasks = List.copyOf(tasks);
    }

    /** The connector and at least one task RUNNING, and no task in any other state. */
    public boolean running() {
      return RUNNING.equals(state)
          && !tasks.isEmpty()
          && tasks.stream().allMatch(t -> RUNNING.equals(t.state()));
    }

    /** The connector or one of its tasks FAILED. */
    public boolean failed() {
      return FAILED.equals(state) || tasks.stream().anyMatch(t -> FAILED.equals(t.state()));
    }

    /**
     * What failed and why, in one line: {@code "task 0: <first line of its trace> (cause: <its last
     * Caused by>)"}; null when nothing failed.
     */
    public String failure() {
      if (FAILED.equals(state)) {
        return "connector: " + traceLine(trace);
      }
      for (TaskStatus t : tasks) {
        if (FAILED.equals(t.state())) {
          return "task " + t.id() + ": " + traceLine(t.trace());
        }
      }
      return null;
    }

    /** The states in one line, e.g. {@code "connector RUNNING, task 0 UNASSIGNED"}. */
    public String summary() {
      StringBuilder b = new StringBuilder("connector ").append(state);
      if (tasks.isEmpty()) {
        b.append(", no tasks");
      }
      for (TaskStatus t : tasks) {
        b.append(", task ").append(t.id()).append(' ').append(t.state());
      }
      return b.toString();
    }
  }

  /**
   * Creates or updates a connector ({@code PUT /connectors/{name}/config}). Idempotent: a connector
   * that exists keeps its name and so its consumer group and committed offsets.
   *
   * @param configJson the configuration as one JSON object of strings; never logged
   * @return true when the connector was created, false when it existed and was updated
   */
  public boolean putConfig(String connector, String configJson) {
    return send("PUT", path(connector, "/config"), configJson, 200, 201).status() == 201;
  }

  /** The connector's status ({@code GET /connectors/{name}/status}). */
  public ConnectorStatus status(String connector) {
    String path = path(connector, "/status");
    Answer a = send("GET", path, null, 200);
    try {
      return parseStatus(a.body());
    } catch (IOException | IllegalArgumentException e) {
      throw new ConnectRestException(
          a.status(),
          "Kafka Connect at "
              + url()
              + " answered GET "
              + path
              + " with a document that is not a connector status ("
              + e.getMessage()
              + "): "
              + excerpt(a.body())
              + "; is "
              + url()
              + " the REST address of a Kafka Connect worker?",
          e);
    }
  }

  /**
   * Restarts the connector if it failed and every failed task ({@code POST
   * /connectors/{name}/restart?includeTasks=true&onlyFailed=true}); running tasks are left alone.
   * Returns once Connect has accepted the restart, not when the tasks run.
   */
  public void restartFailed(String connector) {
    send(
        "POST",
        path(connector, "/restart") + "?includeTasks=true&onlyFailed=true",
        null,
        200,
        202,
        204);
  }

  /**
   * Stops the connector: shuts its tasks down and keeps its configuration ({@code PUT
   * /connectors/{name}/stop}). Connect answers before the connector is STOPPED: see {@link
   * #awaitStopped}.
   */
  public void stop(String connector) {
    send("PUT", path(connector, "/stop"), null, 202, 204);
  }

  /** Resumes a paused or stopped connector ({@code PUT /connectors/{name}/resume}). */
  public void resume(String connector) {
    send("PUT", path(connector, "/resume"), null, 200, 202, 204);
  }

  /**
   * Deletes a stopped sink connector's offsets, i.e. its consumer group's committed offsets ({@code
   * DELETE /connectors/{name}/offsets}, Connect 3.6 and later): once resumed it reads its topics
   * from where its {@code consumer.auto.offset.reset} says. Connect refuses it (HTTP 400) unless
   * the connector is STOPPED.
   */
  public void deleteOffsets(String connector) {
    send("DELETE", path(connector, "/offsets"), null, 200);
  }

  /**
   * Waits until the connector and all its tasks are RUNNING, and returns that status. Fails at once
   * when the connector or a task is FAILED, with its trace; fails after {@code timeout} with the
   * last status seen. A connector Connect has no status for yet (HTTP 404 right after it was
   * created) or a rebalance (HTTP 409) is waited out; a Connect that cannot be reached is not.
   */
  public ConnectorStatus awaitRunning(String connector, Duration timeout) {
    return await(connector, RUNNING, ConnectorStatus::running, true, timeout);
  }

  /**
   * Waits until the connector is STOPPED (after {@link #stop}). A task that had FAILED before the
   * stop does not end the wait: stopping shuts it down too.
   */
  public ConnectorStatus awaitStopped(String connector, Duration timeout) {
    return await(connector, STOPPED, s -> STOPPED.equals(s.state()), false, timeout);
  }

  private ConnectorStatus await(
      String connector,
      String goal,
      Predicate<ConnectorStatus> reached,
      boolean failFast,
      Duration timeout) {
    String path = path(connector, "/status");
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no status yet";
    int lastStatus = ConnectRestException.NO_ANSWER;
    while (true) {
      ConnectorStatus s = null;
      try {
        s = status(connector);
        lastStatus = 200;
      } catch (ConnectRestException e) {
        if (e.httpStatus() == ConnectRestException.NO_ANSWER) {
          throw e;
        }
        lastStatus = e.httpStatus();
        last = e.getMessage();
      }
      if (s != null) {
        if (reached.test(s)) {
          return s;
        }
        if (failFast && s.failed()) {
          throw new ConnectRestException(
              200,
              "connector "
                  + connector
                  + " failed instead of reaching "
                  + goal
                  + ": "
                  + s.failure()
                  + " (full trace: GET "
                  + url()
                  + path
                  + ")",
              null);
        }
        last = s.summary();
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new ConnectRestException(
            lastStatus,
            "connector "
                + connector
                + " did not reach "
                + goal
                + " within "
                + seconds(timeout)
                + "; last seen: "
                + last
                + " (GET "
                + url()
                + path
                + "; the Connect worker's log says why)",
            null);
      }
      try {
        Thread.sleep(poll.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ConnectRestException(
            ConnectRestException.NO_ANSWER,
            "interrupted while waiting for connector " + connector + " to reach " + goal,
            e);
      }
    }
  }

  /** Parses a status document ({@code {"name":..,"connector":{"state":..},"tasks":[..]}}). */
  static ConnectorStatus parseStatus(String body) throws JsonProcessingException {
    JsonNode root = JSON.readTree(body);
    JsonNode c = root == null ? null : root.get("connector");
    if (c == null || !c.path("state").isTextual()) {
      throw new IllegalArgumentException("no connector.state");
    }
    List<TaskStatus> tasks = new ArrayList<>();
    for (JsonNode t : root.path("tasks")) {
      if (!t.path("state").isTextual()) {
        throw new IllegalArgumentException("a task without a state");
      }
      tasks.add(
          new TaskStatus(
              t.path("id").asInt(), text(t, "state"), text(t, "worker_id"), text(t, "trace")));
    }
    return new ConnectorStatus(
        text(root, "name"), text(c, "state"), text(c, "worker_id"), text(c, "trace"), tasks);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /**
   * The first line of a Java stack trace, and the last {@code Caused by:} line when there is one:
   * the wrapper says where, the root cause says why.
   */
  static String traceLine(String trace) {
    if (trace == null || trace.isBlank()) {
      return "(no trace)";
    }
    String[] lines = trace.strip().split("\\R");
    String first = lines[0].strip();
    String cause = null;
    for (String line : lines) {
      if (line.startsWith("Caused by: ")) {
        cause = line.substring("Caused by: ".length()).strip();
      }
    }
    return cause == null || cause.equals(first) ? first : first + " (cause: " + cause + ")";
  }

  private record Answer(int status, String body) {}

  private Answer send(String method, String path, String body, int... expected) {
    int first = current;
    ConnectRestException unanswered = null;
    for (int i = 0; i < urls.size(); i++) {
      int k = (first + i) % urls.size();
      try {
        Answer a = send(urls.get(k), method, path, body, expected);
        current = k;
        return a;
      } catch (ConnectRestException e) {
        if (e.httpStatus() != ConnectRestException.NO_ANSWER
            || Thread.currentThread().isInterrupted()) {
          current = k;
          throw e;
        }
        unanswered = e;
      }
    }
    throw unanswered;
  }

  private Answer send(String url, String method, String path, String body, int... expected) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url + path))
            .timeout(requestTimeout)
            .header("Accept", "application/json");
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    }
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpTimeoutException e) {
      throw new ConnectRestException(
          ConnectRestException.NO_ANSWER,
          "Kafka Connect at "
              + url
              + " did not answer "
              + method
              + " "
              + path
              + " within "
              + seconds(requestTimeout)
              + "; check that the worker runs and is not overloaded (its log says why)",
          e);
    } catch (IOException e) {
      throw new ConnectRestException(
          ConnectRestException.NO_ANSWER,
          "cannot reach Kafka Connect at "
              + url
              + " ("
              + method
              + " "
              + path
              + "): "
              + reason(e)
              + "; check that Connect runs and that "
              + IrisConfig.CONNECT_URL_CONFIG
              + " is its REST address",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConnectRestException(
          ConnectRestException.NO_ANSWER, "interrupted during " + method + " " + url + path, e);
    }
    for (int c : expected) {
      if (r.statusCode() == c) {
        return new Answer(c, r.body());
      }
    }
    throw new ConnectRestException(
        r.statusCode(),
        "Kafka Connect at "
            + url
            + " answered HTTP "
            + r.statusCode()
            + " to "
            + method
            + " "
            + path
            + ": "
            + errorMessage(r.body())
            + hint(r.statusCode()),
        null);
  }

  /**
   * The {@code message} of Connect's {@code {"error_code":..,"message":..}}, or the body's start.
   */
  static String errorMessage(String body) {
    if (body == null || body.isBlank()) {
      return "(no message)";
    }
    try {
      JsonNode root = JSON.readTree(body);
      JsonNode message = root == null ? null : root.get("message");
      if (message != null && message.isTextual()) {
        return message.asText();
      }
    } catch (JsonProcessingException e) {
      // not Connect's error document (a proxy's HTML page, say): show its start
    }
    return "an answer that is not Connect's error document: " + excerpt(body);
  }

  private String hint(int status) {
    return switch (status) {
      case 404 -> "; is the connector registered? GET " + url() + "/connectors lists them";
      case 409 ->
          "; the Connect cluster is rebalancing or the connector's state refuses this: try again in"
              + " a few seconds";
      case 401, 403 ->
          "; the Connect REST API refused this client, which sends no credentials: open it to the"
              + " launcher";
      default -> status >= 500 ? "; the Connect worker's log has the stack trace" : "";
    };
  }

  private static String excerpt(String body) {
    String oneLine = body.replaceAll("\\s+", " ").strip();
    return oneLine.length() <= BODY_EXCERPT ? oneLine : oneLine.substring(0, BODY_EXCERPT) + "...";
  }

  private static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getClass().getSimpleName() + ": " + t.getMessage();
      }
    }
    return e.getClass().getSimpleName();
  }

  private static String path(String connector, String suffix) {
    return "/connectors/"
        + URLEncoder.encode(connector, StandardCharsets.UTF_8).replace("+", "%20")
        + suffix;
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
