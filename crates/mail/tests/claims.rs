//! The store's outcome updates for the worker (store/src/delivery.rs):
//! they act only on a message still held under the caller's claim.

mod support;

use serde_json::json;
use store::MailKind;
use support::{env, START};

#[tokio::test]
async fn a_message_cancelled_while_claimed_is_not_brought_back_by_a_failed_attempt() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let id = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let mut tx = env.db.write().await.unwrap();
    let claimed = tx.claim_mail(START, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // Meanwhile the application cancels it (a reset superseded it, N5).
    tx.cancel_user_mail(&ann, &[MailKind::NewUserEmail]).await.unwrap();

    assert!(!tx.defer_claimed_mail(id, START + 60_000, START + 5_000, "timeout").await.unwrap());
    assert!(!tx.fail_claimed_mail(id, START + 60_000, "550").await.unwrap());
    assert!(!tx.cancel_claimed_mail(id, START + 60_000, "inactive").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(env.outbox(id).await.status.as_str(), "cancelled");
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_cannot_touch_the_new_claim() {
    let env = env().await;
    let id = env.enqueue(MailKind::MatterClosed, None, "ops@example.com", json!({})).await;
    let mut tx = env.db.write().await.unwrap();
    assert_eq!(tx.claim_mail(START, 1_000, 10).await.unwrap().len(), 1);
    assert!(
        tx.claim_mail(START + 500, 1_000, 10).await.unwrap().is_empty(),
        "held by the first claim"
    );
    let again = tx.claim_mail(START + 2_000, 1_000, 10).await.unwrap();
    assert_eq!(again[0].attempts, 2, "the lease ran out, so another worker took it");

    assert!(
        !tx.defer_claimed_mail(id, START + 1_000, START + 9_000, "late").await.unwrap(),
        "the old claim is void"
    );
    assert!(tx.defer_claimed_mail(id, START + 3_000, START + 9_000, "timeout").await.unwrap());
    tx.commit().await.unwrap();
    let row = env.outbox(id).await;
    assert_eq!(
        (row.status.as_str(), row.next_attempt_at, row.last_error.as_deref()),
        ("queued", START + 9_000, Some("timeout"))
    );
}

#[tokio::test]
async fn sent_and_failed_statuses_keep_the_first_sent_time() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let mut tx = env.db.write().await.unwrap();
    tx.record_new_user_email_sent(&ann, START + 1).await.unwrap();
    tx.record_new_user_email_failed(&ann, START + 2).await.unwrap();
    tx.record_new_user_email_sent(&ann, START + 3).await.unwrap();
    tx.commit().await.unwrap();
    let s = env.user(&ann).await.new_user_email;
    assert_eq!(
        (s.status.as_str(), s.sent_at, s.send_count, s.last_change_at),
        ("sent", Some(START + 1), 2, Some(START + 3))
    );
}
