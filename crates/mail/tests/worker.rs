//! The worker as `tracker serve` runs it: woken by the application,
//! stopped gracefully, and safe beside other workers on the same database.

mod support;

use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use store::{Db, MailKind};
use support::smtp_sink::SmtpSink;
use support::{env, parse, WAIT};

async fn wait_until_sent(env: &support::Env, id: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while env.outbox(id).await.status.as_str() != "sent" {
        assert!(tokio::time::Instant::now() < deadline, "message {id} not recorded as sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_worker_wakes_when_mail_is_queued_and_finishes_in_flight_work_on_shutdown() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let sink = SmtpSink::start().await;
    // Polling alone would take a minute: only the wake-up can be this quick.
    let worker = env.worker(Some(&sink.url()), |c| c.poll_interval = Duration::from_secs(60));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let first = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    env.wake.notify_one();
    tokio::time::timeout(Duration::from_secs(5), sink.wait_for(1, WAIT))
        .await
        .expect("woken at once");
    wait_until_sent(&env, first).await;

    // A slow server: shut down while the second delivery is in flight.
    sink.set_data_delay(Duration::from_millis(500));
    let second = env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", json!({})).await;
    env.wake.notify_one();
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.data_begun() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "second delivery never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, running).await.expect("the worker stops").unwrap();

    assert_eq!(sink.messages().len(), 2);
    assert_eq!(
        env.outbox(second).await.status.as_str(),
        "sent",
        "the in-flight delivery was finished and recorded"
    );
    let third = env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", json!({})).await;
    env.wake.notify_one();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.outbox(third).await.status.as_str(), "queued", "a stopped worker claims nothing");
}

#[tokio::test]
async fn the_worker_also_finds_mail_by_polling() {
    let env = env().await;
    let sink = SmtpSink::start().await;
    let worker = env.worker(Some(&sink.url()), |c| c.poll_interval = Duration::from_millis(50));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Queued by "another process": nobody signals.
    env.enqueue(
        MailKind::MatterClosed,
        None,
        "ops@example.com",
        json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "closed_for": "editing"}),
    )
    .await;

    sink.wait_for(1, WAIT).await;
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, running).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_never_deliver_the_same_message_twice() {
    let env = env().await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let u = env.add_user(&format!("user{i}@example.com"), "U", &format!("{i}"), true).await;
        ids.push(
            env.enqueue(MailKind::NewUserEmail, Some(&u), &format!("user{i}@example.com"), json!({}))
                .await,
        );
    }
    let sink = SmtpSink::start().await;
    // Slow enough that neither worker can deliver all 60 before the other
    // has claimed some: delivery itself takes well under a millisecond.
    // At 8 deliveries at a time, one worker alone needs about 0.4 s, time
    // for a dozen tries of SQLite's busy handler (it backs off to 100 ms)
    // on the other's first claim. With 10 ms (under 0.1 s alone), a busy
    // CI machine once let one worker take all 60.
    sink.set_data_delay(std::time::Duration::from_millis(50));
    // The second worker has its own connections, like another process.
    let other_db = Db::connect(&env.db_url).await.unwrap();
    let a = env.worker(Some(&sink.url()), |c| c.batch = 3);
    let b = mail::Worker::new(
        other_db,
        mail::Transport::from_config(Some(&sink.url()), env.dir.path(), support::FROM).unwrap(),
        mail::WorkerConfig { batch: 3, ..env.config() },
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );

    let (ta, tb) = tokio::join!(a.run_once(), b.run_once());
    let (ta, tb) = (ta.unwrap(), tb.unwrap());

    assert_eq!(ta.sent + tb.sent, 60, "{ta:?} {tb:?}");
    assert!(ta.sent > 0 && tb.sent > 0, "both took part: {ta:?} {tb:?}");
    let got = sink.messages();
    assert_eq!(got.len(), 60);
    let distinct: HashSet<String> = got.iter().map(|r| parse(&r.data).message_id).collect();
    assert_eq!(distinct.len(), 60, "no message delivered twice");
    for id in ids {
        let row = env.outbox(id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 1), "{row:?}");
    }
}

/// OP4: a stop that cannot wait for a slow server cuts the delivery off
/// after `stop_grace` and puts its row back in the queue, due now: another
/// worker sends it at once instead of after the 60 s lease. OP1: the
/// heartbeat says the worker runs, and no longer once it stopped.
#[tokio::test]
async fn op4_a_stop_past_its_grace_releases_the_claims_for_another_worker() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let stuck = SmtpSink::start().await;
    stuck.set_data_delay(Duration::from_secs(60));
    let worker = env.worker(Some(&stuck.url()), |c| c.stop_grace = Duration::from_millis(300));
    let heartbeat = worker.heartbeat();
    assert_eq!(heartbeat.last_tick(), None, "not started yet");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let id = env.enqueue(MailKind::PasswordReset, Some(&ann), "ann@example.com", json!({})).await;
    env.wake.notify_one();
    let deadline = tokio::time::Instant::now() + WAIT;
    while stuck.data_begun() < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the delivery never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(heartbeat.last_tick(), Some(env.now()), "the running worker ticks on the clock");
    assert_eq!(env.outbox(id).await.status.as_str(), "sending");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops within its grace, not after the slow server")
        .unwrap();
    assert_eq!(heartbeat.last_tick(), None, "a stopped worker is not running");
    let row = env.outbox(id).await;
    assert_eq!(row.status.as_str(), "queued", "the claim was released");
    assert!(row.next_attempt_at <= env.now(), "due at once");

    // Same clock, lease not run out: only a released claim can be taken.
    let working = SmtpSink::start().await;
    let other = env.worker(Some(&working.url()), |_| {});
    let tally = other.run_once().await.unwrap();
    assert_eq!(tally.sent, 1, "{tally:?}");
    assert_eq!(env.outbox(id).await.status.as_str(), "sent");
}
