-- P2: SQLite's trigram documents are numbered in name order (see that
-- dialect's 0015). PostgreSQL's trigram index is on `users` itself; the
-- version exists so both dialects stay in step.
SELECT 1; -- only in this dialect
