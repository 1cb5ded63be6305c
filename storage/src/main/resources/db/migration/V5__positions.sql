-- Version 2: a delta is stored under its POSITION, its offset in its user's partition of iris.log,
-- instead of a per-user seq. The sink adds the offset as the column `position` (Connect's
-- InsertField transform, connectors/src/main/resources/connect/iris-mysql-sink.json) and upserts
-- on (user_id, position). A user's positions only grow but are not contiguous: other users'
-- deltas, transaction markers and aborted records take offsets of the same partition.
--
-- The version-1 rows are KEPT ASIDE, not deleted: iris_deltas is renamed to iris_deltas_v1, and
-- the thread table the triggers derived from it to iris_user_threads_v1. A v1 row cannot be given
-- a position (its offset was never stored), and a seq cannot be compared with a position, so
-- nothing of version 2 reads these tables; drop them once the old history is no longer wanted.
-- iris_user_seq (per user: COUNT(*) and MAX(seq) of the v1 rows, nothing else) is dropped: one
-- GROUP BY over iris_deltas_v1 gives it back.
--
-- The version-2 tables start empty; the sink fills them from iris.log.
--
-- MySQL and MariaDB commit each DDL statement on its own: should this migration fail half way,
-- repair by hand from the statement that failed (Flyway records it as failed).

-- A table's triggers move with it on RENAME: drop them first, so that the v1 table keeps none.
DROP TRIGGER iris_deltas_after_insert;
DROP TRIGGER iris_deltas_after_update;
DROP PROCEDURE iris_apply_delta;

RENAME TABLE iris_deltas TO iris_deltas_v1,
             iris_user_threads TO iris_user_threads_v1;

DROP TABLE iris_user_seq;

