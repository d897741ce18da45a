//! Issue 7's benchmark: how a burst of sign-ins (Argon2id, off the async
//! executor and bounded) affects other requests, and whether unknown and
//! wrong-password sign-ins take the same time (S2).
//!
//! `cargo bench -p tracker --bench signin_burst` — prints figures and
//! checks that every answer is what it should be: the accounts it measures
//! are never locked (the lockout threshold is raised for them), each
//! correct sign-in of the burst succeeds or is refused as busy (S12's
//! bound on waiting hashes, 503), and each unknown one is a 401.

use app::limits::LimitConfig;
use app::{App, AppConfig, SystemClock};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<34} n={:<5} p50={:>8.2?} p95={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        v.len(),
        percentile(&v, 0.50),
        percentile(&v, 0.95),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default()
    );
}

async fn probe(client: &reqwest::Client, url: &str, token: &str, until: Instant) -> Vec<Duration> {
    let mut out = Vec::new();
    while Instant::now() < until {
        let t = Instant::now();
        let r = client.get(format!("{url}/api/v1/me")).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success());
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = tracker::open_db(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .unwrap();
    let limits = LimitConfig {
        sign_in_per_address: 1_000_000,
        sign_in_per_account: 1_000_000,
        set_password_per_address: 1_000_000,
    };
    let app = App::new(
        db,
        Arc::new(SystemClock),
        AppConfig {
            limits,
            ..AppConfig::default()
        },
    );
    let password = "Bench-Passw0rd!";
    let admin = app
        .create_admin("bench@company.example", "Bench", "Admin", Some(password.into()))
        .await
        .unwrap()
        .user;
    app.create_admin("burst@company.example", "Burst", "Admin", Some(password.into()))
        .await
        .unwrap();
    // 40 wrong passwords must measure the wrong-password path, not a lock.
    let lockout = domain::model::Lockout {
        max_failures: 100,
        ..Default::default()
    };
    app.update_settings(
        &app::Ctx::user(&admin, None),
        app::settings::SettingsPatch {
            lockout: Some(lockout),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = web::router(app.clone());
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await });
    let client = reqwest::Client::new();
    let sign_in = |email: &'static str, pw: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let t = Instant::now();
            let r = client
                .post(format!("{url}/api/v1/sessions"))
                .json(&json!({"email": email, "password": pw}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap(), t.elapsed())
        }
    };
    let (_, body, _) = sign_in("bench@company.example", password).await;
    let token = body["token"].as_str().unwrap().to_owned();

    println!("cores: {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let baseline = probe(&client, &url, &token, Instant::now() + Duration::from_secs(2)).await;
    summary("GET /me, idle", baseline);

    // S2: the same work for unknown and wrong-password accounts.
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for _ in 0..40 {
        let (s, _, d) = sign_in("nobody@company.example", "Wrong-Passw0rd!").await;
        assert_eq!(s, 401);
        unknown.push(d);
        let (s, _, d) = sign_in("bench@company.example", "Wrong-Passw0rd!").await;
        assert_eq!(s, 401);
        wrong.push(d);
    }
    let locked = app
        .db
        .read()
        .await
        .unwrap()
        .user_by_email("bench@company.example")
        .await
        .unwrap()
        .unwrap();
    assert!(locked.locked_until.is_none(), "the measured account must not lock");
    summary("sign-in, unknown email", unknown);
    summary("sign-in, wrong password", wrong);

    // A burst of 200 concurrent sign-ins while /me is probed: half correct
    // (one account), half for an unknown email (nothing to lock).
    let burst_started = Instant::now();
    let probe_task = {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        tokio::spawn(async move { probe(&client, &url, &token, Instant::now() + Duration::from_secs(6)).await })
    };
    let mut burst = Vec::new();
    for i in 0..200 {
        let (email, pw) = if i % 2 == 0 {
            ("burst@company.example", password)
        } else {
            ("nobody@company.example", "Wrong-Passw0rd!")
        };
        let attempt = sign_in(email, pw);
        burst.push(tokio::spawn(async move { (i % 2 == 0, attempt.await) }));
    }
    let mut signin_times = Vec::new();
    let (mut signed_in, mut refused, mut busy) = (0, 0, 0);
    for b in burst {
        let (correct, (status, body, d)) = b.await.unwrap();
        match (correct, status) {
            (true, 201) => signed_in += 1,
            (false, 401) => refused += 1,
            (_, 503) => busy += 1,
            other => panic!("unexpected answer {other:?} in the burst: {body}"),
        }
        signin_times.push(d);
    }
    println!("burst answers: {signed_in} signed in, {refused} refused (unknown email), {busy} told the server is busy (503)");
    let burst_secs = burst_started.elapsed();
    let during = probe_task.await.unwrap();
    summary("sign-in during burst of 200", signin_times);
    println!("burst of 200 sign-ins took {burst_secs:.2?}");
    summary("GET /me during the burst", during);
}
