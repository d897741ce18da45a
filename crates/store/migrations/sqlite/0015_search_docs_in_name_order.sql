-- P2 on SQLite: a search's page comes from the trigram index in order.
-- A document's number (`doc`, the rowid of the trigram index) now follows
-- the list's default order, the name: within each of two partitions,
-- active users below 2^61 and inactive ones from 2^61, the numbers below
-- the partition's base + 2^60 ("in order") rise with (last name, first
-- name, id). The trigram index returns matches by number, so a search
-- sorted by name reads its page as the first (or, descending, last)
-- matches of each partition and counts them from the index alone, with
-- no document read per match: at 100,000 users `wil` (4,004 matches) went
-- from 2.6 ms to 0.4 ms in SQLite.
--
-- A new, renamed, deactivated or reactivated user gets a number between
-- those of its neighbours in the name order: half-way, or a sixteenth of
-- the way when the lower neighbour has the same name (ids rise with time,
-- so namesakes arrive in order and each takes little of the gap the next
-- one needs), and never more than 2^44 past the lower one. When two
-- neighbours are adjacent numbers, the user goes to the partition's tail
-- (base + 2^60 and up, in arrival order), which a search reads in full
-- beside the ordered part. Seeding 100,000 users through these triggers
-- (the user_list benchmark's names) put 25,349 in the tail with halving
-- only, none with the sixteenth. This migration numbers every user
-- evenly, in order, with no tail.
--
-- The numbers as the triggers write them: 2^61 = 2305843009213693952 (the
-- inactive partition's base), 2^60 = 1152921504606846976 (a partition's
-- tail, from its base), 2^59 = 576460752303423488 (the first user of an
-- empty partition, mid-way), 2^44 = 17592186044416 (the widest step past
-- a neighbour). `p` and `n` are the numbers of the user's neighbours in
-- the name order among the partition's ordered documents (the user's own
-- excluded), `b` the partition's base.
DROP TRIGGER user_search_insert;
DROP TRIGGER user_search_update;
DROP TRIGGER user_search_copy;
DROP TRIGGER user_search_delete;

CREATE TABLE user_search_docs_new ( -- only in this dialect
    doc              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    side             TEXT NOT NULL,
    firm_id          TEXT,
    office_id        TEXT,
    role             TEXT NOT NULL,
    active           BOOLEAN NOT NULL,
    last_name_norm   TEXT NOT NULL,
    first_name_norm  TEXT NOT NULL,
    email_norm       TEXT NOT NULL,
    last_sign_in_at  BIGINT
);
INSERT INTO user_search_docs_new (doc, id, side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at)
SELECT (CASE WHEN active THEN 0 ELSE 2305843009213693952 END)
    + row_number() OVER (PARTITION BY active ORDER BY last_name_norm, first_name_norm, id)
    * (1152921504606846976 / (count(*) OVER (PARTITION BY active) + 1)),
    id, side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at
FROM user_search_docs;
DROP TABLE user_search_docs;
ALTER TABLE user_search_docs_new RENAME TO user_search_docs;
-- The name order within each partition, for a new number's neighbours and
-- a search cursor's place.
CREATE INDEX user_search_docs_by_name ON user_search_docs (active, last_name_norm, first_name_norm, id); -- only in this dialect

INSERT INTO user_search (user_search) VALUES ('delete-all');
INSERT INTO user_search (rowid, text)
SELECT doc, last_name_norm || ' ' || first_name_norm || ' ' || email_norm FROM user_search_docs;

CREATE TRIGGER user_search_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_search_docs (doc, id, side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at)
    VALUES ((SELECT CASE
        WHEN p IS NULL AND n IS NULL THEN b + 576460752303423488
        WHEN p IS NULL AND n - b >= 2 THEN n - min(17592186044416, (n - b) / 2)
        WHEN n IS NULL AND b + 1152921504606846976 - p >= 2 THEN p + min(17592186044416, (b + 1152921504606846976 - p) / 2)
        WHEN n - p >= 2 THEN p + max(1, min(17592186044416, (n - p) / CASE WHEN EXISTS (SELECT 1 FROM user_search_docs g
            WHERE g.doc = p AND g.last_name_norm = NEW.last_name_norm AND g.first_name_norm = NEW.first_name_norm) THEN 16 ELSE 2 END))
        ELSE coalesce((SELECT max(t.doc) + 1 FROM user_search_docs t WHERE t.doc >= b + 1152921504606846976 AND t.doc < b + 2305843009213693952), b + 1152921504606846976)
    END FROM (SELECT k.b, (SELECT d.doc FROM user_search_docs d INDEXED BY user_search_docs_by_name
        WHERE d.active = NEW.active AND d.id <> NEW.id AND d.doc < k.b + 1152921504606846976
        AND (d.last_name_norm, d.first_name_norm, d.id) < (NEW.last_name_norm, NEW.first_name_norm, NEW.id)
        ORDER BY d.active DESC, d.last_name_norm DESC, d.first_name_norm DESC, d.id DESC LIMIT 1) AS p,
        (SELECT d.doc FROM user_search_docs d INDEXED BY user_search_docs_by_name
        WHERE d.active = NEW.active AND d.id <> NEW.id AND d.doc < k.b + 1152921504606846976
        AND (d.last_name_norm, d.first_name_norm, d.id) > (NEW.last_name_norm, NEW.first_name_norm, NEW.id)
        ORDER BY d.active, d.last_name_norm, d.first_name_norm, d.id LIMIT 1) AS n
        FROM (SELECT CASE WHEN NEW.active THEN 0 ELSE 2305843009213693952 END AS b) k)), NEW.id, NEW.side, NEW.firm_id, NEW.office_id, NEW.role, NEW.active, NEW.last_name_norm, NEW.first_name_norm, NEW.email_norm, NEW.last_sign_in_at);
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

