//! N3 at scale: the *Email new users* confirm step for 100,000 held users
//! (issue 3's target: enqueueing < 2 s), on a fresh SQLite database, and
//! optionally the delivery of what it queued to a local SMTP server.
//!
//! `cargo bench -p tracker --bench bulk_enqueue`. Settings (environment):
//! `BENCH_USERS` (default 100000); `BENCH_DELIVER=1` also delivers every
//! queued message afterwards through the outbox worker to the test SMTP
//! server (about a minute for 100,000); `BENCH_CONCURRENCY` (default 8).
//!
//! The users are written through the store's API in transactions of
//! 10,000 (set-up, not measured). The measured call is the application's
//! `send_pending_new_user_emails`, exactly what `POST
//! /api/v1/new-user-emails/send` runs: a few set-based statements that
//! queue one outbox row, one audit row and the `queued` status per user,
//! in one transaction.

use app::{App, AppConfig, Ctx, Page, SystemClock};
use domain::model::User;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::smtp_sink::SmtpSink;

const BATCH: usize = 10_000;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn held_user(i: usize, now: i64) -> User {
    testkit::users::held_company_user(&format!("user{i:06}@company.example"), "Bulk", &format!("User {i}"), now)
}

#[tokio::main]
async fn main() {
    let users = setting("BENCH_USERS", 100_000);
    let deliver = setting("BENCH_DELIVER", 0) != 0;
    let concurrency = setting("BENCH_CONCURRENCY", 8);
    println!("bulk enqueue benchmark (N3): {users} held users, SQLite");

    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/tracker.db", dir.path().display());
    let db = tracker::open_db(&db_url).await.expect("database");
    let app = App::new(
        db.clone(),
        Arc::new(SystemClock),
        AppConfig {
            public_url: "http://127.0.0.1:8080".into(),
            ..AppConfig::default()
        },
    );
    let admin = app
        .create_admin("root@company.example", "Root", "Admin", Some("Str0ng-Passw0rd!".into()))
        .await
        .expect("admin");
    let ctx = Ctx::user(&admin.user, None);

    let start = Instant::now();
    let now = app.now();
    for chunk in (0..users).collect::<Vec<_>>().chunks(BATCH) {
        let mut tx = db.write().await.unwrap();
        for &i in chunk {
            tx.insert_user(&held_user(i, now)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!(
        "  set-up: {users} users in {:.1} s (transactions of {BATCH}; not measured)",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let report = app
        .pending_new_user_emails(&ctx, Page::new(None, None).unwrap())
        .await
        .expect("report");
    let report_secs = start.elapsed().as_secs_f64();
    assert_eq!(report.total as usize, users);
    println!(
        "  report: first page of {} of {} pending users in {:.3} s",
        report.items.len(),
        report.total,
        report_secs
    );

    let start = Instant::now();
    let sent = app.send_pending_new_user_emails(&ctx).await.expect("bulk send");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(sent.sent as usize, users, "{}", sent.message);
    println!(
        "  enqueue: {users} new user emails queued in {secs:.3} s ({:.0} users/s; target < 2 s for 100,000): {}",
        users as f64 / secs,
        if users < 100_000 || secs < 2.0 { "ok" } else { "OVER TARGET" }
    );
    let again = app.send_pending_new_user_emails(&ctx).await.expect("second send");
    assert_eq!(again.sent, 0, "{}", again.message);

    if deliver {
        let sink = SmtpSink::start().await;
        let transport = mail::Transport::from_config(Some(&sink.url()), dir.path(), "Tracker <tracker@company.example>").unwrap();
        let config = mail::WorkerConfig {
            concurrency,
            ..mail::WorkerConfig::new("http://127.0.0.1:8080")
        };
        let worker = mail::Worker::new(db.clone(), transport, config, Arc::new(tokio::sync::Notify::new()));
        let start = Instant::now();
        let tally = worker.run_once().await.expect("delivery");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(tally.sent, users, "{tally:?}");
        sink.wait_for(users, Duration::from_secs(10)).await;
        println!(
            "  delivery: {users} messages to a local SMTP server in {secs:.2} s = {:.0} messages/s (concurrency {concurrency}, {} connection(s))",
            users as f64 / secs,
            sink.connections()
        );
    }
    db.close().await;
}
