//! A2/A3 at scale (issue 16), over HTTP against the real `tracker serve`:
//! the user list exported as CSV at 100,000 users (target < 2 s, with the
//! server's memory flat while it streams), and 10,000 users imported from
//! one CSV file (target < 5 s).
//!
//! `cargo bench -p tracker --bench exchange` on a fresh SQLite file; with
//! `TRACKER_TEST_DATABASE_URL` (as `scripts/with-postgres.sh` exports) the
//! same run on a fresh PostgreSQL database too. Settings: `BENCH_USERS`
//! (default 100000), `BENCH_IMPORT_ROWS` (default 10000).
//!
//! Set-up (not measured): a migrated database, 20 firms and 10 offices,
//! the users through the store's bulk insert, `tracker serve` as a child
//! process. Measured: `GET /api/v1/users.csv?status=all` read to its last
//! byte, while a sampler reads the child's resident set (`VmRSS`) every
//! 10 ms; the RSS before the export (after a warm-up export of one page) is
//! compared with the peak during it. Then `POST /api/v1/users/import` of
//! 10,000 new users (half with their new user email held, half queued),
//! first as a dry run, then for real. Exits non-zero when a target is
//! missed.

mod common;
use bytes::Bytes;
use common::start_serve;
use domain::model::{EmailStatus, NewUserEmail, User};
use domain::{FirmId, OfficeId, Role, Side, UserId};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Db;

/// The most the server's RSS may grow while it streams the export: a few
/// pages of rows and socket buffers, far below the file itself.
const FLAT_MB: f64 = 8.0;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seeded(i: usize, firms: &[FirmId], offices: &[OfficeId], now: i64) -> User {
    let firm = i.is_multiple_of(5).then(|| firms[i % firms.len()].clone());
    User {
        id: UserId::generate(),
        email: format!("user{i:07}@example.com"),
        first_name: ["Ana", "Zoë", "Jean-Luc", "=Formula", "李"][i % 5].into(),
        last_name: format!("O'Name, {i}"),
        side: if firm.is_some() { Side::Firm } else { Side::Company },
        office_id: (firm.is_none() && i.is_multiple_of(2)).then(|| offices[i % offices.len()].clone()),
        role: if firm.is_some() { Role::FirmUser } else { Role::CompanyUser },
        firm_id: firm,
        active: i % 10 != 3,
        activated_at: Some(now - 1_000_000),
        last_sign_in_at: Some(now - (i as i64 * 7_919) % 86_400_000),
        created_at: now,
        updated_at: now,
        deactivated_at: None,
        new_user_email: NewUserEmail {
            status: EmailStatus::Sent,
            sent_at: Some(now - 2_000_000),
            send_count: 1,
            last_change_at: None,
        },
        locked_until: None,
        lock_reason: None,
    }
}

/// Every user, active or not, from the kept totals.
async fn user_total(db: &Db) -> i64 {
    let f = db.ops_figures().await.expect("figures");
    f.users_active + f.users_inactive
}

/// The resident set of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn request(client: &Http, method: &str, url: &str, token: &str, content_type: &str, body: Bytes) -> (u16, Bytes) {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Full::new(body))
        .unwrap();
    let resp = client.request(req).await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.expect("body").to_bytes())
}

#[derive(Default)]
struct Verdict {
    missed: Vec<String>,
}

impl Verdict {
    fn check(&mut self, ok: bool, what: String) -> &'static str {
        if ok {
            "ok"
        } else {
            self.missed.push(what);
            "MISSED"
        }
    }
}

