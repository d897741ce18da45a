//! SMTP over TLS (SPEC §6: `smtp+starttls://`, `smtps://`, AUTH from the
//! URL) on the connections the transport opens itself with Nagle's
//! algorithm off, against the test SMTP server with a certificate signed
//! by a test CA.

mod support;

use mail::{SmtpUrl, Transport, Worker};
use serde_json::json;
use std::sync::Arc;
use store::MailKind;
use support::smtp_sink::{test_ca_pem, SinkTls, SmtpSink};
use support::*;

fn worker_trusting(env: &Env, url: &str, trust_test_ca: bool, concurrency: usize) -> Worker {
    let url = SmtpUrl::parse(url).unwrap();
    let transport = Transport::smtp_trusting(&url, FROM, trust_test_ca.then(test_ca_pem)).unwrap();
    let mut config = env.config();
    config.concurrency = concurrency;
    Worker::new(env.db.clone(), transport, config, Arc::clone(&env.wake))
}

async fn queue_new_user_emails(env: &Env, n: usize) {
    queue_from(env, 0, n).await;
}

async fn queue_from(env: &Env, from: usize, n: usize) {
    for i in from..from + n {
        let address = format!("user{i}@example.com");
        let u = env.add_user(&address, "Tess", &format!("User {i}"), true).await;
        env.enqueue(MailKind::NewUserEmail, Some(&u), &address, json!({})).await;
    }
}

fn with_credentials(sink: &SmtpSink) -> String {
    sink.url().replacen("://", "://tracker%40legal:s3cret@", 1)
}

#[tokio::test]
async fn starttls_encrypts_then_authenticates_and_reuses_the_connection() {
    let env = env().await;
    queue_new_user_emails(&env, 3).await;
    let sink = SmtpSink::start_tls(SinkTls::StartTls).await;

    let tally = worker_trusting(&env, &with_credentials(&sink), true, 1).run_once().await.unwrap();

    assert_eq!(tally.sent, 3, "{tally:?}");
    let got = sink.messages();
    assert_eq!(got.len(), 3);
    for m in &got {
        assert!(m.tls, "sent after STARTTLS");
        assert_eq!(m.auth, Some(("tracker@legal".to_owned(), "s3cret".to_owned())));
        assert!(parse(&m.data).text.contains("Your sign-in ID: user"));
    }
    assert_eq!(sink.connections(), 1, "one connection for all three");
}

#[tokio::test]
async fn implicit_tls_works_with_auth() {
    let env = env().await;
    queue_new_user_emails(&env, 2).await;
    let sink = SmtpSink::start_tls(SinkTls::Implicit).await;
    assert!(sink.url().starts_with("smtps://"));

    let tally = worker_trusting(&env, &with_credentials(&sink), true, 2).run_once().await.unwrap();

    assert_eq!(tally.sent, 2, "{tally:?}");
    assert!(sink.messages().iter().all(|m| m.tls && m.auth.is_some()));
}

#[tokio::test]
async fn starttls_never_falls_back_to_plain_text() {
    let env = env().await;
    queue_new_user_emails(&env, 1).await;
    // A server that does not offer STARTTLS, asked for with smtp+starttls.
    let sink = SmtpSink::start().await;
    let url = format!("smtp+starttls://tracker:s3cret@{}", sink.addr);

    let tally = worker_trusting(&env, &url, true, 1).run_once().await.unwrap();

    assert_eq!((tally.sent, tally.retried), (0, 1), "{tally:?}");
    assert!(sink.messages().is_empty(), "nothing sent in plain text");
    assert!(sink.refused().is_empty());
    let row = env.outbox(1).await;
    assert!(row.last_error.as_deref().unwrap_or_default().contains("STARTTLS"), "{row:?}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let env = env().await;
    queue_new_user_emails(&env, 1).await;
    for tls in [SinkTls::StartTls, SinkTls::Implicit] {
        let sink = SmtpSink::start_tls(tls).await;
        let tally = worker_trusting(&env, &sink.url(), false, 1).run_once().await.unwrap();
        assert_eq!(tally.sent, 0, "{tls:?}: {tally:?}");
        assert!(sink.messages().is_empty(), "{tls:?}");
        env.advance(3_600_000); // the retry falls due for the next round
    }
}

/// Sixty messages go over one pooled connection, plain and with STARTTLS.
/// (That the connection has Nagle's algorithm off, which keeps it from
/// waiting for delayed ACKs, is a unit test in `smtp_pool`; the speed it
/// buys is measured by `cargo bench -p mail --bench delivery`.)
#[tokio::test]
async fn sixty_messages_share_one_connection() {
    let env = env().await;
    for (round, tls) in [SinkTls::None, SinkTls::StartTls].into_iter().enumerate() {
        queue_from(&env, round * 60, 60).await;
        let sink = SmtpSink::start_tls(tls).await;
        let tally = worker_trusting(&env, &sink.url(), true, 1).run_once().await.unwrap();
        assert_eq!(tally.sent, 60, "{tls:?}: {tally:?}");
        assert_eq!(sink.connections(), 1, "{tls:?}");
    }
}
