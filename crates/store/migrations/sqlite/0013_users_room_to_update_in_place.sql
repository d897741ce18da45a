-- P3: PostgreSQL keeps half of each `users` page free so that N3's confirm
-- updates its rows in place (see that dialect's 0013). SQLite writes a
-- changed row over the old one and has no such setting; the version exists
-- so both dialects stay in step.
SELECT 1; -- only in this dialect
