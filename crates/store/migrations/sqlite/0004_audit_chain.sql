-- A1: the audit log becomes a hash chain. Every entry gets its place in the
-- chain (`seq`, gap-free from 1), the hash of the entry before it and its own
-- hash (see domain::audit_chain for the encoding). Entries written before
-- this migration are chained once, in id order, by `Db::migrate` right after
-- it (SQLite has no SHA-256 in SQL); until then their columns are NULL.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_by_seq ON audit_log (seq);

-- The chain head: the last entry's seq and hash. Appending reads and moves
-- it in the writing transaction, so appends are serialised in commit order.
CREATE TABLE audit_chain (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    -- Whether the entries older than this migration have been chained.
    backfilled    BOOLEAN NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, backfilled)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', FALSE);
