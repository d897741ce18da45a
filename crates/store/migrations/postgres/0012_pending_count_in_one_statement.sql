-- P3: on SQLite this version splits the row trigger that keeps
-- `user_counts`, so that a user who only enters or leaves N3 costs one
-- statement. PostgreSQL keeps the counts with one statement-level trigger
-- per change (0003), which already applies a whole UPDATE at once:
-- nothing to change here. The version exists so both dialects stay in step.
SELECT 1; -- only in this dialect
