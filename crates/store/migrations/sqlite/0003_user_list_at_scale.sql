-- Issue 12 (SPEC §5e P1, P3): the user list at 100,000 users and more.

-- P1: the totals of the user list, kept instead of counted per request.
-- One row per cell of everything a total can filter on (side, firm,
-- office, role, active); a total is the sum of the few cells that match,
-- whatever the number of users. `pending` counts N3's never-emailed users
-- of the cell. Triggers keep it in the same transaction as every write to
-- `users`, whichever code path writes (use cases, mail delivery,
-- migrate-data, purge). NULL firm and office are stored as ''.
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

INSERT INTO user_counts (side, firm_id, office_id, role, active, n, pending)
SELECT side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active, COUNT(*),
       SUM(new_user_email_sent_at IS NULL AND active AND activated_at IS NULL AND new_user_email_status IN ('held', 'failed'))
FROM users GROUP BY side, COALESCE(firm_id, ''), COALESCE(office_id, ''), role, active;

CREATE TRIGGER user_counts_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_counts (side, firm_id, office_id, role, active, n, pending)
    VALUES (NEW.side, COALESCE(NEW.firm_id, ''), COALESCE(NEW.office_id, ''), NEW.role, NEW.active, 1,
            NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
    ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = n + excluded.n, pending = pending + excluded.pending;
END;

CREATE TRIGGER user_counts_delete AFTER DELETE ON users
BEGIN
    UPDATE user_counts SET n = n - 1,
        pending = pending - (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
    WHERE side = OLD.side AND firm_id = COALESCE(OLD.firm_id, '') AND office_id = COALESCE(OLD.office_id, '') AND role = OLD.role AND active = OLD.active;
END;

-- Fires only when the user moves between cells or in or out of N3.
CREATE TRIGGER user_counts_update AFTER UPDATE OF side, firm_id, office_id, role, active, activated_at, new_user_email_sent_at, new_user_email_status ON users
WHEN OLD.side IS NOT NEW.side OR OLD.firm_id IS NOT NEW.firm_id OR OLD.office_id IS NOT NEW.office_id OR OLD.role IS NOT NEW.role
    OR OLD.active IS NOT NEW.active
    OR (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
       IS NOT (NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
BEGIN
    UPDATE user_counts SET n = n - 1,
        pending = pending - (OLD.new_user_email_sent_at IS NULL AND OLD.active AND OLD.activated_at IS NULL AND OLD.new_user_email_status IN ('held', 'failed'))
    WHERE side = OLD.side AND firm_id = COALESCE(OLD.firm_id, '') AND office_id = COALESCE(OLD.office_id, '') AND role = OLD.role AND active = OLD.active;
    INSERT INTO user_counts (side, firm_id, office_id, role, active, n, pending)
    VALUES (NEW.side, COALESCE(NEW.firm_id, ''), COALESCE(NEW.office_id, ''), NEW.role, NEW.active, 1,
            NEW.new_user_email_sent_at IS NULL AND NEW.active AND NEW.activated_at IS NULL AND NEW.new_user_email_status IN ('held', 'failed'))
    ON CONFLICT (side, firm_id, office_id, role, active) DO UPDATE SET n = n + excluded.n, pending = pending + excluded.pending;
END;

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

-- P2: `q` finds any part of a first name, last name or email, through an
-- FTS5 trigram index of the three (a word of 3 characters or more; shorter
-- words use the name and email indexes as prefixes). The index holds no
-- text of its own (contentless); its rowid is a document number of
-- `user_search_docs`, stable whatever happens to the rowids of `users`.
CREATE TABLE user_search_docs ( -- only in this dialect
    doc      INTEGER PRIMARY KEY,
    user_id  TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE user_search USING fts5(text, content = '', contentless_delete = 1, tokenize = 'trigram');

INSERT INTO user_search_docs (user_id) SELECT id FROM users;
INSERT INTO user_search (rowid, text)
SELECT d.doc, u.last_name_norm || ' ' || u.first_name_norm || ' ' || u.email_norm FROM users u JOIN user_search_docs d ON d.user_id = u.id;

CREATE TRIGGER user_search_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_search_docs (user_id) VALUES (NEW.id);
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE user_id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

CREATE TRIGGER user_search_update AFTER UPDATE OF last_name_norm, first_name_norm, email_norm ON users
BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT doc FROM user_search_docs WHERE user_id = OLD.id);
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE user_id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

CREATE TRIGGER user_search_delete AFTER DELETE ON users
BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT doc FROM user_search_docs WHERE user_id = OLD.id);
    DELETE FROM user_search_docs WHERE user_id = OLD.id;
END;
