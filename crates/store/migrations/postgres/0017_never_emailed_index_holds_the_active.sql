-- P3/P4: the index of N3's report holds only active users. Before, it
-- also held the inactive users never emailed, and a report page read past
-- them: at 1,000,000 users, with the inactive first in name order, 2,900
-- rows (2.9 ms) for a page of 50, twice the cost at 100,000 users. Active
-- is tested as `active::int = 1`, the form the report's page writes so
-- that no other index can serve it (store::users::query::
-- NEVER_EMAILED_OWN_INDEX) and every N3 statement adds (ACTIVE_FOR_N3_INDEX);
-- the email status stays out, so the confirm's update of it stays
-- heap-only (0010). `active` is already in other indexes: this costs no
-- HOT update.
DROP INDEX users_never_emailed_by_name;
CREATE INDEX users_never_emailed_by_name ON users (last_name_norm, first_name_norm, id) -- only in this dialect
    WHERE new_user_email_sent_at IS NULL AND activated_at IS NULL AND active::int = 1;
