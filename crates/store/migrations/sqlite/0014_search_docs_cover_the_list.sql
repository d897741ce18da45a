-- P2 on SQLite: a search reads only the trigram index and its documents.
-- Each document of `user_search_docs` now carries, beside its user's id,
-- every column a search's filters and sorts name (side, firm, office,
-- role, active, the three folded texts, the last sign-in), under the
-- names `users` gives them. A search of the organisation and active /
-- inactive / all selectors counts and sorts its matches there, and reads
-- only the page's users in full: at 100,000 users a search for `wil`
-- (4,004 matches) went from three lookups per match (document, `users`
-- primary key, row) to one. Locked and never-emailed searches still join
-- `users`. Triggers keep the copy in the same transaction as every
-- change of those columns, whichever code path writes.
DROP TRIGGER user_search_insert;
DROP TRIGGER user_search_update;
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
-- The documents keep their numbers: the trigram index stays as it is.
INSERT INTO user_search_docs_new (doc, id, side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at)
SELECT d.doc, u.id, u.side, u.firm_id, u.office_id, u.role, u.active, u.last_name_norm, u.first_name_norm, u.email_norm, u.last_sign_in_at
FROM user_search_docs d JOIN users u ON u.id = d.user_id;
DROP TABLE user_search_docs;
ALTER TABLE user_search_docs_new RENAME TO user_search_docs;

CREATE TRIGGER user_search_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_search_docs (id, side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at)
    VALUES (NEW.id, NEW.side, NEW.firm_id, NEW.office_id, NEW.role, NEW.active, NEW.last_name_norm, NEW.first_name_norm, NEW.email_norm, NEW.last_sign_in_at);
    INSERT INTO user_search (rowid, text)
    VALUES ((SELECT doc FROM user_search_docs WHERE id = NEW.id), NEW.last_name_norm || ' ' || NEW.first_name_norm || ' ' || NEW.email_norm);
END;

-- The copied columns; a sign-in changes only the last one.
CREATE TRIGGER user_search_copy AFTER UPDATE OF side, firm_id, office_id, role, active, last_name_norm, first_name_norm, email_norm, last_sign_in_at ON users
BEGIN
    UPDATE user_search_docs SET side = NEW.side, firm_id = NEW.firm_id, office_id = NEW.office_id, role = NEW.role, active = NEW.active,
        last_name_norm = NEW.last_name_norm, first_name_norm = NEW.first_name_norm, email_norm = NEW.email_norm, last_sign_in_at = NEW.last_sign_in_at
    WHERE id = OLD.id;
END;

-- The indexed text, only when it changes.
CREATE TRIGGER user_search_update AFTER UPDATE OF last_name_norm, first_name_norm, email_norm ON users
WHEN OLD.last_name_norm IS NOT NEW.last_name_norm OR OLD.first_name_norm IS NOT NEW.first_name_norm OR OLD.email_norm IS NOT NEW.email_norm
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
