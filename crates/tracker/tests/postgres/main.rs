//! Scale-out on PostgreSQL: two `tracker serve` processes on one database.
//! Needs `TRACKER_TEST_DATABASE_URL` (run through `scripts/with-postgres.sh`,
//! as `scripts/test.sh` does); without it this suite fails rather than
//! pretending to pass.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::smtp_sink::SmtpSink;

const ADMIN: &str = "root@company.example";
const PASSWORD: &str = "Str0ng-Passw0rd!";

async fn fresh_database() -> String {
    let server = std::env::var("TRACKER_TEST_DATABASE_URL")
        .expect("TRACKER_TEST_DATABASE_URL is not set: run this suite through scripts/with-postgres.sh (scripts/test.sh does)");
    let (token, _) = domain::secret::new_token();
    let name: String = format!(
        "mp_{}",
        token
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect::<String>()
    );
    store::Db::create_postgres_database(&server, &name).await.expect("create database")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tracker(db: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracker"));
    cmd.env("TRACKER_DATABASE_URL", db)
        .env("TRACKER_DATA_DIR", dir)
        .env("RUST_LOG", "warn");
    cmd
}

async fn serve(db: &str, dir: &std::path::Path, smtp: &str) -> Server {
    serve_with(db, dir, smtp, &[]).await
}

async fn serve_with(db: &str, dir: &std::path::Path, smtp: &str, env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let child = tracker(db, dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .envs(env.iter().copied())
        .env("TRACKER_SMTP_URL", smtp)
        .stdout(Stdio::null())
        .spawn()
        .expect("start tracker serve");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{url}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "tracker serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, url }
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Two processes, one database: sessions work on either, every message is
/// delivered once overall, and the deactivation race holds across processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_postgresql_database() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    testkit::cli::create_admin(tracker(&db, dir.path()), ADMIN, PASSWORD);
    let a = serve(&db, dir.path(), &sink.url()).await;
    let b = serve(&db, dir.path(), &sink.url()).await;
    let client = reqwest::Client::new();

    // A session made on A works on B, and signing out on B ends it on A.
    let r: Value = client
        .post(format!("{}/api/v1/sessions", a.url))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&client, reqwest::Method::GET, format!("{}/api/v1/me", b.url), &token, None)
            .await
            .0,
        StatusCode::OK
    );
    let r: Value = client
        .post(format!("{}/api/v1/sessions", b.url))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = r["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &client,
            reqwest::Method::DELETE,
            format!("{}/api/v1/sessions/current", b.url),
            &other,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&client, reqwest::Method::GET, format!("{}/api/v1/me", a.url), &other, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // 120 users created through both processes: each new user email once.
    let mut tasks = Vec::new();
    for i in 0..120 {
        let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let (client, token) = (client.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let body =
                json!({"email": format!("u{i}@company.example"), "first_name": "U", "last_name": format!("{i}"), "role": "company_user"});
            call(&client, reqwest::Method::POST, format!("{url}/api/v1/users"), &token, Some(body))
                .await
                .0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let got = sink.wait_for(120, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = if sink.messages().len() > got.len() { sink.messages() } else { got };
    let mut recipients: Vec<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    recipients.sort();
    let before = recipients.len();
    recipients.dedup();
    assert_eq!(recipients.len(), 120, "every user got their email");
    assert_eq!(before, 120, "and nobody got it twice");

    // The deactivation race, across processes: making U lead of an open
    // matter on one process while U is deactivated on the other never both
    // succeed.
    let (_, lead) = call(&client, reqwest::Method::POST, format!("{}/api/v1/users", a.url), &token, Some(json!({"email": "keeper@company.example", "first_name": "K", "last_name": "Eeper", "role": "company_user", "hold_new_user_email": true}))).await;
    let keeper = lead["id"].as_str().unwrap().to_owned();
    let mut both = 0;
    let mut lead_won = 0;
    for i in 0..20 {
        let (_, u) = call(&client, reqwest::Method::POST, format!("{}/api/v1/users", a.url), &token, Some(json!({"email": format!("race{i}@company.example"), "first_name": "R", "last_name": format!("{i}"), "role": "company_user", "hold_new_user_email": true}))).await;
        let u = u["id"].as_str().unwrap().to_owned();
        let (_, m) = call(
            &client,
            reqwest::Method::POST,
            format!("{}/api/v1/matters", a.url),
            &token,
            Some(json!({"name": format!("Race {i}"), "number": format!("R-{i}"), "lead_company_person_id": keeper})),
        )
        .await;
        let m = m["id"].as_str().unwrap().to_owned();
        let lead_req = call(
            &client,
            reqwest::Method::PATCH,
            format!("{}/api/v1/matters/{m}", a.url),
            &token,
            Some(json!({"lead_company_person_id": u})),
        );
        let deact_req = call(
            &client,
            reqwest::Method::PATCH,
            format!("{}/api/v1/users/{u}", b.url),
            &token,
            Some(json!({"active": false})),
        );
        let ((ls, _), (ds, _)) = tokio::join!(lead_req, deact_req);
        assert!(ls == StatusCode::OK || ls == StatusCode::UNPROCESSABLE_ENTITY, "{ls}");
        assert!(ds == StatusCode::OK || ds == StatusCode::CONFLICT, "{ds}");
        if ls == StatusCode::OK && ds == StatusCode::OK {
            both += 1;
        }
        if ls == StatusCode::OK {
            lead_won += 1;
        }
        let (_, matter) = call(&client, reqwest::Method::GET, format!("{}/api/v1/matters/{m}", b.url), &token, None).await;
        let (_, user) = call(&client, reqwest::Method::GET, format!("{}/api/v1/users/{u}", a.url), &token, None).await;
        assert!(
            !(matter["lead_company_person_id"] == u.as_str() && user["active"] == false),
            "an inactive lead of an open matter"
        );
    }
    assert_eq!(both, 0, "a deactivation and a conflicting lead change both succeeded");
    println!("lead change won {lead_won} of 20 races");
}

/// O3 across processes: two `serve` processes tick their schedulers over
/// the same plans (PostgreSQL `FOR UPDATE SKIP LOCKED`); each plan runs
/// exactly once: one offboarding, one deactivation, one digest each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn o3_two_processes_run_each_scheduled_deactivation_once() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    testkit::cli::create_admin(tracker(&db, dir.path()), ADMIN, PASSWORD);
    // The test clock makes both schedulers tick every second.
    let a = serve_with(&db, dir.path(), &sink.url(), &[("TRACKER_TEST_CLOCK", "true")]).await;
    let b = serve_with(&db, dir.path(), &sink.url(), &[("TRACKER_TEST_CLOCK", "true")]).await;
    let client = reqwest::Client::new();
    let r: Value = client
        .post(format!("{}/api/v1/sessions", a.url))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["token"].as_str().unwrap().to_owned();
    let post = |url: String, body: Value| {
        let (client, token) = (client.clone(), token.clone());
        async move { call(&client, reqwest::Method::POST, url, &token, Some(body)).await }
    };
    let user =
        |email: String| json!({"email": email, "first_name": "P", "last_name": "Lan", "role": "company_user", "hold_new_user_email": true});
    let (_, s) = post(format!("{}/api/v1/users", a.url), user("heir@company.example".into())).await;
    let successor = s["id"].as_str().unwrap().to_owned();
    // Ten minutes ahead; both processes' clocks are moved past it below,
    // so the plans are surely stored first and nobody waits in real time.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let at = time::OffsetDateTime::from_unix_timestamp(at as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut leaving = Vec::new();
    for i in 0..6 {
        let (_, u) = post(format!("{}/api/v1/users", a.url), user(format!("leaves{i}@company.example"))).await;
        let id = u["id"].as_str().unwrap().to_owned();
        let (st, _) = post(
            format!("{}/api/v1/matters", b.url),
            json!({"name": format!("Plan {i}"), "number": format!("PL-{i}"), "lead_company_person_id": id}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        let (st, body) = post(
            format!("{url}/api/v1/users/{id}/offboard"),
            json!({"default_successor_id": successor, "effective_at": at}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["scheduled"]["status"], "scheduled", "{body}");
        leaving.push(id);
    }
    for server in [&a, &b] {
        let r = client
            .post(format!("{}/api/v1/_test/clock", server.url))
            .json(&json!({"advance_ms": 660_000}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let started = Instant::now();
    loop {
        let (_, list) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/api/v1/scheduled-deactivations", b.url),
            &token,
            None,
        )
        .await;
        if list["total"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the plans did not all run: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &leaving {
        let (_, u) = call(&client, reqwest::Method::GET, format!("{}/api/v1/users/{id}", a.url), &token, None).await;
        assert_eq!(u["active"], false, "{u}");
    }
    let (_, offboarded) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/api/v1/audit?action=user.offboarded&per_page=100", a.url),
        &token,
        None,
    )
    .await;
    assert_eq!(offboarded["total"], 6, "each plan ran once: {offboarded}");
    let (_, failed) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/api/v1/audit?action=user.deactivation_failed", a.url),
        &token,
        None,
    )
    .await;
    assert_eq!(failed["total"], 0, "{failed}");
    let (_, moved) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/api/v1/audit?action=matter.lead_reassigned&per_page=100", a.url),
        &token,
        None,
    )
    .await;
    assert_eq!(moved["total"], 6, "{moved}");
    // One digest per plan for the successor, no more.
    let got = sink.wait_for(6, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = if sink.messages().len() > got.len() { sink.messages() } else { got };
    let digests = got.iter().filter(|m| m.rcpt_to.iter().any(|r| r == "heir@company.example")).count();
    assert_eq!(digests, 6);
}
