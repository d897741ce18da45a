-- P1/P4: the locked-out list in each of its orders. Its rows used to come
-- from the `users_locked` range `locked_until > now` and be sorted: at
-- 1,000,000 users (1,000 locked) a page cost 5.6 times what it cost at
-- 100,000. These indexes hold only accounts with a lock on record, in the
-- list's orders; a page walks one in order and skips expired locks. Locks
-- that expired are cleared every minute by `tracker serve` (the S4 lock
-- sweep), so what a page skips stays small.
CREATE INDEX users_locked_by_name ON users (last_name_norm, first_name_norm, id) WHERE locked_until IS NOT NULL;
CREATE INDEX users_locked_by_email ON users (email_norm) WHERE locked_until IS NOT NULL;
CREATE INDEX users_locked_by_sign_in_asc ON users (COALESCE(last_sign_in_at, 9223372036854775807), id) WHERE locked_until IS NOT NULL;
CREATE INDEX users_locked_by_sign_in_desc ON users (COALESCE(last_sign_in_at, -1), id) WHERE locked_until IS NOT NULL;
