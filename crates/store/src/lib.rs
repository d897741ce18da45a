//! Every SQL statement of Tracker lives in this crate.
//!
//! One [`Db`] serves both dialects: the embedded SQLite file (one writer
//! connection, so write transactions are serialised and every rule check
//! inside one sees a stable world; several readers under WAL) and
//! PostgreSQL (one pool; rule checks lock the rows they depend on). All work
//! happens inside a [`Tx`]: a write transaction from [`Db::write`] or a
//! consistent read snapshot from [`Db::read`]. Every fixed SQL text is a
//! named statement (`statement!`), run by call macros (`exec!`,
//! `fetch_one!`, …) compiled once per dialect; where the SQL itself
//! differs, the method says so with an explicit `match` between two
//! dialect-only statements. `on!` remains for statements built at run time.
//! A test prepares every named statement against both dialects' schemas.

mod audit;
mod auth;
mod blockers;
mod checkpoint;
mod code;
mod cursor;
mod db;
mod delivery;
mod direct;
mod directory;
mod fanout;
mod keys;
mod matters;
mod offboarding;
mod onboarding;
mod ops;
mod orgs;
mod outbox;
mod routes;
mod settings;
mod sql;
mod sso;
mod statements;
mod transfer;
mod users;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, ChainReport, COPY_FROM as AUDIT_COPY_FROM};
pub use auth::{Credentials, SessionRecord, SignInLink};
pub use cursor::{BadCursor, Cursor, KeyValue};
pub use db::{Db, Dialect, PoolLimits, StoreError, Tx};
pub use directory::{DirectoryGroup, DirectoryLink, DirectoryLookup, GroupLookup, GroupMember, OffboardingItem, ScimToken};
pub use fanout::FANOUT_SLICE;
pub use matters::{MatterQuery, ParticipantView};
pub use offboarding::ScheduledDeactivation;
pub use onboarding::Queuer;
pub use ops::{newest_migration, OpsFigures, SchemaStatus};
pub use outbox::{
    DirectoryDigest, MailKind, MailStatus, MatterAdded, MatterClosed, OffboardingAlert, OffboardingDigest, OutboxMessage, OutboxPayload,
    OutboxStatusCount,
};
pub use sso::{Claim as SsoClaim, SsoAttempt};
pub use statements::StatementCheck;
pub use transfer::Copied;
pub use users::{Org, RowExtras, SortKey, Status, UserChange, UserExport, UserPage, UserQuery, SEARCH_COUNT_LIMIT};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod migrations_in_step {
    //! Both dialects' migrations must stay in step: same versions, same
    //! tables, columns and indexes.

    use std::collections::BTreeSet;

    fn files(dialect: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Marks a table or index that only one dialect needs (the search
    /// index: FTS5 on SQLite, pg_trgm on PostgreSQL).
    const ONLY_HERE: &str = "-- only in this dialect";

    /// Table names with their column names, and index names, of one file,
    /// and how many statements it marks as this dialect's only.
    fn shape(sql: &str) -> (BTreeSet<String>, BTreeSet<String>, usize) {
        let mut only_here = 0;
        let mut columns = BTreeSet::new();
        let mut indexes = BTreeSet::new();
        let mut table: Option<String> = None;
        let mut skipping = false;
        for line in sql.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if line.contains(ONLY_HERE) {
                only_here += 1;
                skipping = words.first() == Some(&"CREATE") && words.get(1) == Some(&"TABLE");
                continue;
            }
            if skipping {
                skipping = line != ");";
                continue;
            }
            match words.as_slice() {
                ["CREATE", "TABLE", name, ..] => table = Some(name.to_string()),
                ["ALTER", "TABLE", name, "ADD", "COLUMN", col, ..] => {
                    columns.insert(format!("{name}.{col}"));
                }
                ["CREATE", "INDEX", name, ..] | ["CREATE", "UNIQUE", "INDEX", name, ..] => {
                    indexes.insert(name.to_string());
                }
                [");"] => table = None,
                [col, ..]
                    if table.is_some()
                        && !["PRIMARY", "FOREIGN", "CHECK", "--", "UNIQUE"].contains(col)
                        && col.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                {
                    columns.insert(format!("{}.{col}", table.as_ref().unwrap()));
                }
                _ => {}
            }
        }
        (columns, indexes, only_here)
    }

    #[test]
    fn sqlite_and_postgres_migrations_match() {
        let (sqlite, postgres) = (files("sqlite"), files("postgres"));
        assert_eq!(sqlite, postgres, "the same migration versions in both folders");
        assert!(!sqlite.is_empty());
        let mut seen = 0;
        for f in &sqlite {
            let read = |d: &str| std::fs::read_to_string(format!("{}/migrations/{d}/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let (a, b) = (shape(&read("sqlite")), shape(&read("postgres")));
            assert_eq!(a.0, b.0, "{f}: columns differ");
            assert_eq!(a.1, b.1, "{f}: indexes differ");
            assert!(
                !a.0.is_empty() || !a.1.is_empty() || (a.2 > 0 && b.2 > 0),
                "{f}: the parser saw what the file changes"
            );
            seen += a.0.len();
        }
        assert!(seen > 50, "the parser saw the tables");
    }
}
