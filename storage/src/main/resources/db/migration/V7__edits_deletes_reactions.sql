-- Issue 20: edits, deletes, reactions and attachments. Three kinds of delta (message_edited,
-- message_deleted, reaction_changed) and three columns (io.iris.topics.DeltaColumns):
--   emoji        reaction_changed: the reactor's emoji; NULL: the reactor removed theirs
--   attachments  new_message: the attachments' metadata as Thrift JSON (TJSONProtocol, fields by
--                their ids in the IDL's Attachment, binary as base64); NULL when none
--   rule         command_rejected: the rule that refused the command (CommandRejected.rule)
-- message_edited uses text (the new text), every new kind actor_user_id (the sender, deleter or
-- reactor), message_id and client_id.
--
-- The sink does not evolve the table (schema.evolution=none): run this migration before a Connect
-- worker with the new iris plugin writes rows. Nullable columns at the end: MySQL 8 and MariaDB
-- 10.3+ add them instantly, without rewriting the table; rows the old plugin writes meanwhile
-- leave them NULL.
ALTER TABLE iris_deltas
  ADD COLUMN emoji       VARCHAR(64) NULL,
  ADD COLUMN attachments MEDIUMTEXT  NULL,
  ADD COLUMN rule        VARCHAR(64) NULL;

-- What a snapshot shows of a message besides its new_message row, kept by triggers in the sink's
-- transaction as iris_user_threads is, per user (each member's own deltas, like every table here).
-- The sink may write a batch in any order and replays records (upsert: the UPDATE trigger fires
-- with the same row), so every value is guarded by the position of the delta that set it, or only
-- moves one way:
--  * the edit with the highest position wins: text and time are replaced only by a delta at a
--    position >= edit_position, and edit_position is assigned last (assignments run left to right
--    and see the earlier ones);
--  * deleted only goes from 0 to 1 (a message is never undeleted);
--  * per reactor, the reaction_changed with the highest position wins, a removal included: a
--    removal keeps its row with emoji NULL, so that an older reaction arriving later cannot bring
--    the emoji back.
-- Edits and reactions of a deleted message are kept; the snapshot ignores them (SnapshotBuilder).
CREATE TABLE iris_message_changes (
  user_id       BIGINT     NOT NULL,
  thread_id     BIGINT     NOT NULL,
  message_id    BIGINT     NOT NULL,
  -- the latest edit: its text, its delta's server time and position; NULL, NULL, -1 when the
  -- message is only deleted
  edit_text     MEDIUMTEXT NULL,
  edited_at_ms  BIGINT     NULL,
  edit_position BIGINT     NOT NULL,
  deleted       TINYINT    NOT NULL,
  -- a snapshot reads the rows of its last messages: points of the primary key
  PRIMARY KEY (user_id, thread_id, message_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE iris_message_reactions (
  user_id           BIGINT      NOT NULL,
  thread_id         BIGINT      NOT NULL,
  message_id        BIGINT      NOT NULL,
  reactor_user_id   BIGINT      NOT NULL,
  -- NULL: removed
  emoji             VARCHAR(64) NULL,
  reaction_position BIGINT      NOT NULL,
  -- a snapshot reads the rows of its last messages: ranges of the primary key
  PRIMARY KEY (user_id, thread_id, message_id, reactor_user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

DELIMITER //

CREATE PROCEDURE iris_apply_message_change(
  IN p_user BIGINT, IN p_pos BIGINT, IN p_thread BIGINT, IN p_ts BIGINT, IN p_kind VARCHAR(32),
  IN p_actor BIGINT, IN p_message BIGINT, IN p_text MEDIUMTEXT, IN p_emoji VARCHAR(64))
BEGIN
  IF p_kind = 'message_edited' THEN
    -- Assignments run left to right and see earlier ones: edit_position goes last.
    INSERT INTO iris_message_changes
      (user_id, thread_id, message_id, edit_text, edited_at_ms, edit_position, deleted)
    VALUES (p_user, p_thread, p_message, p_text, p_ts, p_pos, 0)
    ON DUPLICATE KEY UPDATE
      edit_text = IF(VALUES(edit_position) >= edit_position, VALUES(edit_text), edit_text),
      edited_at_ms = IF(VALUES(edit_position) >= edit_position,
                        VALUES(edited_at_ms), edited_at_ms),
      edit_position = GREATEST(edit_position, VALUES(edit_position));
  ELSEIF p_kind = 'message_deleted' THEN
    INSERT INTO iris_message_changes
      (user_id, thread_id, message_id, edit_text, edited_at_ms, edit_position, deleted)
    VALUES (p_user, p_thread, p_message, NULL, NULL, -1, 1)
    ON DUPLICATE KEY UPDATE deleted = 1;
  ELSEIF p_kind = 'reaction_changed' THEN
    -- An empty emoji is a removal, as the command's (the streams app sends none, but the row
    -- could hold one). Not NULLIF(p_emoji, ''): the collation pads, so ' ' = '' there, and ' ' is
    -- an emoji like any other string to the streams app and SnapshotBuilder.
    INSERT INTO iris_message_reactions
      (user_id, thread_id, message_id, reactor_user_id, emoji, reaction_position)
    VALUES (p_user, p_thread, p_message, p_actor, IF(LENGTH(p_emoji) = 0, NULL, p_emoji), p_pos)
    ON DUPLICATE KEY UPDATE
      emoji = IF(VALUES(reaction_position) >= reaction_position, VALUES(emoji), emoji),
      reaction_position = GREATEST(reaction_position, VALUES(reaction_position));
  END IF;
END//

-- Triggers of their own, next to V5's (a table may have several per event since MySQL 5.7 and
-- MariaDB 10.2): V5's stay in place, so no row the sink writes while this runs misses them.
CREATE TRIGGER iris_deltas_after_insert_message AFTER INSERT ON iris_deltas FOR EACH ROW
BEGIN
  CALL iris_apply_message_change(NEW.user_id, NEW.position, NEW.thread_id, NEW.server_ts_ms,
                                 NEW.kind, NEW.actor_user_id, NEW.message_id, NEW.text,
                                 NEW.emoji);
END//

CREATE TRIGGER iris_deltas_after_update_message AFTER UPDATE ON iris_deltas FOR EACH ROW
BEGIN
  CALL iris_apply_message_change(NEW.user_id, NEW.position, NEW.thread_id, NEW.server_ts_ms,
                                 NEW.kind, NEW.actor_user_id, NEW.message_id, NEW.text,
                                 NEW.emoji);
END//

DELIMITER ;
