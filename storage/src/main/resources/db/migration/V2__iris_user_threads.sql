-- Each user's threads as the deltas stored so far leave them, kept by triggers in the same
-- transaction as the deltas: the inbox snapshot reads it instead of replaying the history.
-- Idempotent under replays (the sink upserts: a replayed delta fires the UPDATE trigger with the
-- same row): every change only moves forward (GREATEST, or guarded by the seq that set it).
CREATE TABLE iris_user_threads (
  user_id               BIGINT      NOT NULL,
  thread_id             BIGINT      NOT NULL,
  thread_name           TEXT        NULL,
  participant_ids       TEXT        NOT NULL,
  is_member             TINYINT     NOT NULL,
  -- seq of the delta that set thread_name, participant_ids and is_member
  membership_seq        BIGINT      NOT NULL,
  last_activity_ms      BIGINT      NOT NULL,
  last_seq              BIGINT      NOT NULL,
  read_up_to_message_id BIGINT      NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, thread_id),
  KEY iris_user_threads_recent (user_id, is_member, last_activity_ms, thread_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

DELIMITER //

CREATE PROCEDURE iris_apply_delta(
  IN p_user BIGINT, IN p_seq BIGINT, IN p_thread BIGINT, IN p_ts BIGINT, IN p_kind VARCHAR(32),
  IN p_actor BIGINT, IN p_name TEXT, IN p_parts TEXT, IN p_read_up_to BIGINT)
BEGIN
  IF p_kind = 'thread_created' OR p_kind = 'participants_changed' THEN
    -- Assignments run left to right and see earlier ones: membership_seq goes last.
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_seq,
       last_activity_ms, last_seq)
    VALUES
      (p_user, p_thread, p_name, p_parts, FIND_IN_SET(p_user, p_parts) > 0, p_seq, p_ts, p_seq)
    ON DUPLICATE KEY UPDATE
      thread_name = IF(VALUES(membership_seq) >= membership_seq,
                       COALESCE(VALUES(thread_name), thread_name), thread_name),
      participant_ids = IF(VALUES(membership_seq) >= membership_seq,
                           VALUES(participant_ids), participant_ids),
      is_member = IF(VALUES(membership_seq) >= membership_seq, VALUES(is_member), is_member),
      last_activity_ms = GREATEST(last_activity_ms, VALUES(last_activity_ms)),
      last_seq = GREATEST(last_seq, VALUES(last_seq)),
      membership_seq = GREATEST(membership_seq, VALUES(membership_seq));
  ELSEIF p_kind = 'new_message' THEN
    UPDATE iris_user_threads
       SET last_activity_ms = GREATEST(last_activity_ms, p_ts), last_seq = GREATEST(last_seq, p_seq)
     WHERE user_id = p_user AND thread_id = p_thread;
  ELSEIF p_kind = 'read_receipt' AND p_actor = p_user THEN
    UPDATE iris_user_threads
       SET read_up_to_message_id = GREATEST(read_up_to_message_id, p_read_up_to),
           last_seq = GREATEST(last_seq, p_seq)
     WHERE user_id = p_user AND thread_id = p_thread;
  END IF;
END//

CREATE TRIGGER iris_deltas_after_insert AFTER INSERT ON iris_deltas FOR EACH ROW
BEGIN
  CALL iris_apply_delta(NEW.user_id, NEW.seq, NEW.thread_id, NEW.server_ts_ms, NEW.kind,
                        NEW.actor_user_id, NEW.thread_name, NEW.participant_ids,
                        NEW.read_up_to_message_id);
END//

CREATE TRIGGER iris_deltas_after_update AFTER UPDATE ON iris_deltas FOR EACH ROW
BEGIN
  CALL iris_apply_delta(NEW.user_id, NEW.seq, NEW.thread_id, NEW.server_ts_ms, NEW.kind,
                        NEW.actor_user_id, NEW.thread_name, NEW.participant_ids,
                        NEW.read_up_to_message_id);
END//

DELIMITER ;
