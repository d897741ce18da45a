//! N3 at scale through the worker: a confirm names its users in one mail
//! fanout, and the worker writes and delivers one new user email to each
//! user still waiting, to a real SMTP server; a user whose mail was
//! withdrawn meanwhile gets nothing.

mod support;

use domain::access::UserScope;
use domain::model::{EmailStatus, User};
use domain::Email;
use std::collections::BTreeSet;
use store::{MailKind, Queuer, FANOUT_SLICE};
use support::smtp_sink::SmtpSink;
use support::{env, link_token, parse};

#[tokio::test]
async fn a_confirmed_fanout_reaches_every_waiting_user_once() {
    let env = env().await;
    // Two slices' worth, so the worker comes back to the fanout.
    let n = FANOUT_SLICE + 5;
    let users: Vec<User> = (0..n)
        .map(|i| testkit::users::held_company_user(&format!("new{i:05}@example.com"), "New", &format!("User {i:05}"), env.now()))
        .collect();
    let mut tx = env.db.write().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    let who = Queuer {
        actor_id: None,
        actor_label: "test",
        source_ip: None,
    };
    assert_eq!(
        tx.queue_all_pending_new_user_emails(&UserScope::All, &who, env.now())
            .await
            .unwrap(),
        n as i64
    );
    tx.commit().await.unwrap();

    // Before the worker comes: one user's mail is withdrawn, as a
    // deactivation does (N7); another's address is corrected (D7).
    let withdrawn = &users[7];
    let mut tx = env.db.write().await.unwrap();
    tx.set_user_active(&withdrawn.id, false, env.now()).await.unwrap();
    assert_eq!(tx.cancel_user_mail(&withdrawn.id, &[MailKind::NewUserEmail]).await.unwrap(), 1);
    tx.unqueue_new_user_email(&withdrawn.id, env.now()).await.unwrap();
    tx.commit().await.unwrap();
    let moved = &users[n - 1];
    let change = store::UserChange {
        email: Some(Email::parse("moved@example.com").unwrap()),
        ..Default::default()
    };
    let mut tx = env.db.write().await.unwrap();
    tx.update_user_fields(&moved.id, &change, env.now()).await.unwrap();
    tx.commit().await.unwrap();

    let sink = SmtpSink::start().await;
    let worker = env.worker(Some(&sink.url()), |_| {});
    let tally = worker.run_once().await.unwrap();
    assert_eq!((tally.sent, tally.handled()), (n - 1, n - 1));

    let got = sink.messages();
    let to: BTreeSet<String> = got.iter().map(|m| m.rcpt_to.join(",")).collect();
    assert_eq!(got.len(), n - 1);
    assert_eq!(to.len(), n - 1, "nobody twice");
    assert!(!to.contains(withdrawn.email.as_str()));
    assert!(to.contains("moved@example.com") && !to.contains(moved.email.as_str()));
    for m in got.iter().take(3) {
        let m = parse(&m.data);
        assert!(m.subject.ends_with("set your password"), "{}", m.subject);
        assert!(!link_token(&m.text).is_empty());
    }
    for u in [&users[0], &users[FANOUT_SLICE], moved] {
        assert_eq!(env.user(&u.id).await.new_user_email.status, EmailStatus::Sent);
    }
    assert_eq!(env.user(&withdrawn.id).await.new_user_email.status, EmailStatus::Held);
    assert_eq!(env.db.ops_figures().await.unwrap().outbox_queued, 0);
    // Nothing is left for a second round.
    assert_eq!(worker.run_once().await.unwrap().handled(), 0);
    assert_eq!(sink.messages().len(), n - 1);
}

/// A fanout that cannot be read is logged and left, and every other
/// message still goes out (it used to be one transaction with the claim).
#[tokio::test]
async fn a_fanout_that_cannot_be_read_does_not_stop_other_mail() {
    use sqlx::Connection;
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", serde_json::json!({}))
        .await;
    let mut c = sqlx::SqliteConnection::connect(&env.db_url).await.unwrap();
    sqlx::query(
        "INSERT INTO mail_fanout (kind, user_ids, next_index, total, pending, created_at) VALUES ('new_user_email', 'not a list', 0, 3, 3, 1)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    drop(c);
    let sink = SmtpSink::start().await;
    let tally = env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();
    assert_eq!(tally.sent, 1);
    assert_eq!(sink.messages()[0].rcpt_to, vec!["ann@example.com".to_owned()]);
    // Still there for an operator to see: three messages waiting.
    assert_eq!(env.db.ops_figures().await.unwrap().outbox_queued, 3);
}
