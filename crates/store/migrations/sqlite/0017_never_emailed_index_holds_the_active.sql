-- PostgreSQL's index of N3's report now holds only active users (see that
-- dialect's 0017). SQLite's already holds exactly the report's users
-- (0010); the version exists so both dialects stay in step.
SELECT 1; -- only in this dialect
