package io.iris.connect;

import io.iris.protocol.FrameCodec;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.connect.storage.ConverterConfig;

/** Configuration of {@link IrisDeltaConverter}, in the style of Kafka's JsonConverterConfig. */
public final class IrisDeltaConverterConfig extends ConverterConfig {

  public static final String MAX_FRAME_BYTES_CONFIG = "max.frame.bytes";
  public static final int MAX_FRAME_BYTES_DEFAULT = FrameCodec.DEFAULT_MAX_FRAME_BYTES;
  private static final String MAX_FRAME_BYTES_DOC =
      "Largest Delta frame accepted. A larger record fails conversion and, with"
          + " errors.tolerance=all, goes to the connector's dead-letter topic.";
  private static final String MAX_FRAME_BYTES_DISPLAY = "Largest frame (bytes)";

  private static final ConfigDef CONFIG =
      ConverterConfig.newConfigDef()
          .define(
              MAX_FRAME_BYTES_CONFIG,
              Type.INT,
              MAX_FRAME_BYTES_DEFAULT,
              Range.between(2, Integer.MAX_VALUE),
              Importance.LOW,
              MAX_FRAME_BYTES_DOC,
              "Frames",
              1,
              ConfigDef.Width.SHORT,
              MAX_FRAME_BYTES_DISPLAY);

  public static ConfigDef configDef() {
    return CONFIG;
  }

  public IrisDeltaConverterConfig(Map<String, ?> props) {
    super(CONFIG, props);
  }

  public int maxFrameBytes() {
    return getInt(MAX_FRAME_BYTES_CONFIG);
  }
}
