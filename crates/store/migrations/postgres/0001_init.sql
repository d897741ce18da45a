-- Tracker schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql:
-- same tables, columns, indexes and version numbers.
-- Timestamps are milliseconds since the Unix epoch (BIGINT) in both dialects.
-- The *_norm columns compare byte-wise (COLLATE "C"), as SQLite's do, so that
-- prefix search is an index range on both.

CREATE TABLE firms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_norm   TEXT COLLATE "C" NOT NULL UNIQUE,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE offices (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    name_norm              TEXT COLLATE "C" NOT NULL UNIQUE,
    active                 BOOLEAN NOT NULL DEFAULT TRUE,
    coordinator_id         TEXT,
    backup_coordinator_id  TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE users (
    id                       TEXT PRIMARY KEY,
    email                    TEXT NOT NULL,
    email_norm               TEXT COLLATE "C" NOT NULL UNIQUE,
    first_name               TEXT NOT NULL,
    last_name                TEXT NOT NULL,
    first_name_norm          TEXT COLLATE "C" NOT NULL,
    last_name_norm           TEXT COLLATE "C" NOT NULL,
    side                     TEXT NOT NULL CHECK (side IN ('company', 'firm')),
    firm_id                  TEXT REFERENCES firms (id),
    office_id                TEXT REFERENCES offices (id),
    role                     TEXT NOT NULL,
    active                   BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash            TEXT,
    activated_at             BIGINT,
    last_sign_in_at          BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    deactivated_at           BIGINT,
    new_user_email_status    TEXT NOT NULL CHECK (new_user_email_status IN ('held', 'queued', 'sent', 'failed')),
    new_user_email_sent_at   BIGINT,
    new_user_email_count     BIGINT NOT NULL DEFAULT 0,
    new_user_email_changed_at BIGINT,
    failed_sign_ins          BIGINT NOT NULL DEFAULT 0,
    failed_window_start      BIGINT,
    locked_until             BIGINT,
    lock_reason              TEXT,
    unlocked_at              BIGINT,
    CHECK ((side = 'firm') = (firm_id IS NOT NULL))
);

-- The user list (R2): every org/status selector with the default order.
CREATE INDEX users_by_status_name ON users (active, last_name_norm, first_name_norm, id);
CREATE INDEX users_by_side_name ON users (side, active, last_name_norm, first_name_norm, id);
CREATE INDEX users_by_firm_name ON users (firm_id, active, last_name_norm, first_name_norm, id);
CREATE INDEX users_by_office_name ON users (office_id, active, last_name_norm, first_name_norm, id);
-- Prefix search on names (R2 `q`); the email prefix uses the unique index.
CREATE INDEX users_by_first_name ON users (first_name_norm);
CREATE INDEX users_by_last_sign_in ON users (last_sign_in_at);
CREATE INDEX users_locked ON users (locked_until) WHERE locked_until IS NOT NULL;
-- N3: active users never sent the new user email.
CREATE INDEX users_never_emailed ON users (last_name_norm, first_name_norm) WHERE new_user_email_sent_at IS NULL;

CREATE INDEX offices_coordinator ON offices (coordinator_id) WHERE coordinator_id IS NOT NULL;
CREATE INDEX offices_backup_coordinator ON offices (backup_coordinator_id) WHERE backup_coordinator_id IS NOT NULL;

CREATE TABLE settings (
    id                        BIGINT PRIMARY KEY CHECK (id = 1),
    company_name              TEXT NOT NULL,
    active_directory_sync     BOOLEAN NOT NULL DEFAULT FALSE,
    tracker_coordinator_id    TEXT REFERENCES users (id),
    password_min_length       BIGINT NOT NULL DEFAULT 12,
    password_min_classes      BIGINT NOT NULL DEFAULT 3,
    password_history          BIGINT NOT NULL DEFAULT 5,
    lockout_max_failures      BIGINT NOT NULL DEFAULT 5,
    lockout_window_minutes    BIGINT NOT NULL DEFAULT 15,
    lockout_duration_minutes  BIGINT NOT NULL DEFAULT 30,
    inactivity_days           BIGINT NOT NULL DEFAULT 90,
    link_ttl_hours            BIGINT NOT NULL DEFAULT 168,
    updated_at                BIGINT NOT NULL
);
INSERT INTO settings (id, company_name, updated_at) VALUES (1, 'The Company', 0);

CREATE TABLE matters (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    number                  TEXT NOT NULL,
    number_norm             TEXT COLLATE "C" NOT NULL UNIQUE,
    lead_company_person_id  TEXT NOT NULL REFERENCES users (id),
    open_for_editing        BOOLEAN NOT NULL DEFAULT TRUE,
    open_for_invoicing      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
-- D3: open matters led by a user.
CREATE INDEX matters_open_by_lead ON matters (lead_company_person_id) WHERE open_for_editing OR open_for_invoicing;
CREATE INDEX matters_by_lead ON matters (lead_company_person_id);
CREATE INDEX matters_by_name ON matters (name, id);

CREATE TABLE participants (
    matter_id               TEXT NOT NULL REFERENCES matters (id),
    user_id                 TEXT NOT NULL REFERENCES users (id),
    role                    TEXT NOT NULL,
    receives_notifications  BOOLEAN NOT NULL DEFAULT TRUE,
    added_at                BIGINT NOT NULL,
    PRIMARY KEY (matter_id, user_id)
);
CREATE INDEX participants_by_user ON participants (user_id, matter_id);

CREATE TABLE delegations (
    delegator_id  TEXT NOT NULL REFERENCES users (id),
    delegate_id   TEXT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (delegator_id, delegate_id),
    CHECK (delegator_id <> delegate_id)
);
CREATE INDEX delegations_by_delegate ON delegations (delegate_id, delegator_id);

CREATE TABLE approval_routes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_norm   TEXT COLLATE "C" NOT NULL UNIQUE,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE approval_route_levels (
    route_id               TEXT NOT NULL REFERENCES approval_routes (id),
    position               BIGINT NOT NULL,
    primary_approver_id    TEXT NOT NULL REFERENCES users (id),
    alternate_approver_id  TEXT REFERENCES users (id),
    PRIMARY KEY (route_id, position)
);
CREATE INDEX route_levels_by_primary ON approval_route_levels (primary_approver_id);
CREATE INDEX route_levels_by_alternate ON approval_route_levels (alternate_approver_id) WHERE alternate_approver_id IS NOT NULL;

CREATE TABLE approval_route_delegates (
    route_id  TEXT NOT NULL,
    position  BIGINT NOT NULL,
    user_id   TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (route_id, position, user_id),
    FOREIGN KEY (route_id, position) REFERENCES approval_route_levels (route_id, position)
);
CREATE INDEX route_delegates_by_user ON approval_route_delegates (user_id);

-- S1: only hashes of session tokens are stored.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    source_ip     TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- N5/N6: one-time sign-in links, stored as hashes.
CREATE TABLE sign_in_links (
    token_hash      TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    purpose         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    invalidated_at  BIGINT
);
CREATE INDEX sign_in_links_by_user ON sign_in_links (user_id);

-- S3: no reuse of recent passwords.
CREATE TABLE password_history (
    user_id        TEXT NOT NULL REFERENCES users (id),
    set_at         BIGINT NOT NULL,
    password_hash  TEXT NOT NULL,
    PRIMARY KEY (user_id, set_at)
);

-- N8: the outbox. Rows are written in the transaction of the change that
-- causes them and delivered by the worker.
CREATE TABLE mail_outbox (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL,
    to_user_id       TEXT REFERENCES users (id),
    to_address       TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE status IN ('queued', 'sending');
CREATE INDEX mail_outbox_by_user ON mail_outbox (to_user_id, id);

-- Append-only audit log (R3).
CREATE TABLE audit_log (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     TEXT,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT,
    before_json  TEXT,
    after_json   TEXT,
    source_ip    TEXT
);
CREATE INDEX audit_by_target ON audit_log (target_id, id);
CREATE INDEX audit_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE INDEX audit_by_time ON audit_log (at, id);
