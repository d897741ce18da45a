//! The store on SQLite, where every write goes through one connection: a
//! writer left inside a transaction would refuse every later write.

#[path = "support/dropped.rs"]
mod dropped;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_while_it_begins_leaves_the_connection_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::Db::connect_with(
        &format!("sqlite://{}/t.db", dir.path().display()),
        store::PoolLimits {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(10),
        },
    )
    .await
    .expect("connect");
    db.migrate().await.expect("migrate");
    dropped::dropped_begins_leave_the_connection_clean(&db).await;
}

/// SQLite's one-statement readers are lent without sqlx's pool, so without
/// its check of each connection taken back (`Db`'s `lent`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_dropped_mid_statement_leaves_its_reader_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::Db::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    dropped::dropped_reads_leave_the_readers_clean(&db).await;
}

#[path = "support/bulk_audit.rs"]
mod bulk_audit;

#[tokio::test]
async fn bulk_audit_entries_come_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::Db::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    bulk_audit::bulk_audit_entries_come_back_as_written(&db).await;
}
