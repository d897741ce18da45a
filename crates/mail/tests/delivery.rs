//! The worker against a real SMTP server on 127.0.0.1 and a real SQLite
//! file: what arrives, what is stored, and what each outcome does to the
//! outbox row and the user's email status (N5–N8, M1, M2).

mod support;

use domain::model::EmailStatus;
use domain::secret::hash_token;
use serde_json::json;
use store::MailKind;
use support::smtp_sink::SmtpSink;
use support::{env, link_token, parse, PUBLIC_URL, START};

#[tokio::test]
async fn new_user_email_arrives_with_a_one_time_link_and_the_coordinator() {
    let env = env().await;
    let dana = env.add_user("dana@acme.example", "Dana", "O'Neil", true).await;
    env.set_company("Acme & Sons", Some(&dana), 48).await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let id = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let sink = SmtpSink::start().await;

    let tally = env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();

    assert_eq!((tally.sent, tally.handled()), (1, 1));
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "tracker@legal.example.com");
    assert_eq!(got[0].rcpt_to, vec!["ann@example.com".to_owned()]);
    let m = parse(&got[0].data);
    assert_eq!(m.content_type, "multipart/alternative");
    assert_eq!(m.message_id, format!("tracker.{id}.{START}@legal.example.com"));
    assert_eq!(
        (m.from.as_str(), m.to.as_str(), m.to_name.as_deref()),
        ("tracker@legal.example.com", "ann@example.com", Some("Ann Lee"))
    );
    assert_eq!(m.date, START / 1000);
    assert_eq!(m.subject, "Your Tracker account at Acme & Sons: set your password");
    for needle in [
        "Hello Ann,",
        "Acme & Sons has given you an account",
        "Your sign-in ID: ann@example.com",
        "valid for 2 days, until 16 November 2023, 22:13 UTC",
        "Tracker Coordinator, Dana O'Neil <dana@acme.example>",
    ] {
        assert!(m.text.contains(needle), "text lacks {needle:?}:\n{}", m.text);
    }
    for needle in [
        "<p>Hello Ann,</p>",
        "<strong>ann@example.com</strong>",
        "Dana O&#39;Neil",
        "mailto:dana@acme.example",
    ] {
        assert!(m.html.contains(needle), "html lacks {needle:?}:\n{}", m.html);
    }
    assert!(!m.text.contains("<p>"), "the text part must be text:\n{}", m.text);

    // N6: the link in both parts is the same one-time link, stored only as a hash.
    let token = link_token(&m.text);
    assert_eq!(link_token(&m.html), token);
    assert!(domain::secret::looks_like_token(&token), "{token}");
    let link = env
        .db
        .read()
        .await
        .unwrap()
        .link(&hash_token(&token))
        .await
        .unwrap()
        .expect("the link's hash is stored");
    assert_eq!((link.user_id.as_str(), link.purpose.as_str()), (ann.as_str(), "new_user_email"));
    assert_eq!(
        (link.created_at, link.expires_at, link.used_at),
        (START, START + 48 * 3_600_000, None)
    );
    assert!(
        env.db.read().await.unwrap().link(&token).await.unwrap().is_none(),
        "the token itself is never stored"
    );

    // N8: the row is sent, and the user's status says when and how often.
    let row = env.outbox(id).await;
    assert_eq!(
        (row.status.as_str(), row.attempts, row.sent_at, row.last_error),
        ("sent", 1, Some(START), None)
    );
    let user = env.user(&ann).await;
    assert_eq!(user.new_user_email.status, EmailStatus::Sent);
    assert_eq!(
        (
            user.new_user_email.sent_at,
            user.new_user_email.send_count,
            user.new_user_email.last_change_at
        ),
        (Some(START), 1, Some(START))
    );
}

#[tokio::test]
async fn new_user_email_without_a_coordinator_says_whom_to_ask() {
    let env = env().await;
    env.set_company("Acme", None, 168).await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let sink = SmtpSink::start().await;

    env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();

    let m = parse(&sink.messages()[0].data);
    assert!(
        m.text.contains("contact the person at Acme who gave you access to Tracker"),
        "{}",
        m.text
    );
    assert!(m.text.contains("valid for 7 days"), "{}", m.text);
    assert!(!m.text.contains("Coordinator") && !m.html.contains("Coordinator"), "{}", m.text);
}

