//! Named statements: [`Stmt`], declared with [`statement!`] and run with
//! the call macros ([`exec!`], [`fetch_one!`], …, and [`on!`] for SQL built
//! at run time); and the check that every named statement is valid SQL
//! against the migrated schema of each dialect it is written for. Both
//! dialects compile a statement when it is prepared: unknown tables and
//! columns, syntax the dialect lacks, and (on PostgreSQL) parameters whose
//! type cannot be inferred are refused there, before any test reaches the
//! code path that runs the statement.

use crate::db::{Dialect, Pools};
use crate::{Db, Result};

/// A fixed SQL statement of this crate, named so that a failure can say
/// which one: `crate::users::SET_PASSWORD_HASH`. Declared with
/// [`statement!`] and run with the call macros below ([`exec!`],
/// [`fetch_one!`], …). Every statement is registered in [`STATEMENTS`], and a
/// test prepares each against a freshly migrated database of each dialect it
/// is written for.
#[derive(Debug)]
pub(crate) struct Stmt {
    /// `module::path::NAME`, unique across the crate (the test checks).
    pub name: &'static str,
    pub sql: &'static str,
    /// The dialects the text is written for: both, unless the statement is
    /// one arm of a dialect `match`.
    pub dialects: &'static [Dialect],
}

/// Every [`Stmt`] declared with [`statement!`], collected at link time.
#[linkme::distributed_slice]
pub(crate) static STATEMENTS: [Stmt];

/// Declares a named, registered statement:
/// `statement!(SET_PASSWORD = "UPDATE users SET … WHERE id = $1");`, or
/// `statement!(sqlite NAME = "…")` / `statement!(postgres NAME = "…")` for
/// SQL that only one dialect runs. The text is a constant expression: a
/// literal, a `const`, or `formatcp!` over constants (column lists).
macro_rules! statement {
    ($(#[$m:meta])* $vis:vis sqlite $name:ident = $sql:expr) => {
        $crate::db::statement!(@ $(#[$m])* $vis $name, $sql, &[$crate::db::Dialect::Sqlite]);
    };
    ($(#[$m:meta])* $vis:vis postgres $name:ident = $sql:expr) => {
        $crate::db::statement!(@ $(#[$m])* $vis $name, $sql, &[$crate::db::Dialect::Postgres]);
    };
    ($(#[$m:meta])* $vis:vis $name:ident = $sql:expr) => {
        $crate::db::statement!(@ $(#[$m])* $vis $name, $sql, &[$crate::db::Dialect::Sqlite, $crate::db::Dialect::Postgres]);
    };
    (@ $(#[$m:meta])* $vis:vis $name:ident, $sql:expr, $dialects:expr) => {
        $(#[$m])*
        #[linkme::distributed_slice($crate::db::STATEMENTS)]
        $vis static $name: $crate::db::Stmt = $crate::db::Stmt {
            name: concat!(module_path!(), "::", stringify!($name)),
            sql: $sql,
            dialects: $dialects,
        };
    };
}
pub(crate) use statement;

/// Runs the closure-shaped `|c| body` with `c` bound to the transaction's
/// connection, compiled once per dialect. The escape hatch for statements
/// built at run time ([`crate::sql::Sql`]) and for bodies that need more
/// than one call; fixed statements use [`exec!`] and the `fetch_*!` /
/// `scalar_*!` macros. The closure shape keeps the call a plain expression,
/// which rustfmt formats.
macro_rules! on {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
pub(crate) use on;

/// `exec!(tx, STMT, arg…)`: runs a statement with its arguments bound in
/// order; the rows it changed, as `u64` on both dialects.
macro_rules! exec {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query($stmt.sql)$(.bind($arg))*.execute(c).await.map(|r| r.rows_affected()))
    };
}
pub(crate) use exec;

/// `fetch_one!(tx, STMT, arg…)`: the one row, decoded by `FromRow` into the
/// type the caller names (`let row: UserRow = …`).
macro_rules! fetch_one {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_as($stmt.sql)$(.bind($arg))*.fetch_one(c).await)
    };
}
pub(crate) use fetch_one;

/// `fetch_optional!(tx, STMT, arg…)`: the row if there is one.
macro_rules! fetch_optional {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_as($stmt.sql)$(.bind($arg))*.fetch_optional(c).await)
    };
}
pub(crate) use fetch_optional;

/// `fetch_all!(tx, STMT, arg…)`: every row.
macro_rules! fetch_all {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_as($stmt.sql)$(.bind($arg))*.fetch_all(c).await)
    };
}
pub(crate) use fetch_all;

/// `scalar_one!(tx, STMT, arg…)`: the first column of the one row.
macro_rules! scalar_one {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_scalar($stmt.sql)$(.bind($arg))*.fetch_one(c).await)
    };
}
pub(crate) use scalar_one;

/// `scalar_optional!(tx, STMT, arg…)`: the first column of the row if any.
macro_rules! scalar_optional {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_scalar($stmt.sql)$(.bind($arg))*.fetch_optional(c).await)
    };
}
pub(crate) use scalar_optional;

