//! What the HTTP benchmarks share: a database seeded straight through the
//! store, the real `tracker serve` started on it, the seeded administrator
//! signed in to it, and the verdict on the targets.

use app::{App, AppConfig, SystemClock};
use bytes::Bytes;
use domain::model::User;
use domain::{FirmId, OfficeId};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Db;

/// The seeded administrator, who signs in over HTTP.
const ADMIN_EMAIL: &str = "root@company.example";
const ADMIN_PASSWORD: &str = "Str0ng-Passw0rd!";

/// The user number `i` of a seeded database.
pub type Seeded = fn(usize, &[FirmId], &[OfficeId], i64) -> User;

/// A fresh, migrated database with `n` users, an administrator, firms and
/// offices. Returns its URL and the administrator's email.
pub async fn seed(url: &str, n: usize, seeded: Seeded) -> (Db, App) {
    let db = tracker::open_db(url).await.expect("database");
    let app = App::new(db.clone(), Arc::new(SystemClock), AppConfig::default());
    let admin = app
        .create_admin(ADMIN_EMAIL, "Root", "Admin", Some(ADMIN_PASSWORD.into()))
        .await
        .expect("admin");
    let ctx = app::Ctx::user(&admin.user, None);
    let mut firms = Vec::new();
    for f in 0..20 {
        let firm = app
            .create_firm(
                &ctx,
                app::firms::NewFirm {
                    name: format!("Firm {f}"),
                    administrator: app::firms::NewFirmAdministrator {
                        email: format!("admin{f}@firm{f}.example"),
                        first_name: "Firm".into(),
                        last_name: "Admin".into(),
                        hold_new_user_email: true,
                    },
                },
            )
            .await
            .expect("firm");
        firms.push(firm.0.id.clone());
    }
    let mut offices = Vec::new();
    for o in 0..10 {
        let input = app::offices::OfficeInput {
            name: Some(format!("Office {o}")),
            ..Default::default()
        };
        let office = app.create_office(&ctx, input).await.expect("office");
        offices.push(office.id.clone());
    }
    let now = app.now();
    let start = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let users: Vec<User> = chunk.iter().map(|&i| seeded(i, &firms, &offices, now)).collect();
        let mut tx = db.write().await.unwrap();
        tx.insert_users(&users).await.unwrap();
        tx.commit().await.unwrap();
    }
    let seeded_in = start.elapsed().as_secs_f64();
    // SQLite: the users the triggers numbered out of name order (migration
    // 0015), put back in it all at once, as set-up (the server's
    // background task would do it window by window).
    let ordering = Instant::now();
    let moved = db.read().await.unwrap().search_docs_in_tails().await.unwrap().unwrap_or(0);
    if moved > 0 {
        let mut tx = db.write().await.unwrap();
        tx.renumber_search_docs().await.unwrap();
        tx.commit().await.unwrap();
    }
    db.analyze().await.unwrap();
    settle(url).await;
    println!("  seeded {n} users in {seeded_in:.1} s (not measured)");
    if moved > 0 {
        println!(
            "  {moved} search documents put back in name order in {:.1} s (not measured)",
            ordering.elapsed().as_secs_f64()
        );
    }
    (db, app)
}