async fn run(label: &str, url: &str, dir: &std::path::Path, v: &mut Verdict) {
    let users = setting("BENCH_USERS", 100_000);
    let import_rows = setting("BENCH_IMPORT_ROWS", 10_000);
    println!("\n{label}");
    let (db, _) = common::seed(url, users, seeded).await;
    let total = user_total(&db).await;
    let serve = start_serve(dir, url).await;
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let (status, body) = request(
        &client,
        "POST",
        &format!("{}/api/v1/sessions", serve.url),
        "",
        "application/json",
        Bytes::from(r#"{"email":"root@company.example","password":"Str0ng-Passw0rd!"}"#),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let token = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Warm-up: one small export, so that the pools and the allocator have
    // what a request needs before the baseline is read.
    let csv_url = format!("{}/api/v1/users.csv?status=all&sort=email", serve.url);
    let (status, _) = request(
        &client,
        "GET",
        &format!("{csv_url}&q=user0000001"),
        &token,
        "text/plain",
        Bytes::new(),
    )
    .await;
    assert_eq!(status, 200);
    let pid = serve.child.id();
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let t = Instant::now();
    let req = hyper::Request::get(&csv_url)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.expect("export");
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut file = Vec::new();
    let mut chunks = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("export body").into_data() {
            file.extend_from_slice(&data);
            chunks += 1;
        }
    }
    let took = t.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let after = rss_kib(pid);
    let peak = peak.load(Ordering::Relaxed).max(after);
    let rows = csv::Reader::from_reader(file.as_slice()).records().count() as i64;
    assert_eq!(rows, total, "every user exported once");
    let growth_mb = (peak.saturating_sub(before)) as f64 / 1024.0;
    let file_mb = file.len() as f64 / (1024.0 * 1024.0);
    let fast = v.check(took < 2.0, format!("{label}: export of {rows} users took {took:.2} s"));
    let flat = v.check(
        growth_mb < FLAT_MB,
        format!("{label}: serve grew {growth_mb:.1} MB while exporting"),
    );
    println!("  export users.csv: {rows} rows, {file_mb:.1} MB in {chunks} chunks, {took:.2} s (target < 2 s: {fast})");
    println!(
        "  serve RSS: {:.1} MB before, peak {:.1} MB during, {:.1} MB after; growth {growth_mb:.1} MB (target < {FLAT_MB} MB: {flat})",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0
    );

    // A3: 10,000 new users in one file, firm and office by name.
    let mut csv = String::from("email,first_name,last_name,side,firm,office,role,hold_new_user_email\r\n");
    for i in 0..import_rows {
        let (side, firm, office, role) = if i % 4 == 0 {
            ("firm", format!("Firm {}", i % 20), String::new(), "firm_user")
        } else {
            ("company", String::new(), format!("Office {}", i % 10), "company_user")
        };
        csv.push_str(&format!(
            "imported{i:06}@import.example,Imported,\"Person, {i}\",{side},{firm},{office},{role},{}\r\n",
            i % 2 == 0
        ));
    }
    let csv = Bytes::from(csv);
    let import_url = format!("{}/api/v1/users/import", serve.url);
    let t = Instant::now();
    let (status, body) = request(
        &client,
        "POST",
        &format!("{import_url}?dry_run=true"),
        &token,
        "text/csv",
        csv.clone(),
    )
    .await;
    let dry = t.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["valid_rows"], import_rows, "{report}");
    let t = Instant::now();
    let (status, body) = request(&client, "POST", &format!("{import_url}?dry_run=false"), &token, "text/csv", csv).await;
    let took = t.elapsed().as_secs_f64();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["created"], import_rows, "{report}");
    let after_import = user_total(&db).await;
    assert_eq!(after_import, total + import_rows as i64);
    let ok = v.check(took < 5.0, format!("{label}: import of {import_rows} rows took {took:.2} s"));
    println!("  import: dry run of {import_rows} rows {dry:.2} s; import {took:.2} s (target < 5 s: {ok})");
    drop(serve);
    db.close().await;
}

#[tokio::main]
async fn main() {
    let mut verdict = Verdict::default();
    let mut databases = vec![("SQLite", None)];
    if let Some(server) = std::env::var("TRACKER_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        databases.push(("PostgreSQL", Some(server)));
    }
    for (label, server) in databases {
        let dir = tempfile::tempdir().unwrap();
        let url = match &server {
            None => format!("sqlite://{}/tracker.db", dir.path().display()),
            Some(server) => Db::create_postgres_database(server, &format!("bench_exchange_{}", std::process::id()))
                .await
                .expect("a benchmark database"),
        };
        run(label, &url, dir.path(), &mut verdict).await;
    }
    if verdict.missed.is_empty() {
        println!("\nall targets met");
    } else {
        println!("\ntargets missed:");
        for m in &verdict.missed {
            println!("  {m}");
        }
        std::process::exit(1);
    }
}
