//! A2/A3 at scale (issue 16), over HTTP against the real `tracker serve`:
//! the user list exported as CSV at 10,000 and then 100,000 users (target
//! < 2 s at 100,000, with the server's memory flat while it streams), and
//! 10,000 users imported from one CSV file (target < 5 s).
//!
//! `cargo bench -p tracker --bench exchange` on a fresh SQLite file; with
//! `TRACKER_TEST_DATABASE_URL` (as `scripts/with-postgres.sh` exports) the
//! same run on a fresh PostgreSQL database too. Settings: `BENCH_USERS`
//! (default 100000), `BENCH_SMALL_USERS` (default 10000),
//! `BENCH_IMPORT_ROWS` (default 10000).
//!
//! Set-up (not measured): a migrated database, 20 firms and 10 offices,
//! the first 10,000 users through the store's bulk insert, `tracker serve`
//! as a child process. Measured: `GET /api/v1/users.csv?status=all` read
//! to its last byte, while a sampler reads the child's resident set
//! (`VmRSS`) every 10 ms; then the database grows to 100,000 users (again
//! straight through the store, the server still running) and the export
//! is measured again. Memory is flat when the server's peak resident set
//! (`VmHWM`, the kernel's high-water mark) after the 100,000-user export is
//! within [`FLAT_MB`] of the one after the 10,000-user export: the larger
//! file must not need more memory. Then `POST /api/v1/users/import` of
//! 10,000 new users (half with their new user email held, half queued),
//! first as a dry run, then for real. Exits non-zero when a target is
//! missed. Timings are wall-clock on a shared machine: expect a few tens of
//! milliseconds of noise.

mod common;
use bytes::Bytes;
use common::{start_serve, Verdict};
use domain::model::{EmailStatus, NewUserEmail, User};
use domain::{FirmId, OfficeId, Role, Side, UserId};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Db;

/// The most the server's peak RSS may grow from the 10,000-user export to
/// the 100,000-user one (the file grows by ~15 MB).
const FLAT_MB: f64 = 20.0;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seeded(i: usize, firms: &[FirmId], offices: &[OfficeId], now: i64) -> User {
    let firm = i.is_multiple_of(5).then(|| firms[i % firms.len()].clone());
    User {
        id: UserId::generate(),
        email: domain::Email::parse(&format!("user{i:07}@example.com")).unwrap(),
        first_name: domain::PersonName::parse("first_name", ["Ana", "Zoë", "Jean-Luc", "=Formula", "李"][i % 5]).unwrap(),
        last_name: domain::PersonName::parse("last_name", &format!("O'Name, {i}")).unwrap(),
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

/// A figure of `/proc/<pid>/status` in KiB: `VmRSS` (resident now) or
/// `VmHWM` (the peak resident set so far).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

async fn run(label: &str, url: &str, dir: &std::path::Path, v: &mut Verdict) {
    let users = setting("BENCH_USERS", 100_000);
    let small_users = setting("BENCH_SMALL_USERS", 10_000).min(users);
    let import_rows = setting("BENCH_IMPORT_ROWS", 10_000);
    println!("\n{label}");
    let (db, seeder) = common::seed(url, small_users, seeded).await;
    let total = user_total(&db).await;
    let serve = start_serve(dir, url).await;
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let token = serve.sign_in().await;

    let csv_url = format!("{}/api/v1/users.csv?status=all&sort=email", serve.url);
    // Warm-up: one small export, so that the pools and the allocator have
    // what a request needs before the first baseline is read.
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
    let small = export(&client, &csv_url, &token, pid, total).await;
    small.print(label);

    // The same server, now with `users` users.
    grow(&db, small_users, users, seeder.now()).await;
    let total = user_total(&db).await;
    let large = export(&client, &csv_url, &token, pid, total).await;
    large.print(label);
    let took = large.took;
    let fast = v.check(took < 2.0, format!("{label}: export of {} users took {took:.2} s", large.rows));
    let growth = mb(large.hwm.saturating_sub(small.hwm));
    let flat = v.check(
        growth < FLAT_MB,
        format!(
            "{label}: serve's peak RSS grew {growth:.1} MB from {} to {} users",
            small.rows, large.rows
        ),
    );
    println!("  export of {} users: {took:.2} s (target < 2 s: {fast})", large.rows);
    println!(
        "  serve peak RSS (VmHWM): {:.1} MB after {} users, {:.1} MB after {}; growth {growth:.1} MB (target < {FLAT_MB} MB: {flat})",
        mb(small.hwm),
        small.rows,
        mb(large.hwm),
        large.rows
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

/// Seeds users `from..to` straight through the store (not measured), with
/// the firms and offices the first seeding made.
async fn grow(db: &Db, from: usize, to: usize, now: i64) {
    let start = Instant::now();
    let mut tx = db.read().await.unwrap();
    let firms: Vec<FirmId> = tx.list_firms(None, 100, 0).await.unwrap().0.into_iter().map(|f| f.id).collect();
    let offices: Vec<OfficeId> = tx.list_offices(None, 100, 0).await.unwrap().0.into_iter().map(|o| o.id).collect();
    drop(tx);
    for chunk in (from..to).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<User> = chunk.iter().map(|&i| seeded(i, &firms, &offices, now)).collect();
        let mut tx = db.write().await.unwrap();
        tx.insert_users(&batch).await.unwrap();
        tx.commit().await.unwrap();
    }
    db.analyze().await.unwrap();
    println!("  grew to {to} users in {:.1} s (not measured)", start.elapsed().as_secs_f64());
}

/// What one export measured.
struct Export {
    rows: i64,
    took: f64,
    file_mb: f64,
    chunks: usize,
    /// `VmRSS` before, the highest sampled during, and after (KiB).
    before: u64,
    peak: u64,
    after: u64,
    /// `VmHWM` after the export (KiB).
    hwm: u64,
}

impl Export {
    fn print(&self, label: &str) {
        println!(
            "  {label} export users.csv: {} rows, {:.1} MB in {} chunks, {:.2} s; serve RSS {:.1} MB before, peak {:.1} MB during, {:.1} MB after, VmHWM {:.1} MB",
            self.rows,
            self.file_mb,
            self.chunks,
            self.took,
            mb(self.before),
            mb(self.peak),
            mb(self.after),
            mb(self.hwm)
        );
    }
}

/// `GET users.csv` read to its last byte, with the server's memory sampled.
async fn export(client: &Http, csv_url: &str, token: &str, pid: u32, total: i64) -> Export {
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
    let req = hyper::Request::get(csv_url)
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
    let rows = csv::Reader::from_reader(file.as_slice()).records().count() as i64;
    assert_eq!(rows, total, "every user exported once");
    Export {
        rows,
        took,
        file_mb: file.len() as f64 / (1024.0 * 1024.0),
        chunks,
        before,
        peak: peak.load(Ordering::Relaxed).max(after),
        after,
        hwm: status_kib(pid, "VmHWM"),
    }
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
    verdict.finish();
}