-- The copied columns, in place.
CREATE TRIGGER user_search_copy AFTER UPDATE OF side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at ON users
BEGIN
    UPDATE user_search_docs SET side = NEW.side, firm_id = NEW.firm_id, office_id = NEW.office_id, role = NEW.role, active = NEW.active,
        last_name_norm = NEW.last_name_norm, first_name_norm = NEW.first_name_norm, email_norm = NEW.email_norm, last_sign_in_at = NEW.last_sign_in_at
    WHERE id = OLD.id;
END;

-- A new place in the order (and the text again) when the name or the
-- partition changes. Independent of `user_search_copy`'s order: the
-- neighbours are looked up without the user's own document.
CREATE TRIGGER user_search_move AFTER UPDATE OF active, last_name_norm, first_name_norm ON users
WHEN OLD.active IS NOT NEW.active OR OLD.last_name_norm IS NOT NEW.last_name_norm OR OLD.first_name_norm IS NOT NEW.first_name_norm
BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT doc FROM user_search_docs WHERE id = OLD.id);
    UPDATE user_search_docs SET doc = (SELECT CASE
        WHEN p IS NULL AND n IS NULL THEN b + 576460752303423488
        WHEN p IS NULL AND n - b >= 2 THEN n - min(17592186044416, (n - b) / 2)
        WHEN n IS NULL AND b + 1152921504606846976 - p >= 2 THEN p + min(17592186044416, (b + 1152921504606846976 - p) / 2)
        WHEN n - p >= 2 THEN p + max(1, min(17592186044416, (n - p) / CASE WHEN EXISTS (SELECT 1 FROM user_search_docs g
            WHERE g.doc = p AND g.last_name_norm = NEW.last_name_norm AND g.first_name_norm = NEW.first_name_norm) THEN 16 ELSE 2 END))
        ELSE coalesce((SELECT max(t.doc) + 1 FROM user_search_docs t WHERE t.doc >= b + 1152921504606846976 AND t.doc < b + 2305843009213693952), b + 1152921504606846976)
    END FROM (SELECT k.b, (SELECT d.doc FROM user_search_docs d INDEXED BY user_search_docs_by_name
        WHERE d.active = NEW.active AND d.id <> NEW.id AND d.doc < k.b + 1152921504606846976
        AND (d.last_name_norm, d.first_name_norm, d.id) < (NEW.last_name_norm, NEW.first_name_norm, NEW.id)
        ORDER BY d.active DESC, d.last_name_norm DESC, d.first_name_norm DESC, d.id DESC LIMIT 1) AS p,
        (SELECT d.doc FROM user_search_docs d INDEXED BY user_search_docs_by_name
        WHERE d.active = NEW.active AND d.id <> NEW.id AND d.doc < k.b + 1152921504606846976
        AND (d.last_name_norm, d.first_name_norm, d.id) > (NEW.last_name_norm, NEW.first_name_norm, NEW.id)
        ORDER BY d.active, d.last_name_norm, d.first_name_norm, d.id LIMIT 1) AS n
        FROM (SELECT CASE WHEN NEW.active THEN 0 ELSE 2305843009213693952 END AS b) k))
    WHERE id = NEW.id;
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

-- The text again, in the same place, when only the email changes.
CREATE TRIGGER user_search_update AFTER UPDATE OF email_norm ON users
WHEN OLD.email_norm IS NOT NEW.email_norm AND OLD.active IS NEW.active
    AND OLD.last_name_norm IS NEW.last_name_norm AND OLD.first_name_norm IS NEW.first_name_norm
BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT doc FROM user_search_docs WHERE id = OLD.id);
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

CREATE TRIGGER user_search_delete AFTER DELETE ON users
BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT doc FROM user_search_docs WHERE id = OLD.id);
    DELETE FROM user_search_docs WHERE id = OLD.id;
END;