#[tokio::test]
async fn password_reset_says_the_old_password_is_gone_and_counts_as_a_send() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let sink = SmtpSink::start().await;
    let worker = env.worker(Some(&sink.url()), |_| {});
    env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    worker.run_once().await.unwrap();
    env.advance(60_000);
    env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", json!({})).await;

    assert_eq!(worker.run_once().await.unwrap().sent, 1);

    let got = sink.messages();
    let reset = parse(&got[1].data);
    assert!(
        reset.subject.contains("password") && reset.subject.contains("reset"),
        "{}",
        reset.subject
    );
    assert!(reset.text.contains("Your previous password no longer works"), "{}", reset.text);
    let first_token = link_token(&parse(&got[0].data).text);
    let token = link_token(&reset.text);
    assert_ne!(token, first_token, "every message gets a fresh link");
    let link = env.db.read().await.unwrap().link(&hash_token(&token)).await.unwrap().unwrap();
    assert_eq!(link.purpose.as_str(), "password_reset");
    let status = env.user(&ann).await.new_user_email;
    assert_eq!(
        (status.status, status.sent_at, status.send_count, status.last_change_at),
        (EmailStatus::Sent, Some(START), 2, Some(START + 60_000))
    );
}

#[tokio::test]
async fn matter_notifications_show_their_payload_and_leave_the_email_status_alone() {
    let env = env().await;
    env.set_company("Acme", None, 168).await;
    let ann = env.add_user("ann@example.com", "Ann", "O'Brien <Legal>", true).await;
    let added =
        json!({"matter_id": "m/1 x", "matter_name": "Smith v. <Jones> & Co", "matter_number": "M-2024-001", "role": "matter_editor"});
    let closed = json!({"matter_id": "m2", "matter_name": "Lease", "matter_number": "M-7", "closed_for": "editing and invoicing"});
    env.enqueue(MailKind::MatterAdded, Some(&ann), "ann@example.com", added).await;
    env.enqueue(MailKind::MatterClosed, Some(&ann), "ann@example.com", closed).await;
    let sink = SmtpSink::start().await;

    assert_eq!(env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap().sent, 2);

    let mut got: Vec<_> = sink.messages().iter().map(|r| parse(&r.data)).collect();
    got.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    let (m1, m2) = (&got[0], &got[1]);
    assert_eq!(m1.subject, "You were added to matter Smith v. <Jones> & Co (M-2024-001)");
    assert_eq!(m1.to_name.as_deref(), Some("Ann O'Brien <Legal>"));
    for needle in [
        "Matter:    Smith v. <Jones> & Co",
        "Number:    M-2024-001",
        "Your role: Matter editor",
        &format!("{PUBLIC_URL}/matters/m%2F1%20x"),
    ] {
        assert!(m1.text.contains(needle), "text lacks {needle:?}:\n{}", m1.text);
    }
    assert!(m1.html.contains("Smith v. &#60;Jones&#62; &#38; Co"), "{}", m1.html);
    assert!(!m1.html.contains("<Jones>"), "{}", m1.html);
    assert_eq!(m2.subject, "Matter Lease (M-7) closed for editing and invoicing");
    assert!(
        m2.text.contains("can no longer be changed") && m2.text.contains("No further invoices"),
        "{}",
        m2.text
    );
    assert!(m2.text.contains(&format!("{PUBLIC_URL}/matters/m2")), "{}", m2.text);
    let status = env.user(&ann).await.new_user_email;
    assert_eq!((status.status, status.send_count), (EmailStatus::Queued, 0));
}

#[tokio::test]
async fn the_users_current_address_is_used_not_the_one_at_queueing() {
    let env = env().await;
    let ann = env.add_user("ann@exmaple.com", "Ann", "Lee", true).await;
    env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@exmaple.com", json!({})).await;
    let change = store::UserChange {
        email: Some(domain::Email::parse("ann@example.com").unwrap()),
        ..Default::default()
    };
    let mut tx = env.db.write().await.unwrap();
    tx.update_user_fields(&ann, &change, env.now()).await.unwrap();
    tx.commit().await.unwrap();
    let sink = SmtpSink::start().await;

    env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();

    let got = sink.messages();
    assert_eq!(got[0].rcpt_to, vec!["ann@example.com".to_owned()]);
    assert!(parse(&got[0].data).text.contains("Your sign-in ID: ann@example.com"));
}