-- Tier 3: every delta of iris.log, one row each, written by the JDBC sink (upsert on
-- user_id, position: a replayed record rewrites the same row). Columns follow
-- io.iris.topics.DeltaColumns; times are epoch milliseconds (BIGINT).
CREATE TABLE iris_deltas (
  user_id               BIGINT       NOT NULL,
  position              BIGINT       NOT NULL,
  thread_id             BIGINT       NOT NULL,
  server_ts_ms          BIGINT       NOT NULL,
  kind                  VARCHAR(32)  NOT NULL,
  actor_user_id         BIGINT       NULL,
  message_id            BIGINT       NULL,
  text                  MEDIUMTEXT   NULL,
  client_id             VARCHAR(64)  NULL,
  sender_device_id      VARCHAR(64)  NULL,
  thread_name           TEXT         NULL,
  participant_ids       TEXT         NULL,
  added_ids             TEXT         NULL,
  removed_ids           TEXT         NULL,
  read_up_to_message_id BIGINT       NULL,
  error_code            VARCHAR(32)  NULL,
  -- a user's deltas in position order: catch-up pages, counts after a position, the highest
  PRIMARY KEY (user_id, position),
  -- a user's deltas of one thread in order: last messages of a thread, unread counts
  KEY iris_deltas_user_thread_position (user_id, thread_id, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Each user's threads as the deltas stored so far leave them, kept by triggers in the same
-- transaction as the deltas: the inbox snapshot reads it instead of replaying the history.
-- Idempotent under replays (the sink upserts: a replayed delta fires the UPDATE trigger with the
-- same row) and independent of the order in which a batch is written: every change only moves
-- forward (GREATEST, or guarded by the position that set it).
CREATE TABLE iris_user_threads (
  user_id               BIGINT      NOT NULL,
  thread_id             BIGINT      NOT NULL,
  thread_name           TEXT        NULL,
  participant_ids       TEXT        NOT NULL,
  is_member             TINYINT     NOT NULL,
  -- position of the delta that set thread_name, participant_ids and is_member; -1 for a
  -- placeholder (a message or read mark stored before the thread's creation)
  membership_position   BIGINT      NOT NULL,
  last_activity_ms      BIGINT      NOT NULL,
  last_position         BIGINT      NOT NULL,
  read_up_to_message_id BIGINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, thread_id),
  KEY iris_user_threads_recent (user_id, is_member, last_activity_ms, thread_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Per user: how many deltas are stored and the highest position stored (the storage pointer per
-- user, for tools). Positions are not contiguous, so stored_count says nothing about gaps.
-- Counted on INSERT only; a replay (the sink's upsert) fires UPDATE and counts nothing twice.
CREATE TABLE iris_user_positions (
  user_id      BIGINT NOT NULL,
  stored_count BIGINT NOT NULL,
  max_position BIGINT NOT NULL,
  PRIMARY KEY (user_id)
) ENGINE = InnoDB;

DELIMITER //

CREATE PROCEDURE iris_apply_delta(
  IN p_user BIGINT, IN p_pos BIGINT, IN p_thread BIGINT, IN p_ts BIGINT, IN p_kind VARCHAR(32),
  IN p_actor BIGINT, IN p_name TEXT, IN p_parts TEXT, IN p_read_up_to BIGINT)
BEGIN
  IF p_kind = 'thread_created' OR p_kind = 'participants_changed' THEN
    -- Assignments run left to right and see earlier ones: membership_position goes last.
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_position,
       last_activity_ms, last_position)
    VALUES
      (p_user, p_thread, p_name, p_parts, FIND_IN_SET(p_user, p_parts) > 0, p_pos, p_ts, p_pos)
    ON DUPLICATE KEY UPDATE
      thread_name = IF(VALUES(membership_position) >= membership_position,
                       COALESCE(VALUES(thread_name), thread_name), thread_name),
      participant_ids = IF(VALUES(membership_position) >= membership_position,
                           VALUES(participant_ids), participant_ids),
      is_member = IF(VALUES(membership_position) >= membership_position,
                     VALUES(is_member), is_member),
      last_activity_ms = GREATEST(last_activity_ms, VALUES(last_activity_ms)),
      last_position = GREATEST(last_position, VALUES(last_position)),
      membership_position = GREATEST(membership_position, VALUES(membership_position));
  ELSEIF p_kind = 'new_message' THEN
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_position,
       last_activity_ms, last_position)
    VALUES (p_user, p_thread, NULL, '', 0, -1, p_ts, p_pos)
    ON DUPLICATE KEY UPDATE
      last_activity_ms = GREATEST(last_activity_ms, VALUES(last_activity_ms)),
      last_position = GREATEST(last_position, VALUES(last_position));
  ELSEIF p_kind = 'read_receipt' AND p_actor = p_user THEN
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_position,
       last_activity_ms, last_position, read_up_to_message_id)
    VALUES (p_user, p_thread, NULL, '', 0, -1, 0, p_pos, p_read_up_to)
    ON DUPLICATE KEY UPDATE
      read_up_to_message_id = GREATEST(read_up_to_message_id, VALUES(read_up_to_message_id)),
      last_position = GREATEST(last_position, VALUES(last_position));
  END IF;
END//

CREATE TRIGGER iris_deltas_after_insert AFTER INSERT ON iris_deltas FOR EACH ROW
BEGIN
  INSERT INTO iris_user_positions (user_id, stored_count, max_position)
    VALUES (NEW.user_id, 1, NEW.position)
    ON DUPLICATE KEY UPDATE stored_count = stored_count + 1,
                            max_position = GREATEST(max_position, NEW.position);
  CALL iris_apply_delta(NEW.user_id, NEW.position, NEW.thread_id, NEW.server_ts_ms, NEW.kind,
                        NEW.actor_user_id, NEW.thread_name, NEW.participant_ids,
                        NEW.read_up_to_message_id);
END//

CREATE TRIGGER iris_deltas_after_update AFTER UPDATE ON iris_deltas FOR EACH ROW
BEGIN
  CALL iris_apply_delta(NEW.user_id, NEW.position, NEW.thread_id, NEW.server_ts_ms, NEW.kind,
                        NEW.actor_user_id, NEW.thread_name, NEW.participant_ids,
                        NEW.read_up_to_message_id);
END//

DELIMITER ;
