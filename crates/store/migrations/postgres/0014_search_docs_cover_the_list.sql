-- P2: SQLite's trigram documents now carry the columns a search filters
-- and sorts on (see that dialect's 0014). PostgreSQL's trigram index is on
-- `users` itself and needs no copy; the version exists so both dialects
-- stay in step.
SELECT 1; -- only in this dialect
