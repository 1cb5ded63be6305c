package io.iris.launcher;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Kafka Connect REST API that answers what it is told: for each {@code "METHOD /path?query"} a
 * queue of canned answers, the last of which repeats. Anything else gets Connect's 404 document.
 * Records every request.
 */
public final class FakeConnect implements AutoCloseable {
  /** A request as received. */
  public record Request(String method, String target, String contentType, String body) {
    public String call() {
      return method + " " + target;
    }
  }

  private record Answer(int status, String body) {}

  private final HttpServer server;
  private final Map<String, Deque<Answer>> answers = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  private FakeConnect() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public static FakeConnect start() throws IOException {
    return new FakeConnect();
  }

  /** Where it listens, e.g. {@code http://127.0.0.1:39123}. */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Adds an answer to {@code call} ("PUT /connectors/x/config"); the last one repeats. */
  public FakeConnect on(String call, int status, String body) {
    answers.computeIfAbsent(call, k -> new ArrayDeque<>()).add(new Answer(status, body));
    return this;
  }

  public List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The calls received, "METHOD /path?query", in order. */
  public List<String> calls() {
    return requests.stream().map(Request::call).toList();
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String target = x.getRequestURI().getRawPath();
      if (x.getRequestURI().getRawQuery() != null) {
        target += "?" + x.getRequestURI().getRawQuery();
      }
      Request r =
          new Request(
              x.getRequestMethod(),
              target,
              x.getRequestHeaders().getFirst("Content-Type"),
              new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      requests.add(r);
      Answer a = next(r.call());
      byte[] body = a.body() == null ? new byte[0] : a.body().getBytes(StandardCharsets.UTF_8);
      if (body.length > 0) {
        x.getResponseHeaders().set("Content-Type", "application/json");
      }
      x.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
      try (OutputStream out = x.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private Answer next(String call) {
    Deque<Answer> q = answers.get(call);
    if (q == null || q.isEmpty()) {
      return new Answer(404, error(404, "Unknown route: " + call));
    }
    synchronized (q) {
      return q.size() > 1 ? q.poll() : q.peek();
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }

  // Documents in the shapes of Kafka Connect's REST API reference.

  /** Connect's error document. */
  public static String error(int code, String message) {
    return "{\"error_code\":" + code + ",\"message\":\"" + message.replace("\"", "\\\"") + "\"}";
  }

  /** A status document: the connector's state and one task per given state. */
  public static String status(String name, String connectorState, String... taskStates) {
    StringBuilder b =
        new StringBuilder("{\"name\":\"")
            .append(name)
            .append("\",\"connector\":{\"state\":\"")
            .append(connectorState)
            .append("\",\"worker_id\":\"fakehost:8083\"},\"tasks\":[");
    for (int i = 0; i < taskStates.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append("{\"id\":")
          .append(i)
          .append(",\"state\":\"")
          .append(taskStates[i])
          .append("\",\"worker_id\":\"fakehost:8083\"");
      if (taskStates[i].equals("FAILED")) {
        b.append(",\"trace\":\"").append(TRACE).append('"');
      }
      b.append('}');
    }
    return b.append("],\"type\":\"sink\"}").toString();
  }

  /** A failed task's trace as Connect reports it, JSON-escaped: a wrapper, then the cause. */
  public static final String TRACE =
      "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to"
          + " unrecoverable exception.\\n\\tat org.apache.kafka.connect.runtime.WorkerSinkTask"
          + ".deliverMessages(WorkerSinkTask.java:636)\\nCaused by: java.sql.SQLException:"
          + " Communications link failure\\n\\tat com.mysql.cj.jdbc.ConnectionImpl.<init>"
          + "(ConnectionImpl.java:120)\\n";
}
