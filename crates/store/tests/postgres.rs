//! The store on PostgreSQL, where its driver differs from SQLite's. Run by
//! the PostgreSQL pass of `scripts/test.sh` (this binary is named
//! `postgres`), which sets `TRACKER_TEST_DATABASE_URL` to a server.

use store::{Db, PoolLimits};

async fn fresh(name: &str, limits: PoolLimits) -> Db {
    let server = std::env::var("TRACKER_TEST_DATABASE_URL")
        .expect("TRACKER_TEST_DATABASE_URL: a PostgreSQL server URL (bash scripts/with-postgres.sh cargo nextest run …)");
    let url = Db::create_postgres_database(&server, &format!("{name}_{}", std::process::id()))
        .await
        .expect("a test database");
    let db = Db::connect_with(&url, limits).await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}

#[path = "support/dropped.rs"]
mod dropped;

/// A pool of `max_connections`, with the default acquire timeout.
fn pool_of(max_connections: u32) -> PoolLimits {
    PoolLimits {
        max_connections,
        ..PoolLimits::default()
    }
}

/// sqlx's PostgreSQL driver hands a connection back to the pool inside a
/// transaction nothing ends when BEGIN is dropped in flight (sqlx #4393):
/// see `Db`'s `begin_postgres`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_while_it_begins_leaves_the_connection_clean() {
    let db = fresh("dropped_begin", pool_of(1)).await;
    dropped::dropped_begins_leave_the_connection_clean(&db).await;
}

/// The pool's connections, taken without a check before each use
/// (`test_before_acquire(false)`), still answer each borrower with its own
/// answer after reads dropped mid-statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_dropped_mid_statement_leaves_its_connection_clean() {
    let db = fresh("dropped_read", pool_of(4)).await;
    dropped::dropped_reads_leave_the_readers_clean(&db).await;
}

/// Every named statement of the store prepares against the migrated
/// PostgreSQL schema (SQLite: the `statements` unit test).
#[tokio::test]
async fn every_statement_prepares() {
    let db = fresh("statements", PoolLimits::default()).await;
    let check = db.check_statements().await.expect("prepare");
    assert!(check.prepared > 150, "{} statements prepared", check.prepared);
    assert!(
        check.failures.is_empty(),
        "{} of {} statements do not prepare on PostgreSQL:\n{}",
        check.failures.len(),
        check.prepared,
        check.failures.join("\n")
    );
}

#[path = "support/bulk_audit.rs"]
mod bulk_audit;

/// The bulk path is COPY's text format here: every escape round-trips.
#[tokio::test]
async fn bulk_audit_entries_come_back_as_written() {
    let db = fresh("bulk_audit", PoolLimits::default()).await;
    bulk_audit::bulk_audit_entries_come_back_as_written(&db).await;
}
