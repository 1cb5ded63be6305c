-- The sink may write a user's deltas of one batch in another order than their seqs (Debezium's
-- reduction buffer reorders by key). A message or read receipt that arrives before its thread's
-- creation used to find no thread row and change nothing. Now it creates a placeholder row
-- (membership_seq 0, not a member) that the creation, whose seq is higher than 0, fills in.
DROP PROCEDURE iris_apply_delta;

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
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_seq,
       last_activity_ms, last_seq)
    VALUES (p_user, p_thread, NULL, '', 0, 0, p_ts, p_seq)
    ON DUPLICATE KEY UPDATE
      last_activity_ms = GREATEST(last_activity_ms, VALUES(last_activity_ms)),
      last_seq = GREATEST(last_seq, VALUES(last_seq));
  ELSEIF p_kind = 'read_receipt' AND p_actor = p_user THEN
    INSERT INTO iris_user_threads
      (user_id, thread_id, thread_name, participant_ids, is_member, membership_seq,
       last_activity_ms, last_seq, read_up_to_message_id)
    VALUES (p_user, p_thread, NULL, '', 0, 0, 0, p_seq, p_read_up_to)
    ON DUPLICATE KEY UPDATE
      read_up_to_message_id = GREATEST(read_up_to_message_id, VALUES(read_up_to_message_id)),
      last_seq = GREATEST(last_seq, VALUES(last_seq));
  END IF;
END//

DELIMITER ;
