//! Issue 13's benchmark (SPEC §5a): provisioning over SCIM at the speed a
//! directory's first sync needs.
//!
//! `cargo bench -p tracker --bench scim` — over HTTP on loopback against a
//! fresh SQLite file (or `SCIM_BENCH_DATABASE_URL=postgres://…/db`, an
//! empty database):
//! - `SCIM_BENCH_POSTS` users (default 10,000) created one `POST /Users` at
//!   a time, one after the other, as Entra ID does: total time (target
//!   < 30 s for 10,000);
//! - the directory then grown to `SCIM_BENCH_USERS` linked users (default
//!   100,000; with 8 POSTs in flight), and `GET /Users?filter=userName eq
//!   "…"` for random existing users: p50/p99 (target p99 < 5 ms); the
//!   same for `externalId eq`, and pages of 100 without a filter.
//!
//! Every answer is checked (201, one match of the right user).

use app::{App, AppConfig, SystemClock};
use rand::Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn user(n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{n}@corp.example"),
        "externalId": format!("ext-{n}"),
        "name": {"givenName": "Bench", "familyName": format!("User {n}")},
        "emails": [{"value": format!("user{n}@company.example"), "type": "work", "primary": true}],
        "active": true
    })
}

async fn post(client: &reqwest::Client, url: &str, token: &str, n: usize) {
    let r = client
        .post(format!("{url}/scim/v2/Users"))
        .bearer_auth(token)
        .json(&user(n))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED, "{}", r.text().await.unwrap_or_default());
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let posts = env_num("SCIM_BENCH_POSTS", 10_000);
    let users = env_num("SCIM_BENCH_USERS", 100_000).max(posts);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("SCIM_BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let db = tracker::open_db(&url).await.unwrap();
    let app = App::new(db, Arc::new(SystemClock), AppConfig::default());
    let admin = app
        .create_admin("bench@company.example", "Bench", "Admin", None)
        .await
        .unwrap()
        .user;
    let ctx = app::Ctx::user(&admin, None);
    let (_, token) = app.create_scim_token(&ctx, "bench").await.unwrap();
    let router = web::router(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await });
    let client = reqwest::Client::new();

    let t = Instant::now();
    for n in 0..posts {
        post(&client, &base, &token, n).await;
    }
    let took = t.elapsed();
    println!(
        "{posts} POST /Users one at a time: {took:.2?} ({:.0}/s; target < 30 s for 10,000)",
        posts as f64 / took.as_secs_f64()
    );

    let t = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(posts));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, base, token, next) = (client.clone(), base.clone(), token.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= users {
                    break;
                }
                post(&client, &base, &token, n).await;
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    println!("grown to {users} directory users in {:.2?}", t.elapsed());
    app.db.analyze().await.unwrap();

    for (label, filter, id_of) in [
        ("userName eq", "userName eq \"USER{n}@corp.example\"", false),
        ("externalId eq", "externalId eq \"ext-{n}\"", true),
    ] {
        let mut times: Vec<Duration> = Vec::new();
        for i in 0..3_000 {
            let n = rand::thread_rng().gen_range(0..users);
            let t = Instant::now();
            let r = client
                .get(format!("{base}/scim/v2/Users"))
                .query(&[("filter", filter.replace("{n}", &n.to_string()))])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let b: Value = r.json().await.unwrap();
            if i >= 100 {
                times.push(t.elapsed());
            }
            assert_eq!(b["totalResults"], 1, "{b}");
            if id_of {
                assert_eq!(b["Resources"][0]["userName"], format!("user{n}@corp.example"));
            } else {
                assert_eq!(b["Resources"][0]["externalId"], format!("ext-{n}"));
            }
        }
        report(&format!("GET /Users?filter={label} at {users} users"), times, "target p99 < 5 ms");
    }

    // Okta's import pages through every user without a filter.
    let mut times: Vec<Duration> = Vec::new();
    for i in 0..300 {
        let start = rand::thread_rng().gen_range(0..users.saturating_sub(100)) + 1;
        let t = Instant::now();
        let r = client
            .get(format!("{base}/scim/v2/Users"))
            .query(&[("startIndex", start.to_string()), ("count", "100".into())])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let b: Value = r.json().await.unwrap();
        if i >= 10 {
            times.push(t.elapsed());
        }
        assert_eq!(
            (b["totalResults"].as_u64(), b["itemsPerPage"].as_u64()),
            (Some(users as u64), Some(100)),
            "{}",
            b["totalResults"]
        );
    }
    report(
        &format!("GET /Users?startIndex=…&count=100 at {users} users"),
        times,
        "no target; a page of 100",
    );
}

fn report(what: &str, mut times: Vec<Duration>, target: &str) {
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: p50={:.2?} p99={:.2?} max={:.2?} ({target})",
        p(0.5),
        p(0.99),
        times.last().unwrap()
    );
}
