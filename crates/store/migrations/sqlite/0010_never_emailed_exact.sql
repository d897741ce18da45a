-- P3: the index of N3's report holds exactly the users the report lists
-- (store::users::query::NEVER_EMAILED), not every user never sent the
-- email. With the old predicate, the users of a confirmed send stay in
-- the index while queued (and inactive never-emailed users always), and
-- a report page read them all before it found 50 to show. (PostgreSQL
-- keeps the old predicate: see its 0010.)
DROP INDEX users_never_emailed_by_name;
CREATE INDEX users_never_emailed_by_name ON users (last_name_norm, first_name_norm, id) -- only in this dialect
    WHERE new_user_email_sent_at IS NULL AND active = TRUE AND activated_at IS NULL AND new_user_email_status IN ('held', 'failed');
