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

#[path = "support/fanout.rs"]
mod fanout;

#[tokio::test]
async fn a_fanout_writes_each_waiting_user_once() {
    let db = fresh("fanout", PoolLimits::default()).await;
    fanout::a_fanout_writes_each_waiting_user_once(&db).await;
}

/// The worker never waits for a user someone else holds (a change to that
/// user locks them, then withdraws their mail): it writes the others, keeps
/// the slice, and writes the held user on a later call, once, or not at all
/// if the holder withdrew their mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_passes_over_a_held_user_and_comes_back() {
    let db = fresh("fanout_held", PoolLimits::default()).await;
    let users = fanout::seed(&db, 4).await;
    assert_eq!(fanout::queue_all(&db).await, 4);
    let (kept, withdrawn) = (&users[1], &users[2]);

    let mut holder = db.write().await.unwrap();
    holder.user_for_update(&kept.id).await.unwrap().unwrap();
    let mut other = db.write().await.unwrap();
    other.user_for_update(&withdrawn.id).await.unwrap().unwrap();
    // Returns at once (a wait would hang here), with the two free users.
    let expanded = tokio::time::timeout(std::time::Duration::from_secs(10), fanout::expand(&db, fanout::NOW + 1))
        .await
        .expect("the worker must not wait for a held user");
    assert_eq!(expanded, 2);
    for u in [&users[0], &users[3]] {
        assert_eq!(fanout::new_user_rows(&db, &u.id).await.len(), 1);
    }
    assert_eq!(fanout::backlog(&db).await, (2, Some(fanout::NOW)), "the two held still wait");
    // While both are held, the next round (a sweep) writes nobody, and
    // tells the worker to wait for its next poll.
    assert_eq!(fanout::expand(&db, fanout::NOW + 2).await, 0);
    assert_eq!(fanout::backlog(&db).await.0, 2);

    // One holder lets go without a change (and waits for its locks to go:
    // a dropped transaction rolls back in the background); the other
    // withdraws the mail.
    holder.rollback().await.unwrap();
    assert_eq!(
        other
            .cancel_user_mail(&withdrawn.id, &[store::MailKind::NewUserEmail])
            .await
            .unwrap(),
        1
    );
    other.commit().await.unwrap();
    assert_eq!(fanout::backlog(&db).await.0, 1, "the withdrawn user left");
    assert_eq!(fanout::expand(&db, fanout::NOW + 3).await, 4, "the last slice is done");
    assert_eq!(fanout::backlog(&db).await, (0, None));
    assert_eq!(fanout::expand(&db, fanout::NOW + 4).await, 0);
    for (u, rows) in [(&users[0], 1), (kept, 1), (withdrawn, 0), (&users[3], 1)] {
        assert_eq!(fanout::new_user_rows(&db, &u.id).await.len(), rows, "{}", u.email.as_str());
    }
}

/// A user held in the first slice does not hold up the rest: the fanout
/// moves on, and comes back for them after its last slice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_user_does_not_hold_up_the_rest_of_a_fanout() {
    let db = fresh("fanout_sweep", PoolLimits::default()).await;
    let n = store::FANOUT_SLICE + 10;
    let users = fanout::seed(&db, n).await;
    assert_eq!(fanout::queue_all(&db).await, n as i64);
    let held = &users[3];
    let mut holder = db.write().await.unwrap();
    holder.user_for_update(&held.id).await.unwrap().unwrap();
    assert_eq!(fanout::expand(&db, fanout::NOW + 1).await, store::FANOUT_SLICE as u64);
    assert_eq!(fanout::expand(&db, fanout::NOW + 1).await, 10, "the second slice, at once");
    assert_eq!(fanout::backlog(&db).await.0, 1);
    assert!(fanout::new_user_rows(&db, &users[n - 1].id).await.len() == 1);
    assert!(fanout::new_user_rows(&db, &held.id).await.is_empty());
    // Let go, and wait for the lock to go (a dropped transaction rolls
    // back in the background, and the sweep would skip the row again).
    holder.rollback().await.unwrap();
    // The sweep comes back for the one passed over, and the fanout ends.
    let mut rounds = 0;
    while fanout::backlog(&db).await.0 > 0 {
        fanout::expand(&db, fanout::NOW + 2).await;
        rounds += 1;
        assert!(rounds <= 2, "the sweep ends");
    }
    assert_eq!(fanout::new_user_rows(&db, &held.id).await.len(), 1);
    assert_eq!(fanout::expand(&db, fanout::NOW + 3).await, 0);
}
