-- Issue 13 (SPEC §5a DIR1–DIR3): directory provisioning over SCIM 2.0.
-- Keep in step with ../sqlite/0006_directory.sql.

-- DIR2: named bearer tokens of the directory, stored as SHA-256 (S1).
CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    created_by    TEXT REFERENCES users (id),
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

-- DIR1/DIR3: a user created or linked by the directory. `user_name` is the
-- directory's login (unique without regard to case); `department` is kept
-- as sent even when no office has that name; `deprovisioned_at` is set by
-- a SCIM DELETE (D1: the user stays, deactivated; the resource is gone).
CREATE TABLE directory_users (
    user_id           TEXT PRIMARY KEY REFERENCES users (id),
    user_name         TEXT NOT NULL,
    user_name_norm    TEXT NOT NULL UNIQUE,
    external_id       TEXT,
    department        TEXT,
    deprovisioned_at  BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX directory_users_by_external_id ON directory_users (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX directory_users_by_created ON directory_users (created_at, user_id);

-- DIR3: each responsibility a directory-deactivated user still held.
CREATE TABLE offboarding_items (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    target_name  TEXT NOT NULL,
    fix          TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    resolved_at  BIGINT
);
CREATE INDEX offboarding_items_by_user ON offboarding_items (user_id);
CREATE INDEX offboarding_items_open ON offboarding_items (created_at, id) WHERE resolved_at IS NULL;
