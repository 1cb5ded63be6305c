package io.iris.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Registers the JDBC sink that writes iris.log to MySQL ({@code connect/iris-mysql-sink.json} of
 * the connectors module) with a Connect cluster through its REST API, and waits until its task
 * runs. PUT is idempotent: a restart updates the same connector, whose consumer group {@code
 * connect-iris-mysql-sink} (the storage pointer) keeps its offsets.
 */
final class SinkRegistration {
  static final String NAME = io.iris.topics.Names.SINK_CONNECTOR;
  static final String TEMPLATE = "connect/iris-mysql-sink.json";

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String connectUrl;

  SinkRegistration(String connectUrl) {
    this.connectUrl = connectUrl;
  }

  /** The connector configuration with {@code ${name}} placeholders filled in. */
  static String render(Map<String, String> values) {
    String template;
    try (InputStream in = SinkRegistration.class.getClassLoader().getResourceAsStream(TEMPLATE)) {
      if (in == null) {
        throw new IllegalStateException(TEMPLATE + " is not on the classpath");
      }
      template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Matcher m = Pattern.compile("\\$\\{([a-z.]+)}").matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = values.get(m.group(1));
      if (value == null) {
        throw new IllegalArgumentException("no value for ${" + m.group(1) + "} in " + TEMPLATE);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(jsonEscape(value)));
    }
    m.appendTail(out);
    return out.toString();
  }

  static String jsonEscape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }

  /** Creates or updates the connector, then waits until it and its task are RUNNING. */
  void register(String configJson, Duration timeout) {
    HttpResponse<String> put =
        send(
            HttpRequest.newBuilder(URI.create(connectUrl + "/connectors/" + NAME + "/config"))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(configJson))
                .timeout(Duration.ofSeconds(60))
                .build());
    if (put.statusCode() != 200 && put.statusCode() != 201) {
      throw new StartupException(
          "Kafka Connect refused the sink configuration (HTTP "
              + put.statusCode()
              + "): "
              + firstLine(put.body()));
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      HttpResponse<String> status =
          send(
              HttpRequest.newBuilder(URI.create(connectUrl + "/connectors/" + NAME + "/status"))
                  .build());
      last = status.body();
      if (status.statusCode() == 200) {
        if (last.contains("\"FAILED\"")) {
          throw new StartupException(
              "the MySQL sink failed to start: "
                  + failure(last)
                  + " (GET "
                  + connectUrl
                  + "/connectors/"
                  + NAME
                  + "/status)");
        }
        if (countRunning(last) >= 2) { // the connector and its task
          return;
        }
      }
      sleep(250);
    }
    throw new StartupException(
        "the MySQL sink did not reach RUNNING within " + timeout + ": " + last);
  }

  private static int countRunning(String statusJson) {
    int n = 0;
    for (int i = statusJson.indexOf("\"RUNNING\"");
        i >= 0;
        i = statusJson.indexOf("\"RUNNING\"", i + 1)) {
      n++;
    }
    return n;
  }

  /** The first line of the failure trace in a connector status document. */
  static String failure(String statusJson) {
    return firstLine(trace(statusJson));
  }

  private static String trace(String statusJson) {
    int i = statusJson.indexOf("\"trace\":\"");
    return i < 0 ? statusJson : statusJson.substring(i + 9);
  }

  private static String firstLine(String s) {
    int nl = s.indexOf("\\n");
    return nl < 0 ? s : s.substring(0, nl);
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new StartupException(
          "cannot reach Kafka Connect at " + connectUrl + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted");
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted");
    }
  }
}