/// `scalar_all!(tx, STMT, arg…)`: the first column of every row.
macro_rules! scalar_all {
    ($tx:expr, $stmt:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::on!($tx, |c| sqlx::query_scalar($stmt.sql)$(.bind($arg))*.fetch_all(c).await)
    };
}
pub(crate) use scalar_all;

/// What [`Db::check_statements`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementCheck {
    /// How many statements were prepared (those written for this dialect).
    pub prepared: usize,
    /// `name: the database's message` for each statement that did not prepare.
    pub failures: Vec<String>,
}

impl Db {
    /// Prepares every registered statement written for this database's
    /// dialect, on one connection, and reports each one the database
    /// refuses. For tests: the database should be freshly migrated.
    #[doc(hidden)]
    pub async fn check_statements(&self) -> Result<StatementCheck> {
        let dialect = self.dialect();
        let mine = || STATEMENTS.iter().filter(move |s| s.dialects.contains(&dialect));
        let mut failures = Vec::new();
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut c = writer.acquire().await?;
                for s in mine() {
                    if let Err(e) = sqlx::Executor::prepare(&mut *c, s.sql).await {
                        failures.push(format!("{}: {e}", s.name));
                    }
                }
            }
            Pools::Postgres { pool, .. } => {
                let mut c = pool.acquire().await?;
                for s in mine() {
                    if let Err(e) = sqlx::Executor::prepare(&mut *c, s.sql).await {
                        failures.push(format!("{}: {e}", s.name));
                    }
                }
            }
        }
        Ok(StatementCheck {
            prepared: mine().count(),
            failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use std::collections::BTreeMap;

    #[test]
    fn statements_are_registered_under_unique_names() {
        assert!(
            STATEMENTS.len() > 150,
            "the registry holds the store's statements: {}",
            STATEMENTS.len()
        );
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for s in STATEMENTS.iter() {
            *seen.entry(s.name).or_default() += 1;
            assert!(s.name.starts_with("store::"), "{}", s.name);
            assert!(!s.dialects.is_empty(), "{} is written for no dialect", s.name);
            assert!(!s.sql.trim().is_empty(), "{} has no text", s.name);
        }
        let twice: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
        assert!(twice.is_empty(), "statement names declared more than once: {twice:?}");
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            assert!(
                STATEMENTS.iter().any(|s| s.dialects == [d]),
                "a statement only for {d:?} is registered too"
            );
        }
    }

    async fn check(db: &Db, dialect: &str) {
        db.migrate().await.unwrap();
        let check = db.check_statements().await.unwrap();
        assert!(check.prepared > 150, "{dialect}: {} statements prepared", check.prepared);
        assert!(
            check.failures.is_empty(),
            "{} of {} statements do not prepare on {dialect}:\n{}",
            check.failures.len(),
            check.prepared,
            check.failures.join("\n")
        );
    }

    /// PostgreSQL: `store/tests/postgres.rs`, run by the PostgreSQL pass.
    #[tokio::test]
    async fn every_statement_prepares_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/statements.db", dir.path().display()))
            .await
            .unwrap();
        check(&db, "SQLite").await;
    }
}
