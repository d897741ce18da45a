//! N8 under a crash: the real `tracker` binary, killed with SIGKILL in the
//! middle of a large bulk send (N3) and started again, delivers every
//! message, and the only copies that arrive twice are those that were in
//! flight at the kill: at most the worker's concurrency.
//!
//! The binary runs as a child process on a fresh data directory, with a
//! real SMTP server (the test's, in this process) that takes a few
//! milliseconds per message so that the kill lands mid-delivery. The
//! restarted process runs with the test clock, which the test moves past
//! the claim lease of the dead process, as the wall clock would a minute
//! later.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use testkit::message::parse;
use testkit::smtp_sink::SmtpSink;

const BIN: &str = env!("CARGO_BIN_EXE_tracker");
const ADMIN: &str = "root@company.example";
const PASSWORD: &str = "Str0ng-Passw0rd!";
const USERS: usize = 2_000;

/// A running `tracker serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    async fn start(data_dir: &Path, smtp_url: &str, run: usize) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = data_dir.join(format!("serve-{run}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .env("TRACKER_DATA_DIR", data_dir)
            .env("TRACKER_LISTEN", format!("127.0.0.1:{port}"))
            .env("TRACKER_SMTP_URL", smtp_url)
            .env("TRACKER_TEST_CLOCK", "true")
            .env("RUST_LOG", "warn")
            .env_remove("TRACKER_DATABASE_URL")
            .env_remove("TRACKER_PUBLIC_URL")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start tracker serve");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client
                .get(format!("{}/api/v1/openapi.json", server.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return server;
            }
            assert!(Instant::now() < deadline, "tracker serve did not come up:\n{}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no chance to record anything.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_admin(data_dir: &Path) {
    let mut tracker = Command::new(BIN);
    tracker.env("TRACKER_DATA_DIR", data_dir).env_remove("TRACKER_DATABASE_URL");
    testkit::cli::create_admin(tracker, ADMIN, PASSWORD);
}

/// `USERS` held company users, written straight into the database before
/// the server starts (through the API this takes most of a minute in a
/// debug build); the send itself goes through the API.
async fn seed_held_users(data_dir: &Path) {
    let db = tracker::open_db(&format!("sqlite://{}/tracker.db", data_dir.display()))
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut tx = db.write().await.unwrap();
    for i in 0..USERS {
        let user = testkit::users::held_company_user(&format!("user{i:05}@company.example"), "Bulk", &format!("User {i}"), now);
        tx.insert_user(&user).await.unwrap();
    }
    tx.commit().await.unwrap();
    db.close().await;
}

async fn sign_in(client: &Client, server: &Server) -> String {
    let r = client
        .post(format!("{}/api/v1/sessions", server.url))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Email status of every bulk user, through the API.
async fn statuses(client: &Client, server: &Server, token: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for page in 1.. {
        let r: Value = client
            .get(format!("{}/api/v1/users?status=all&per_page=500&page={page}&q=bulk", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = r["items"].as_array().unwrap_or_else(|| panic!("{r}"));
        for u in items {
            out.insert(
                u["email"].as_str().unwrap().to_owned(),
                u["new_user_email"]["status"].as_str().unwrap().to_owned(),
            );
        }
        if items.len() < 500 {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_a_bulk_send_loses_nothing_and_duplicates_at_most_the_in_flight_messages() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    sink.set_data_delay(Duration::from_millis(4));
    create_admin(dir.path());
    seed_held_users(dir.path()).await;

    let client = Client::new();
    let server = Server::start(dir.path(), &sink.url(), 1).await;
    let token = sign_in(&client, &server).await;
    let r = client
        .post(format!("{}/api/v1/new-user-emails/send", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["sent"], USERS, "{body}");

    // Kill it a quarter of the way through.
    sink.wait_for(USERS / 4, Duration::from_secs(60)).await;
    let log = server.log();
    server.kill();
    let at_kill = sink.messages().len();
    let begun_at_kill = sink.data_begun();
    assert!(
        at_kill < USERS,
        "the kill came after the end ({at_kill} delivered): make the sink slower"
    );

    // Start again; move its clock past the dead process's claim lease.
    let server = Server::start(dir.path(), &sink.url(), 2).await;
    let token = sign_in(&client, &server).await;
    let r = client
        .post(format!("{}/api/v1/_test/clock", server.url))
        .json(&json!({"advance_ms": mail::WorkerConfig::new("http://x").lease_ms + 5_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Everyone gets their email, and every status ends `sent`.
    let deadline = Instant::now() + Duration::from_secs(90);
    let final_statuses = loop {
        let s = statuses(&client, &server, &token).await;
        if s.len() == USERS && s.values().all(|v| v == "sent") {
            break s;
        }
        if Instant::now() > deadline {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for v in s.values() {
                *counts.entry(v.as_str()).or_default() += 1;
            }
            panic!(
                "not all sent in time: {counts:?} of {}\nfirst run:\n{log}\nsecond run:\n{}",
                s.len(),
                server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(final_statuses.len(), USERS);

    let received = sink.messages();
    let mut by_recipient: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &received {
        assert_eq!(m.rcpt_to.len(), 1);
        let parsed = parse(&m.data);
        assert!(parsed.subject.contains("set your password"), "{}", parsed.subject);
        by_recipient.entry(m.rcpt_to[0].clone()).or_default().push(parsed.message_id);
    }
    assert_eq!(by_recipient.len(), USERS, "every user got their email");
    for email in final_statuses.keys() {
        assert!(by_recipient.contains_key(email), "{email} got nothing");
    }
    let duplicates = received.len() - USERS;
    let in_flight_bound = mail::WorkerConfig::new("http://x").concurrency;
    for (to, ids) in &by_recipient {
        if ids.len() > 1 {
            assert!(
                ids.iter().all(|id| id == &ids[0]),
                "a copy carries the same Message-ID: {to} {ids:?}"
            );
        }
    }
    println!(
        "crash test: {USERS} users, killed after {at_kill} delivered ({begun_at_kill} DATA begun), \
         {} received in all, {duplicates} duplicate(s) (bound {in_flight_bound}), {:.1} s",
        received.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        duplicates <= in_flight_bound,
        "{duplicates} duplicates, more than the {in_flight_bound} deliveries that can be in flight"
    );
    drop(server);
}
