-- A1: the audit log becomes a hash chain. Every entry gets its place in the
-- chain (`seq`, gap-free from 1), the hash of the entry before it and its own
-- hash (see domain::audit_chain for the encoding). Entries written before
-- this migration are chained once, in id order, by `Db::migrate` right after
-- it, with the same Rust code as SQLite; until then their columns are NULL.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_by_seq ON audit_log (seq);

-- The chain head: the last entry's seq and hash. Appending locks this row
-- (FOR UPDATE) just before commit, so appends are serialised in commit order.
CREATE TABLE audit_chain (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    -- Whether the entries older than this migration have been chained.
    backfilled    BOOLEAN NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, backfilled)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', FALSE);

-- Append-only: an entry is never updated or deleted, and the table is never
-- truncated. The one UPDATE allowed gives a not-yet-chained entry (written
-- set-based, such as N3's bulk queueing, or older than this migration) its
-- place in the chain and changes nothing else.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.target_kind,
                NEW.target_id, NEW.before_json, NEW.after_json, NEW.source_ip)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.target_kind,
                OLD.target_id, OLD.before_json, OLD.after_json, OLD.source_ip) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
