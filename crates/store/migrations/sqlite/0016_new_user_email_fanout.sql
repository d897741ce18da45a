-- N3 (P3): confirming the new user email for many users writes one
-- `mail_fanout` row naming them all, instead of one outbox row each; the
-- mail worker turns it into outbox rows a slice at a time (store crate,
-- `fanout.rs`). A user still waiting for their row carries the
-- fanout's id; withdrawing their mail clears it, so the worker skips them.
-- Neither column is indexed, so marking users stays a heap-only update.
ALTER TABLE users ADD COLUMN new_user_email_fanout INTEGER;

CREATE TABLE mail_fanout (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    -- A JSON array of user ids; the worker goes on from `next_index`.
    user_ids    TEXT NOT NULL,
    next_index  INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL,
    -- How many of them still wait (stamped): the queued mail of OP2.
    pending     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
