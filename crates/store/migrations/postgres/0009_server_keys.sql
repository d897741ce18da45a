-- Secrets the server keeps for itself, one row per purpose, made by the
-- first process that needs one and shared by every process of a deployment.
-- 'flash': the key that signs one-time notices carried across a redirect in
-- a cookie, so that a cookie planted by someone else is never shown as
-- Tracker's own message.
CREATE TABLE server_keys (
    purpose TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
