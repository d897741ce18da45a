-- Issue 15 (SPEC §5b O3): deactivations scheduled for a leaving date, with
-- the successors chosen for the user's responsibilities, run by the
-- scheduler inside `tracker serve`.
CREATE TABLE scheduled_deactivations (
    user_id               TEXT PRIMARY KEY REFERENCES users (id),
    effective_at          BIGINT NOT NULL,
    -- `{"item key" or "item kind": user id}`, as the administrator chose them.
    successors_json       TEXT NOT NULL,
    default_successor_id  TEXT REFERENCES users (id),
    status                TEXT NOT NULL CHECK (status IN ('scheduled', 'done', 'failed')),
    -- Why a run deactivated nothing (an ineligible or missing successor).
    failure               TEXT,
    created_by_id         TEXT REFERENCES users (id),
    created_by_label      TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    reminded_at           BIGINT,
    ran_at                BIGINT
);
-- The scheduler's two questions, due plans and plans to remind about, both
-- index ranges of what is still scheduled.
CREATE INDEX scheduled_deactivations_due ON scheduled_deactivations (effective_at) WHERE status = 'scheduled';

-- Days before the date at which the administrators are reminded of a plan
-- that still has unassigned blocking items.
ALTER TABLE settings ADD COLUMN offboarding_reminder_days BIGINT NOT NULL DEFAULT 3;
