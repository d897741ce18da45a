//! The store on SQLite, where every write goes through one connection: a
//! writer left inside a transaction would refuse every later write.

use store::{Db, PoolLimits};

/// A migrated database in a new file under `dir`.
async fn fresh(dir: &tempfile::TempDir, limits: PoolLimits) -> Db {
    let db = Db::connect_with(&format!("sqlite://{}/t.db", dir.path().display()), limits)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    db
}

#[path = "support/dropped.rs"]
mod dropped;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_while_it_begins_leaves_the_connection_clean() {
    let dir = tempfile::tempdir().unwrap();
    let one = PoolLimits {
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(10),
    };
    let db = fresh(&dir, one).await;
    dropped::dropped_begins_leave_the_connection_clean(&db).await;
}

/// SQLite's one-statement readers are lent without sqlx's pool, so without
/// its check of each connection taken back (`Db`'s `lent`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_dropped_mid_statement_leaves_its_reader_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(&dir, PoolLimits::default()).await;
    dropped::dropped_reads_leave_the_readers_clean(&db).await;
}

#[path = "support/bulk_audit.rs"]
mod bulk_audit;

#[tokio::test]
async fn bulk_audit_entries_come_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(&dir, PoolLimits::default()).await;
    bulk_audit::bulk_audit_entries_come_back_as_written(&db).await;
}

#[path = "support/fanout.rs"]
mod fanout;

#[tokio::test]
async fn a_fanout_writes_each_waiting_user_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(&dir, PoolLimits::default()).await;
    fanout::a_fanout_writes_each_waiting_user_once(&db).await;
}
