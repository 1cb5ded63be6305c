-- Per user: how many deltas are stored and the highest seq. Equal means the stored deltas are
-- exactly 1..max_seq, with no gap: the snapshot's consistency check in O(1) instead of counting
-- the user's rows. Counted on INSERT only; a replay (the sink's upsert) fires UPDATE and counts
-- nothing twice.
CREATE TABLE iris_user_seq (
  user_id      BIGINT NOT NULL,
  stored_count BIGINT NOT NULL,
  max_seq      BIGINT NOT NULL,
  PRIMARY KEY (user_id)
) ENGINE = InnoDB;

INSERT INTO iris_user_seq (user_id, stored_count, max_seq)
  SELECT user_id, COUNT(*), MAX(seq) FROM iris_deltas GROUP BY user_id;

DROP TRIGGER iris_deltas_after_insert;

DELIMITER //

CREATE TRIGGER iris_deltas_after_insert AFTER INSERT ON iris_deltas FOR EACH ROW
BEGIN
  INSERT INTO iris_user_seq (user_id, stored_count, max_seq) VALUES (NEW.user_id, 1, NEW.seq)
    ON DUPLICATE KEY UPDATE stored_count = stored_count + 1, max_seq = GREATEST(max_seq, NEW.seq);
  CALL iris_apply_delta(NEW.user_id, NEW.seq, NEW.thread_id, NEW.server_ts_ms, NEW.kind,
                        NEW.actor_user_id, NEW.thread_name, NEW.participant_ids,
                        NEW.read_up_to_message_id);
END//

DELIMITER ;
