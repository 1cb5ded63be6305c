package io.iris.topics;

import java.util.List;

/**
 * The names besides topics that operators and data engineers see and that are part of the contract:
 * consumer groups (the pointers), the connector, the streams application, MySQL tables. Written
 * here once; everything else refers to these constants.
 */
public final class Names {
  private Names() {}

  /** Consumer group of the MQTT bridges on {@code iris.log}. */
  public static final String BRIDGE_GROUP = "iris-mqtt-bridge";

  /** The Kafka Connect JDBC sink that writes {@code iris.log} into MySQL. */
  public static final String SINK_CONNECTOR = "iris-mysql-sink";

  /**
   * The sink's consumer group: its committed offsets are the storage pointer. Kafka Connect names a
   * sink's group {@code connect-<connector name>}.
   */
  public static final String SINK_GROUP = "connect-" + SINK_CONNECTOR;

  /** Default {@code application.id} of the streams app (its group and internal-topic prefix). */
  public static final String STREAMS_APPLICATION_ID = "iris-streams";

  /** One row per delta of a user, keyed (user_id, position). */
  public static final String DELTAS_TABLE = "iris_deltas";

  /** One row per (user, thread) the user belongs or belonged to. */
  public static final String USER_THREADS_TABLE = "iris_user_threads";

  /**
   * Per user: how many deltas are stored ({@code stored_count}) and the highest position stored
   * ({@code max_position}).
   */
  public static final String USER_POSITIONS_TABLE = "iris_user_positions";

  /**
   * One row per (user, thread, message) edited or deleted in the user's deltas: the latest edit's
   * text, time and position, and whether it is deleted.
   */
  public static final String MESSAGE_CHANGES_TABLE = "iris_message_changes";

  /**
   * One row per (user, thread, message, reactor) in the user's deltas: the reactor's current emoji
   * (NULL: removed) and the position of the delta that set it.
   */
  public static final String MESSAGE_REACTIONS_TABLE = "iris_message_reactions";

  /**
   * Every table the sink's rows end up in, for tools that empty and rebuild them. (Not the
   * version-1 tables kept aside by migration V5, {@code iris_deltas_v1} and {@code
   * iris_user_threads_v1}: the sink never writes them and a rebuild must not empty them.)
   */
  public static final List<String> TABLES =
      List.of(
          DELTAS_TABLE,
          USER_THREADS_TABLE,
          USER_POSITIONS_TABLE,
          MESSAGE_CHANGES_TABLE,
          MESSAGE_REACTIONS_TABLE);
}