/// Brings the freshly seeded database to the state of one whose users
/// were created over months, so that the measured requests do not share
/// the machine with the set-up's writes. SQLite: folds the seed's log into
/// the file and empties it (as the store's checkpoint task would within a
/// second or two). PostgreSQL: vacuums and analyzes, and checkpoints: the
/// set-up's autovacuum and the checkpoint its WAL calls for otherwise ran
/// during the first measurements (the bulk_enqueue confirm varied between
/// 1.4 and 2.4 s). `CHECKPOINT` needs superuser or `pg_checkpoint`;
/// without, the run goes on and says so.
async fn settle(url: &str) {
    if url.starts_with("postgres") {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query("VACUUM (ANALYZE)").execute(&mut c).await.expect("vacuum");
        match sqlx::query("CHECKPOINT").execute(&mut c).await {
            Ok(_) => println!("  vacuum and checkpoint after seeding (not measured)"),
            Err(e) => println!("  vacuum, but no checkpoint after seeding ({e}); the first measurements may pay for the set-up's writes"),
        }
        return;
    }
    use sqlx::{ConnectOptions, Connection};
    let mut conn = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
        .unwrap()
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    // The store's own checkpoint task may be copying at that moment: a
    // second checkpoint is then refused at once (no busy wait), so retry.
    let mut busy = 1;
    for _ in 0..100 {
        (busy, _, _) = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if busy == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(busy, 0, "the seed's log could not be emptied");
    conn.close().await.unwrap();
    // The kernel otherwise writes the seed's gigabytes back while the first
    // variants run. That was one cause of their p99 of 18-23 ms at 1M users
    // (the later ones' 3-5), not the only one: with the seed synced and
    // cached, the first 15-20 s after it still showed p99 over 20 ms in
    // most runs. That one is the host's: the VM lost 0.1-0.5 s of CPU in
    // each 3 s measured ("steal"; user_list's `cpu_steal`).
    let synced = std::process::Command::new("sync").status().map(|s| s.success()).unwrap_or(false);
    assert!(synced, "sync after seeding failed");
    read_into_os_cache(url);
}

/// SQLite: reads the database file once, so that its pages are in the
/// operating system's cache, as a file in steady use has them. With the
/// cache emptied (`echo 3 > /proc/sys/vm/drop_caches`), a fresh `serve` at
/// 1,000,000 users answered `status=locked` with p99 11-29 ms for up to
/// 20 s (p50 unchanged, 1.1 ms: a page read from disk stalls the worker
/// thread whose reader waits for it), and 2.3-2.6 ms with the cache warm.
/// A run after other large jobs may find the seed's pages evicted.
fn read_into_os_cache(url: &str) {
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or(path);
    let start = Instant::now();
    let mut file = std::fs::File::open(path).expect("the seeded database file");
    let read = std::io::copy(&mut file, &mut std::io::sink()).expect("read the database file");
    println!(
        "  read the database file ({} MB) into the OS cache in {:.1} s (not measured)",
        read >> 20,
        start.elapsed().as_secs_f64()
    );
}

pub struct Serve {
    pub child: std::process::Child,
    pub url: String,
}

impl Serve {
    /// Signs the seeded administrator in (`POST /api/v1/sessions`, not
    /// measured); returns the session's token.
    pub async fn sign_in(&self) -> String {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let body = serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string();
        let req = hyper::Request::post(format!("{}/api/v1/sessions", self.url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = client.request(req).await.expect("sign in");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn start_serve(data_dir: &std::path::Path, database_url: &str) -> Serve {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tracker"))
        .arg("serve")
        .env("TRACKER_DATA_DIR", data_dir)
        .env("TRACKER_DATABASE_URL", database_url)
        .env("TRACKER_LISTEN", format!("127.0.0.1:{port}"))
        // BENCH_SERVE_LOG=sqlx=debug shows each statement and its time.
        .env("RUST_LOG", std::env::var("BENCH_SERVE_LOG").unwrap_or_else(|_| "error".into()))
        .stdout(if std::env::var_os("BENCH_SERVE_LOG").is_some() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .expect("start tracker serve");
    // Dropping `Serve` kills and waits for the child, on every path.
    let serve = Serve {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return serve;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tracker serve did not start");
}

/// The targets a run missed; [`Verdict::finish`] exits non-zero when any was.
#[derive(Default)]
pub struct Verdict {
    missed: Vec<String>,
}

impl Verdict {
    pub fn check(&mut self, ok: bool, what: String) -> &'static str {
        if ok {
            "ok"
        } else {
            self.missed.push(what);
            "MISSED"
        }
    }

    /// Prints the verdict; exits with 1 when a target was missed.
    pub fn finish(self) {
        if self.missed.is_empty() {
            println!("\nall targets met");
        } else {
            println!("\ntargets missed:");
            for m in &self.missed {
                println!("  {m}");
            }
            std::process::exit(1);
        }
    }
}