#[tokio::test]
async fn inactive_users_are_never_emailed() {
    // N7, M3: neither one inactive from the start nor one deactivated
    // after the message was queued.
    let env = env().await;
    let gone = env.add_user("gone@example.com", "Gil", "Gone", false).await;
    let later = env.add_user("later@example.com", "Lea", "Later", true).await;
    let ids = [
        env.enqueue(MailKind::NewUserEmail, Some(&gone), "gone@example.com", json!({}))
            .await,
        env.enqueue(
            MailKind::MatterAdded,
            Some(&gone),
            "gone@example.com",
            json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "role": "matter_reader"}),
        )
        .await,
        env.enqueue(MailKind::PasswordReset, Some(&later), "later@example.com", json!({}))
            .await,
    ];
    env.deactivate(&later).await;
    let sink = SmtpSink::start().await;

    let tally = env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();

    assert_eq!((tally.cancelled, tally.sent, tally.handled()), (3, 0, 3));
    assert_eq!(sink.data_begun(), 0);
    for id in ids {
        let row = env.outbox(id).await;
        assert_eq!(row.status.as_str(), "cancelled");
        assert!(row.last_error.as_deref().unwrap_or_default().contains("inactive (N7)"), "{row:?}");
    }
    assert_eq!(env.user(&later).await.new_user_email.status, EmailStatus::Queued);
    assert_eq!(env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap().handled(), 0);
}

#[tokio::test]
async fn messages_that_cannot_be_built_fail_without_being_sent() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let bad_payload = env
        .enqueue(
            MailKind::MatterClosed,
            Some(&ann),
            "ann@example.com",
            json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "closed_for": "lunch"}),
        )
        .await;
    let missing = env
        .enqueue(MailKind::MatterAdded, Some(&ann), "ann@example.com", json!({"matter_id": "m"}))
        .await;
    let bad_address = env
        .enqueue(
            MailKind::MatterClosed,
            None,
            "not an address",
            json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "closed_for": "editing"}),
        )
        .await;
    let no_user = env.enqueue(MailKind::PasswordReset, None, "someone@example.com", json!({})).await;
    let sink = SmtpSink::start().await;

    let tally = env.worker(Some(&sink.url()), |_| {}).run_once().await.unwrap();

    assert_eq!((tally.failed, tally.handled()), (4, 4));
    assert_eq!(sink.data_begun(), 0);
    for (id, why) in [
        (bad_payload, "closed_for 'lunch'"),
        (missing, "missing field"),
        (bad_address, "not an email address"),
        (no_user, "needs a recipient user"),
    ] {
        let row = env.outbox(id).await;
        assert_eq!(row.status.as_str(), "failed", "{row:?}");
        assert!(
            row.last_error.as_deref().unwrap_or_default().contains(why),
            "expected {why:?}: {row:?}"
        );
    }
}

#[tokio::test]
async fn smtp_credentials_in_the_url_are_percent_decoded_and_used() {
    let env = env().await;
    env.enqueue(
        MailKind::MatterClosed,
        None,
        "ops@example.com",
        json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "closed_for": "invoicing"}),
    )
    .await;
    let sink = SmtpSink::start().await;
    let url = format!("smtp://tracker%40legal:p%40ss%20w%3Ard@{}", sink.addr);

    assert_eq!(env.worker(Some(&url), |_| {}).run_once().await.unwrap().sent, 1);

    let got = sink.messages();
    assert_eq!(got[0].auth, Some(("tracker@legal".to_owned(), "p@ss w:rd".to_owned())));
    assert!(parse(&got[0].data).text.starts_with("Hello,"), "no user, no name");
}

#[tokio::test]
async fn a_bulk_send_reuses_pooled_connections() {
    let env = env().await;
    for i in 0..40 {
        let u = env.add_user(&format!("user{i}@example.com"), "U", &format!("{i}"), true).await;
        env.enqueue(MailKind::NewUserEmail, Some(&u), &format!("user{i}@example.com"), json!({}))
            .await;
    }
    let sink = SmtpSink::start().await;

    let tally = env.worker(Some(&sink.url()), |c| c.concurrency = 4).run_once().await.unwrap();

    assert_eq!(tally.sent, 40);
    assert_eq!(sink.messages().len(), 40);
    assert!(
        sink.connections() <= 4,
        "{} connections for 40 messages at concurrency 4",
        sink.connections()
    );
}
