//! The check that every named statement ([`crate::db::Stmt`]) is valid SQL
//! against the migrated schema of each dialect it is written for. Both
//! dialects compile a statement when it is prepared: unknown tables and
//! columns, syntax the dialect lacks, and (on PostgreSQL) parameters whose
//! type cannot be inferred are refused there, before any test reaches the
//! code path that runs the statement.

use crate::db::{Pools, STATEMENTS};
use crate::{Db, Result};

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
            Pools::Postgres(pool) => {
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
