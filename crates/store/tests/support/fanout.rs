//! Shared by the per-database test binaries: N3 queues many users as one
//! mail fanout, and the worker's calls of `expand_mail_fanout` write one
//! outbox row for each user still waiting, never two, whatever was
//! withdrawn or rolled back on the way.

use domain::access::UserScope;
use domain::model::{EmailStatus, User};
use domain::UserId;
use store::{Db, MailKind, MailStatus, Queuer, FANOUT_SLICE};

pub const NOW: i64 = 1_700_000_000_000;

fn user(i: usize) -> User {
    testkit::users::held_company_user(&format!("fan{i:05}@example.com"), "Fan", &format!("Out {i:05}"), NOW - 1_000)
}

const WHO: Queuer<'static> = Queuer {
    actor_id: None,
    actor_label: "test",
    source_ip: None,
};

/// `n` never-emailed users, plus one already sent and one inactive (N3
/// queues neither); returns the `n`.
pub async fn seed(db: &Db, n: usize) -> Vec<User> {
    let users: Vec<User> = (0..n).map(user).collect();
    let mut sent = user(n);
    sent.new_user_email.status = EmailStatus::Sent;
    sent.new_user_email.sent_at = Some(NOW - 500);
    let mut inactive = user(n + 1);
    inactive.active = false;
    let mut tx = db.write().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    tx.insert_users(&[sent, inactive]).await.unwrap();
    tx.commit().await.unwrap();
    users
}

/// N3's confirm, committed; returns how many it queued.
pub async fn queue_all(db: &Db) -> i64 {
    let mut tx = db.write().await.unwrap();
    let n = tx.queue_all_pending_new_user_emails(&UserScope::All, &WHO, NOW).await.unwrap();
    tx.commit().await.unwrap();
    n
}

/// One call of the worker's step, committed.
pub async fn expand(db: &Db, now: i64) -> u64 {
    let mut tx = db.write().await.unwrap();
    let n = tx.expand_mail_fanout(now).await.unwrap();
    tx.commit().await.unwrap();
    n
}

/// The new user email rows of `user`.
pub async fn new_user_rows(db: &Db, user: &UserId) -> Vec<store::OutboxMessage> {
    let mut tx = db.read().await.unwrap();
    let rows = tx.mail_for_user(user, 10).await.unwrap();
    rows.into_iter().filter(|m| m.kind == MailKind::NewUserEmail.as_str()).collect()
}

async fn queued_rows(db: &Db) -> i64 {
    let mut tx = db.read().await.unwrap();
    let counts = tx.outbox_counts().await.unwrap();
    counts.iter().filter(|c| c.status == MailStatus::Queued).map(|c| c.count).sum()
}

pub async fn backlog(db: &Db) -> (i64, Option<i64>) {
    let mut tx = db.read().await.unwrap();
    tx.mail_fanout_backlog().await.unwrap()
}

pub async fn a_fanout_writes_each_waiting_user_once(db: &Db) {
    let n = 2 * FANOUT_SLICE + 37;
    let users = seed(db, n).await;
    assert_eq!(queue_all(db).await, n as i64);
    // Nothing is in the outbox yet, but everything counts as queued.
    assert_eq!(queued_rows(db).await, 0);
    assert_eq!(backlog(db).await, (n as i64, Some(NOW)));
    assert_eq!(db.ops_figures().await.unwrap().outbox_queued, n as i64);
    assert_eq!(db.ops_figures().await.unwrap().oldest_queued_at, Some(NOW));
    // Every user says queued at once (N8).
    let mut tx = db.read().await.unwrap();
    for u in [&users[0], &users[n - 1]] {
        let read = tx.user(&u.id).await.unwrap().unwrap();
        assert_eq!(read.new_user_email.status, EmailStatus::Queued);
    }
    drop(tx);

    // Two withdrawn before the worker gets to them (a reset, a
    // deactivation: N5, N7), one in the first slice and one in the last.
    let cancelled = [5, n - 1];
    for &i in &cancelled {
        let mut tx = db.write().await.unwrap();
        assert_eq!(
            tx.cancel_user_mail(&users[i].id, &[MailKind::NewUserEmail]).await.unwrap(),
            1,
            "user {i} leaves the fanout"
        );
        assert_eq!(
            tx.cancel_user_mail(&users[i].id, &[MailKind::NewUserEmail]).await.unwrap(),
            0,
            "and only once"
        );
        tx.commit().await.unwrap();
    }
    // One created in error is purged (D7), their mail with them.
    let purged = 9;
    let mut tx = db.write().await.unwrap();
    tx.purge_user(&users[purged].id).await.unwrap();
    tx.commit().await.unwrap();
    let withdrawn = [cancelled[0], purged, cancelled[1]];
    let left = (n - withdrawn.len()) as i64;

    // Withdrawn, they no longer count as queued (OP2).
    assert_eq!(backlog(db).await, (left, Some(NOW)));
    assert_eq!(db.ops_figures().await.unwrap().outbox_queued, left);

    // A slice worked and rolled back (the worker died) leaves no trace.
    let mut tx = db.write().await.unwrap();
    assert_eq!(tx.expand_mail_fanout(NOW + 1).await.unwrap(), FANOUT_SLICE as u64);
    // Waited for: a dropped transaction's rollback reaches PostgreSQL a
    // moment later (sqlx returns its connection to the pool in the
    // background), and until then its lock makes the next slice skip the
    // fanout (SKIP LOCKED), as a live worker's would. CI caught that race.
    tx.rollback().await.unwrap();
    assert_eq!(queued_rows(db).await, 0);
    assert_eq!(backlog(db).await.0, left);

    let mut calls = Vec::new();
    loop {
        let k = expand(db, NOW + 1).await;
        if k == 0 {
            break;
        }
        calls.push(k);
        assert!(calls.len() <= 3, "{calls:?}");
        // Each message is counted once: in the outbox or still waiting.
        assert_eq!(queued_rows(db).await + backlog(db).await.0, left);
    }
    assert_eq!(calls, [FANOUT_SLICE as u64, FANOUT_SLICE as u64, 37]);
    assert_eq!(backlog(db).await, (0, None));
    assert_eq!(db.ops_figures().await.unwrap().outbox_queued, left);
    assert_eq!(queued_rows(db).await, left);
    for (i, u) in users.iter().enumerate() {
        let rows = new_user_rows(db, &u.id).await;
        if withdrawn.contains(&i) {
            assert!(rows.is_empty(), "user {i} was withdrawn: {rows:?}");
            continue;
        }
        assert_eq!(rows.len(), 1, "user {i}: {rows:?}");
        let m = &rows[0];
        assert_eq!(m.status, MailStatus::Queued);
        assert_eq!(m.to_address, u.email.as_str());
        // Queued when confirmed; due from when it was written.
        assert_eq!((m.created_at, m.next_attempt_at), (NOW, NOW + 1));
    }
    // Nothing is left to do, and N3 finds nobody else.
    assert_eq!(expand(db, NOW + 2).await, 0);
    assert_eq!(queue_all(db).await, 0);
    assert_eq!(backlog(db).await, (0, None));
}
