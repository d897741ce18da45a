//! Delivery rate of the outbox worker: how many queued messages per second
//! reach a local SMTP server (and, for comparison, the `.eml` folder).
//!
//! Each message is a new user email, the heaviest kind: the worker claims
//! it, stores a fresh sign-in link, renders both parts, sends it over a
//! pooled SMTP connection and records `sent` with the user's status.
//! Queueing a bulk send (N3) is one set-based statement in the store and is
//! measured with the application, not here.
//!
//! `cargo bench -p mail --bench delivery`; `BENCH_MESSAGES` (default 10000)
//! and `BENCH_CONCURRENCY` (default 8) change the run.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::Instant;
use store::MailKind;
use support::smtp_sink::SmtpSink;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A fresh database with `n` users, each with a queued new user email.
async fn queued(n: usize) -> support::Env {
    let env = support::env().await;
    let start = Instant::now();
    for i in 0..n {
        let u = env
            .add_user(&format!("user{i}@example.com"), "Bench", &format!("User {i}"), true)
            .await;
        env.enqueue(MailKind::NewUserEmail, Some(&u), &format!("user{i}@example.com"), json!({}))
            .await;
    }
    println!(
        "  set-up: {n} users and messages queued in {:.1} s (one transaction each; not the measured part)",
        start.elapsed().as_secs_f64()
    );
    env
}

#[tokio::main]
async fn main() {
    let n = setting("BENCH_MESSAGES", 10_000);
    let concurrency = setting("BENCH_CONCURRENCY", 8);
    println!("mail delivery benchmark: {n} new user emails, concurrency {concurrency}");

    let env = queued(n).await;
    let sink = SmtpSink::start().await;
    let worker = env.worker(Some(&sink.url()), |c| c.concurrency = concurrency);
    let start = Instant::now();
    let tally = worker.run_once().await.expect("delivery run");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(tally.sent, n, "{tally:?}");
    assert_eq!(sink.messages().len(), n);
    println!(
        "  SMTP:  {n} messages in {secs:.2} s = {:.0} messages/s over {} connection(s)",
        n as f64 / secs,
        sink.connections()
    );

    let env = queued(n).await;
    let worker = env.worker(None, |c| c.concurrency = concurrency);
    let start = Instant::now();
    let tally = worker.run_once().await.expect("delivery run");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(tally.sent, n, "{tally:?}");
    println!("  files: {n} messages in {secs:.2} s = {:.0} messages/s", n as f64 / secs);
}
