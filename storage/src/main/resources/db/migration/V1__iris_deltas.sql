-- Tier 3: every delta of iris.log, one row each, written by the JDBC sink (upsert on
-- user_id, seq: a replayed record rewrites the same row). Columns follow
-- io.iris.connect.DeltaSchema; times are epoch milliseconds (BIGINT), which MySQL and MariaDB
-- store alike.
CREATE TABLE iris_deltas (
  user_id               BIGINT       NOT NULL,
  seq                   BIGINT       NOT NULL,
  prev_seq              BIGINT       NOT NULL,
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
  PRIMARY KEY (user_id, seq),
  -- a user's deltas of one thread in order: last messages of a thread, unread counts
  KEY iris_deltas_user_thread_seq (user_id, thread_id, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
