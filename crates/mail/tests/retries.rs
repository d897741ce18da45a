//! N8: what happens when the mail server is down, refuses for now, or
//! refuses for good.

mod support;

use domain::model::EmailStatus;
use domain::secret::hash_token;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use store::MailKind;
use support::smtp_sink::SmtpSink;
use support::{env, link_token, parse, START};

#[tokio::test]
async fn an_unreachable_server_is_retried_with_backoff_and_the_message_arrives_once() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let id = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let addr = SmtpSink::unused_addr();
    let worker = env.worker(Some(&format!("smtp://{addr}")), |_| {});

    let first = worker.run_once().await.unwrap();

    assert_eq!((first.retried, first.handled()), (1, 1));
    let row = env.outbox(id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
    assert!(
        (START + 2_500..=START + 5_000).contains(&row.next_attempt_at),
        "first retry 2.5–5 s later: {row:?}"
    );
    assert!(
        row.last_error.as_deref().unwrap_or_default().to_lowercase().contains("connect"),
        "{row:?}"
    );
    assert_eq!(env.user(&ann).await.new_user_email.status, EmailStatus::Queued, "still on its way");
    assert_eq!(worker.run_once().await.unwrap().handled(), 0, "not due before its backoff");

    let sink = SmtpSink::start_on(addr).await;
    env.advance(5_000);
    let second = worker.run_once().await.unwrap();

    assert_eq!((second.sent, second.handled()), (1, 1));
    assert_eq!(worker.run_once().await.unwrap().handled(), 0);
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
    let row = env.outbox(id).await;
    assert_eq!(
        (row.status.as_str(), row.attempts, row.sent_at, row.last_error),
        ("sent", 2, Some(START + 5_000), None)
    );
    let m = parse(&sink.messages()[0].data);
    assert_eq!(m.message_id, format!("tracker.{id}.{START}@legal.example.com"));
    let status = env.user(&ann).await.new_user_email;
    assert_eq!((status.status, status.send_count), (EmailStatus::Sent, 1));
}

#[tokio::test]
async fn a_message_refused_for_now_is_sent_again_with_the_same_message_id_and_a_fresh_link() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let id = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let sink = SmtpSink::start().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    sink.set_data_rule(move |_| (counter.fetch_add(1, Ordering::SeqCst) == 0).then(|| "451 4.3.0 try again later".to_owned()));
    let worker = env.worker(Some(&sink.url()), |_| {});

    assert_eq!(worker.run_once().await.unwrap().retried, 1);
    let row = env.outbox(id).await;
    assert!(
        row.last_error.as_deref().unwrap_or_default().contains("451")
            || row.last_error.as_deref().unwrap_or_default().contains("try again"),
        "{row:?}"
    );
    env.advance(5_000);
    assert_eq!(worker.run_once().await.unwrap().sent, 1);

    let (refused, accepted) = (parse(&sink.refused()[0].data), parse(&sink.messages()[0].data));
    assert_eq!(refused.message_id, accepted.message_id, "the same message on every attempt");
    assert_eq!(accepted.message_id, format!("tracker.{id}.{START}@legal.example.com"));
    let (old, new) = (link_token(&refused.text), link_token(&accepted.text));
    assert_ne!(old, new, "each attempt makes its own link");
    let link = env.db.read().await.unwrap().link(&hash_token(&new)).await.unwrap().unwrap();
    assert_eq!((link.created_at, link.expires_at), (START + 5_000, START + 5_000 + 168 * 3_600_000));
    assert_eq!(env.outbox(id).await.attempts, 2);
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_message_and_the_users_email_status_only() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let bob = env.add_user("bob@example.com", "Bob", "Ray", true).await;
    let refused = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let fine = env.enqueue(MailKind::NewUserEmail, Some(&bob), "bob@example.com", json!({})).await;
    let sink = SmtpSink::start().await;
    sink.set_rcpt_rule(|to| (to == "ann@example.com").then(|| "550 5.1.1 no such mailbox".to_owned()));
    let worker = env.worker(Some(&sink.url()), |_| {});

    let tally = worker.run_once().await.unwrap();

    assert_eq!((tally.failed, tally.sent, tally.retried), (1, 1, 0));
    let row = env.outbox(refused).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    assert!(row.last_error.as_deref().unwrap_or_default().contains("no such mailbox"), "{row:?}");
    let status = env.user(&ann).await.new_user_email;
    assert_eq!(
        (status.status, status.sent_at, status.send_count, status.last_change_at),
        (EmailStatus::Failed, None, 0, Some(START))
    );
    assert_eq!(env.outbox(fine).await.status.as_str(), "sent");
    assert_eq!(env.user(&bob).await.new_user_email.status, EmailStatus::Sent);
    assert_eq!(sink.messages().len(), 1);
    env.advance(3_600_000);
    assert_eq!(worker.run_once().await.unwrap().handled(), 0, "a failed message is not tried again");
}

#[tokio::test]
async fn a_message_refused_for_now_every_time_is_given_up_after_max_attempts() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let id = env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", json!({})).await;
    let sink = SmtpSink::start().await;
    sink.set_rcpt_rule(|_| Some("452 4.2.2 mailbox full".to_owned()));
    let worker = env.worker(Some(&sink.url()), |c| c.max_attempts = 3);

    let mut tallies = Vec::new();
    for _ in 0..4 {
        tallies.push(worker.run_once().await.unwrap());
        env.advance(3_600_000);
    }

    assert_eq!(
        tallies.iter().map(|t| (t.retried, t.failed)).collect::<Vec<_>>(),
        [(1, 0), (1, 0), (0, 1), (0, 0)]
    );
    let row = env.outbox(id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 3));
    let error = row.last_error.unwrap_or_default();
    assert!(
        error.contains("mailbox full") && error.contains("gave up after 3 attempts"),
        "{error}"
    );
    assert_eq!(env.user(&ann).await.new_user_email.status, EmailStatus::Failed);
}
