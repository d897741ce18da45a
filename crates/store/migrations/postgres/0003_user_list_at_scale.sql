-- Issue 12 (SPEC §5e P1, P3): the user list at 100,000 users and more.

-- P1: the totals of the user list, kept instead of counted per request.
-- One row per cell of everything a total can filter on (side, firm,
-- office, role, active); a total is the sum of the few cells that match,
-- whatever the number of users. `pending` counts N3's never-emailed users
-- of the cell. Statement-level triggers keep it in the same transaction as
-- every write to `users`, whichever code path writes, with one upsert per
-- touched cell even when one statement changes 100,000 users (N3). NULL
-- firm and office are stored as ''.
CREATE TABLE user_counts (
    side       TEXT NOT NULL,
    firm_id    TEXT NOT NULL,
    office_id  TEXT NOT NULL,
    role       TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    n          BIGINT NOT NULL,
    pending    BIGINT NOT NULL,
    PRIMARY KEY (side, firm_id, office_id, role, active)
);

-- N3: never sent the new user email, active, never activated, not queued.
CREATE FUNCTION user_is_pending(sent_at BIGINT, active BOOLEAN, activated_at BIGINT, status TEXT) RETURNS INT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN sent_at IS NULL AND active AND activated_at IS NULL AND status IN ('held', 'failed') THEN 1 ELSE 0 END
$$;

INSERT INTO user_counts (side, firm_id, office_id, role, active, n, pending)
SELECT side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active, COUNT(*),
       SUM(user_is_pending(new_user_email_sent_at, active, activated_at, new_user_email_status))
FROM users GROUP BY side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active;

-- The changed cells are upserted in key order, so that two transactions
-- moving users between the same cells lock them in the same order.
CREATE FUNCTION user_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_counts AS c (side, firm_id, office_id, role, active, n, pending)
        SELECT side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active, COUNT(*),
               SUM(user_is_pending(new_user_email_sent_at, active, activated_at, new_user_email_status))
        FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = c.n + EXCLUDED.n, pending = c.pending + EXCLUDED.pending;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO user_counts AS c (side, firm_id, office_id, role, active, n, pending)
        SELECT side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active, -COUNT(*),
               -SUM(user_is_pending(new_user_email_sent_at, active, activated_at, new_user_email_status))
        FROM old_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = c.n + EXCLUDED.n, pending = c.pending + EXCLUDED.pending;
    ELSE
        INSERT INTO user_counts AS c (side, firm_id, office_id, role, active, n, pending)
        SELECT side, firm_id, office_id, role, active, SUM(dn), SUM(dp)
        FROM (
            SELECT side, COALESCE(firm_id, '') AS firm_id, COALESCE(office_id, '') AS office_id, role, active, -1 AS dn,
                   -user_is_pending(new_user_email_sent_at, active, activated_at, new_user_email_status) AS dp
            FROM old_rows
            UNION ALL
            SELECT side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active, 1,
                   user_is_pending(new_user_email_sent_at, active, activated_at, new_user_email_status)
            FROM new_rows
        ) d
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(dn) <> 0 OR SUM(dp) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = c.n + EXCLUDED.n, pending = c.pending + EXCLUDED.pending;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();
CREATE TRIGGER user_counts_update AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();
CREATE TRIGGER user_counts_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();

-- P1: every sort of every organisation × status selector reads an index in
-- order, forwards or backwards, with no sort step. `status=all` merges the
-- active and the inactive range of the same index (UNION ALL). Last sign-in
-- puts never-signed-in users last in both orders, hence one expression per
-- order: the largest value ascending, the smallest descending. Emails
-- are unique: their key needs no id.
DROP INDEX users_by_last_sign_in;
CREATE INDEX users_by_status_email ON users (active, email_norm);
CREATE INDEX users_by_side_email ON users (side, active, email_norm);
CREATE INDEX users_by_firm_email ON users (firm_id, active, email_norm);
CREATE INDEX users_by_office_email ON users (office_id, active, email_norm);
CREATE INDEX users_by_status_sign_in_asc ON users (active, COALESCE(last_sign_in_at, 9223372036854775807), id);
CREATE INDEX users_by_side_sign_in_asc ON users (side, active, COALESCE(last_sign_in_at, 9223372036854775807), id);
CREATE INDEX users_by_firm_sign_in_asc ON users (firm_id, active, COALESCE(last_sign_in_at, 9223372036854775807), id);
CREATE INDEX users_by_office_sign_in_asc ON users (office_id, active, COALESCE(last_sign_in_at, 9223372036854775807), id);
CREATE INDEX users_by_status_sign_in_desc ON users (active, COALESCE(last_sign_in_at, -1), id);
CREATE INDEX users_by_side_sign_in_desc ON users (side, active, COALESCE(last_sign_in_at, -1), id);
CREATE INDEX users_by_firm_sign_in_desc ON users (firm_id, active, COALESCE(last_sign_in_at, -1), id);
CREATE INDEX users_by_office_sign_in_desc ON users (office_id, active, COALESCE(last_sign_in_at, -1), id);
-- P3: N3's report pages through the never-emailed users in name order.
DROP INDEX users_never_emailed;
CREATE INDEX users_never_emailed_by_name ON users (last_name_norm, first_name_norm, id) WHERE new_user_email_sent_at IS NULL AND activated_at IS NULL;

-- P2: `q` finds any part of a first name, last name or email, through a
-- pg_trgm index of the three (a word of 3 characters or more; shorter
-- words use the name and email indexes as prefixes). Creating the
-- extension needs the CREATE privilege on the database (pg_trgm is a
-- trusted extension), or a superuser to create it beforehand. No pending
-- list (fastupdate): a search never scans unmerged entries, and the
-- planner's estimate stays that of the index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin ((last_name_norm || ' ' || first_name_norm || ' ' || email_norm) gin_trgm_ops) WITH (fastupdate = off); -- only in this dialect
