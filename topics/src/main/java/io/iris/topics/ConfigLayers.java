package io.iris.topics;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * How every process of the project reads its settings, lowest precedence first: the defaults of its
 * {@code ConfigDef}, a properties file, then environment variables named {@code IRIS_} + the key in
 * upper case with dots and dashes as underscores ({@code mysql.url} is {@code IRIS_MYSQL_URL}). The
 * variable names are part of what operators configure, so they are made here once for the launcher
 * and the streams app's own main.
 */
public final class ConfigLayers {
  private ConfigLayers() {}

  public static final String ENV_PREFIX = "IRIS_";

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /**
   * The values given for a configuration: every entry of {@code file} (when not null), then, for
   * each of {@code keys}, its environment variable where set; values trimmed. Defaults are the
   * {@code ConfigDef}'s business.
   *
   * @throws IOException when the file cannot be read
   */
  public static Map<String, Object> values(
      Iterable<String> keys, Path file, Map<String, String> env) throws IOException {
    Map<String, Object> values = new HashMap<>();
    if (file != null) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(file)) {
        p.load(in);
      }
      p.stringPropertyNames().forEach(k -> values.put(k, p.getProperty(k).trim()));
    }
    // Kafka client properties for every client (kafka.client.*): any name, so not in the keys.
    values.putAll(KafkaClientProperties.fromEnv(env));
    for (String key : keys) {
      String value = env.get(envName(key));
      if (value != null) {
        values.put(key, value.trim());
      }
    }
    return values;
  }
}
