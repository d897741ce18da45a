-- Issue 11 (S10, S11): sessions end after an idle time and an absolute
-- lifetime, both company settings; a sign-in link is valid only for the
-- address it was sent to.
ALTER TABLE settings ADD COLUMN session_idle_minutes BIGINT NOT NULL DEFAULT 30;
ALTER TABLE settings ADD COLUMN session_lifetime_hours BIGINT NOT NULL DEFAULT 12;

ALTER TABLE sign_in_links ADD COLUMN sent_to TEXT NOT NULL DEFAULT '';
UPDATE sign_in_links SET sent_to = users.email_norm FROM users WHERE users.id = sign_in_links.user_id;

-- S11: the sweep of idle sessions.
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
