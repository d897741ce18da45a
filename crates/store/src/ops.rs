//! What an operator's tools read and do to the database as a whole
//! (SPEC §5d): is it answering, is its schema the one this binary knows
//! (OP1), the figures the metrics port shows (OP2), and a consistent copy
//! of the SQLite file while the server writes to it (OP5).

use crate::db::{exec, fetch_all, on, statement, Db, Pools};
use crate::{Result, StoreError};
use sqlx::migrate::Migrator;
use std::borrow::Cow;

/// Where the database's schema stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration this binary has.
    pub known: i64,
    /// The newest migration applied to the database (0: none).
    pub applied: i64,
    /// Migrations of this binary not applied (or failed) in the database.
    pub missing: Vec<i64>,
    /// Migrations applied in the database that this binary does not know:
    /// a newer release migrated it.
    pub unknown: Vec<i64>,
    /// Migrations applied under a version this binary knows but with other
    /// contents: not Tracker's schema.
    pub mismatched: Vec<i64>,
}

impl SchemaStatus {
    /// The schema is exactly the one this binary migrates to.
    pub fn current(&self) -> bool {
        self.missing.is_empty() && self.unknown.is_empty() && self.mismatched.is_empty()
    }

    /// The database holds Tracker's schema, at some version: its first
    /// migration is applied with this binary's contents.
    pub fn is_tracker(&self) -> bool {
        self.applied > 0 && !self.missing.contains(&1) && self.mismatched.is_empty()
    }
}

/// The figures of the metrics port that live in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsFigures {
    /// Messages waiting (`queued`) and being delivered (`sending`).
    pub outbox_queued: i64,
    pub outbox_sending: i64,
    /// Creation time of the oldest queued message, if any.
    pub oldest_queued_at: Option<i64>,
    /// From the kept totals (`user_counts`), never counted row by row.
    pub users_active: i64,
    pub users_inactive: i64,
}

fn migrator(dialect: crate::Dialect) -> Migrator {
    match dialect {
        crate::Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        crate::Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

/// The newest migration version this binary has for `dialect`.
pub fn newest_migration(dialect: crate::Dialect) -> i64 {
    migrator(dialect).iter().map(|m| m.version).max().unwrap_or(0)
}

impl Db {
    /// OP1: the database answers a trivial query, on a one-statement
    /// reader: on SQLite those are never held for long (a snapshot reader
    /// may be, by an export), so the probe does not wait behind one.
    pub async fn ping(&self) -> Result<()> {
        statement!(PING = "SELECT 1");
        let mut one = self.read_one().await?;
        exec!(one, PING)?;
        Ok(())
    }

    /// OP1: the migrations the database has applied against the ones this
    /// binary knows. A database without the migrations table has none.
    pub async fn schema_status(&self) -> Result<SchemaStatus> {
        statement!(APPLIED_MIGRATIONS = "SELECT version, success, checksum FROM _sqlx_migrations");
        let mut one = self.read_one().await?;
        let rows: Vec<(i64, bool, Vec<u8>)> =
            on!(one, |c| sqlx::query_as(APPLIED_MIGRATIONS.sql).fetch_all(c).await).or_else(|e| match &e {
                sqlx::Error::Database(d) if d.message().contains("_sqlx_migrations") => Ok(Vec::new()),
                _ => Err(e),
            })?;
        let m = migrator(self.dialect());
        let known: Vec<i64> = m.iter().map(|m| m.version).collect();
        let applied: Vec<i64> = rows.iter().filter(|(_, ok, _)| *ok).map(|(v, ..)| *v).collect();
        let mismatched = rows
            .iter()
            .filter(|(v, _, sum)| m.iter().any(|x| x.version == *v && x.checksum.as_ref() != sum.as_slice()))
            .map(|(v, ..)| *v)
            .collect();
        Ok(SchemaStatus {
            mismatched,
            known: known.iter().copied().max().unwrap_or(0),
            applied: applied.iter().copied().max().unwrap_or(0),
            missing: known.iter().copied().filter(|v| !applied.contains(v)).collect(),
            unknown: applied.iter().copied().filter(|v| !known.contains(v)).collect(),
        })
    }

    /// Applies this binary's migrations up to `version` only: for tests
    /// that build the schema of an older release, put data in it, and then
    /// migrate to the newest (migrations are forward-only).
    pub async fn migrate_up_to(&self, version: i64) -> Result<()> {
        let mut m = migrator(self.dialect());
        m.migrations = Cow::Owned(m.iter().filter(|x| x.version <= version).cloned().collect());
        match &self.pools {
            Pools::Sqlite { writer, .. } => m.run(writer).await?,
            Pools::Postgres { pool, .. } => m.run(pool).await?,
        }
        Ok(())
    }

    /// OP2: outbox backlog (index-backed: the due index covers exactly the
    /// queued and sending rows; with the users still waiting in a mail
    /// fanout) and users by status from the kept totals.
    pub async fn ops_figures(&self) -> Result<OpsFigures> {
        let mut tx = self.read().await?;
        statement!(
            OUTBOX_FIGURES =
                "SELECT status, COUNT(*), MIN(created_at) FROM mail_outbox WHERE status IN ('queued', 'sending') GROUP BY status"
        );
        let outbox: Vec<(String, i64, Option<i64>)> = fetch_all!(tx, OUTBOX_FIGURES)?;
        statement!(USER_FIGURES = "SELECT active, CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM user_counts GROUP BY active");
        let users: Vec<(bool, i64)> = fetch_all!(tx, USER_FIGURES)?;
        let mut out = OpsFigures::default();
        for (status, n, oldest) in outbox {
            match status.as_str() {
                "queued" => {
                    out.outbox_queued = n;
                    out.oldest_queued_at = oldest;
                }
                _ => out.outbox_sending = n,
            }
        }
        // Messages a fanout has yet to write are queued too.
        let (waiting, oldest) = tx.mail_fanout_backlog().await?;
        out.outbox_queued += waiting;
        out.oldest_queued_at = match (out.oldest_queued_at, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (active, n) in users {
            if active {
                out.users_active = n;
            } else {
                out.users_inactive = n;
            }
        }
        Ok(out)
    }

    /// OP5: writes a consistent copy of the SQLite database to `path` while
    /// the server goes on (`VACUUM INTO` reads one snapshot; writers are
    /// not blocked in WAL mode). `path` must not exist. PostgreSQL has its
    /// own tools (`pg_dump`).
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<()> {
        // The writer connection only reads here; `tracker backup` runs in a
        // process of its own, so this never holds up the server's writes.
        let Pools::Sqlite { writer, .. } = &self.pools else {
            return Err(StoreError::Corrupt(
                "tracker backup copies the embedded SQLite database; back up PostgreSQL with pg_dump".into(),
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt(format!("{} is not a UTF-8 path", path.display())))?;
        statement!(sqlite BACKUP_INTO = "VACUUM INTO $1");
        sqlx::query(BACKUP_INTO.sql).bind(target).execute(writer).await?;
        Ok(())
    }
}
