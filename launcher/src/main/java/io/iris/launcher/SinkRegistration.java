package io.iris.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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

  private final ConnectClient connect;

  SinkRegistration(String connectUrl) {
    this(new ConnectClient(connectUrl));
  }

  SinkRegistration(ConnectClient connect) {
    this.connect = connect;
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

  /**
   * Creates or updates the connector, then waits until it and its task are RUNNING.
   *
   * @param configJson from {@link #render}; holds the MySQL password, so it is never logged
   * @throws StartupException when Connect refuses it, cannot be reached, or the sink fails or does
   *     not run within {@code timeout}
   */
  void register(String configJson, Duration timeout) {
    try {
      connect.putConfig(NAME, configJson);
    } catch (ConnectRestException e) {
      throw new StartupException("cannot register the MySQL sink: " + e.getMessage(), e);
    }
    try {
      connect.awaitRunning(NAME, timeout);
    } catch (ConnectRestException e) {
      throw new StartupException(
          "the MySQL sink did not start: "
              + e.getMessage()
              + "; check that MySQL is reachable from Kafka Connect with the configured user",
          e);
    }
  }
}
