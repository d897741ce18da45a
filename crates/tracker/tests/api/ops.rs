//! SPEC §5d in-process, on SQLite and PostgreSQL: readiness and its
//! failing checks (OP1), backup under write load and restore (OP5), and
//! migrations checked forward-only from an old schema with data.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs one statement on the test's database, beside the server.
async fn exec(app: &TestApp, sql: &str, blob: Option<Vec<u8>>) {
    match &app.database_url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let mut q = sqlx::query(sql);
            if let Some(b) = blob {
                q = q.bind(b);
            }
            q.execute(&pool).await.unwrap();
            pool.close().await;
        }
        None => {
            let url = format!("sqlite://{}/tracker.db", app.dir.path().display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let mut q = sqlx::query(sql);
            if let Some(b) = blob {
                q = q.bind(b);
            }
            q.execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn readyz(app: &TestApp) -> Reply {
    app.call(reqwest::Method::GET, "/readyz", None, None).await
}

#[tokio::test]
async fn op1_readyz_names_each_check_and_fails_when_the_schema_is_ahead_or_behind() {
    let app = spawn_app().await;
    let r = readyz(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ready");
    for check in ["database", "migrations", "mail_worker"] {
        assert_eq!(r.body["checks"][check]["ok"], true, "{check}: {}", r.body);
    }

    // A newer release migrated the database under this process.
    exec(
        &app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9000, 'a newer release', TRUE, $1, 0)",
        Some(vec![7u8; 48]),
    )
    .await;
    let r = readyz(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.body["status"], "not_ready");
    assert_eq!(r.body["checks"]["migrations"]["ok"], false);
    assert!(
        r.body["checks"]["migrations"]["detail"].as_str().unwrap().contains("newer release"),
        "{}",
        r.body
    );
    assert_eq!(r.body["checks"]["database"]["ok"], true, "only the failing check fails");
    exec(&app, "DELETE FROM _sqlx_migrations WHERE version = 9000", None).await;
    assert_eq!(readyz(&app).await.status, StatusCode::OK);

    // The database is behind this binary (its last migration undone in
    // the record, as a restored older copy would be).
    let newest = store::newest_migration(app.running.as_ref().unwrap().app.db.dialect());
    exec(&app, &format!("DELETE FROM _sqlx_migrations WHERE version = {newest}"), None).await;
    let r = readyz(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let detail = r.body["checks"]["migrations"]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("not applied: [{newest}]")), "{detail}");
}

#[tokio::test]
async fn op1_readyz_fails_when_the_mail_worker_stops_and_when_the_database_is_gone() {
    let app = spawn_app().await;
    assert_eq!(readyz(&app).await.status, StatusCode::OK);
    let running = app.running.as_ref().unwrap();
    running.stop_mail_worker();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = readyz(&app).await;
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "still ready: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.body["checks"]["mail_worker"]["ok"], false, "{}", r.body);
    assert_eq!(r.body["checks"]["mail_worker"]["detail"], "not running");
    assert_eq!(r.body["checks"]["database"]["ok"], true);

    running.app.db.close().await;
    let r = readyz(&app).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["checks"]["database"]["ok"], false, "{}", r.body);
    // The liveness probe does not look at the database.
    let r = app.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Runs the binary with the data directory `dir`.
async fn tracker(dir: &std::path::Path, database_url: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracker"));
    cmd.args(args)
        .env("TRACKER_DATA_DIR", dir)
        .env_remove("TRACKER_DATABASE_URL")
        .env("RUST_LOG", "error");
    if let Some(url) = database_url {
        cmd.env("TRACKER_DATABASE_URL", url);
    }
    cmd.output().await.unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn op5_a_backup_under_write_load_restores_to_a_server_with_every_acknowledged_write() {
    let app = spawn_app().await;
    let spare = tempfile::tempdir().unwrap();
    let file = spare.path().join("tracker.backup");
    let file_arg = file.to_str().unwrap();
    if app.database_url.is_some() {
        // PostgreSQL is backed up with its own tools.
        let out = app.cli(&["backup", file_arg]).await;
        assert!(!out.status.success());
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
        let out = tracker(spare.path(), app.database_url.as_deref(), &["restore", file_arg]).await;
        assert!(!out.status.success() && text(&out).contains("pg_restore"), "{}", text(&out));
        return;
    }
    let app = Arc::new(app);
    // Two writers create users as fast as they are acknowledged.
    let acked: Arc<Mutex<Vec<(String, tokio::time::Instant)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (app, acked, stop) = (app.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let id = app
                        .company_user(&format!("load{w}-{i}@company.example"), "company_user", None)
                        .await;
                    acked.lock().unwrap().push((id, tokio::time::Instant::now()));
                    i += 1;
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = tokio::time::Instant::now();
    let out = app.cli(&["backup", file_arg]).await;
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("bytes in") && report.contains(" s "), "size and duration: {report}");
    // Writes went on while the backup ran.
    let during = acked.lock().unwrap().iter().filter(|(_, at)| *at > started).count();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let before: Vec<String> = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at <= started)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(before.len() >= 10);
    assert!(during > 0, "the backup did not stop the writers");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let out = tracker(&target, None, &["restore", file_arg]).await;
    assert!(out.status.success(), "{}", text(&out));
    let again = spawn_app_with(|c| c.storage.data_dir = target.clone()).await;
    for id in &before {
        let r = again.get(&format!("/api/v1/users/{id}"), &again.admin).await;
        assert_eq!(r.status, StatusCode::OK, "acknowledged before the backup: {id}");
    }
    let r = again.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A1: the restored audit log is the whole chain, unbroken.
    let r = again.get("/api/v1/audit/verify", &again.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert!(r.body["entries"].as_i64().unwrap() >= before.len() as i64, "{}", r.body);
    drop(again);
    let out = tracker(&target, None, &["audit", "verify"]).await;
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn op5_restore_refuses_a_non_empty_directory_a_foreign_file_and_a_newer_schema() {
    let app = spawn_app().await;
    if app.database_url.is_some() {
        return; // SQLite files only; PostgreSQL's refusal is checked above.
    }
    let spare = tempfile::tempdir().unwrap();
    let backup = spare.path().join("ok.backup");
    let out = app.cli(&["backup", backup.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = app.cli(&["backup", backup.to_str().unwrap()]).await;
    assert!(!out.status.success() && text(&out).contains("exists already"), "never overwrites");

    // Into the running server's own directory: not empty.
    let out = app.cli(&["restore", backup.to_str().unwrap()]).await;
    assert!(!out.status.success() && text(&out).contains("not empty"), "{}", text(&out));

    let empty = spare.path().join("empty");
    let refused = |out: std::process::Output, why: &str| {
        assert!(!out.status.success(), "refused");
        assert!(text(&out).contains(why), "{why}: {}", text(&out));
        let left: Vec<_> = std::fs::read_dir(&empty).map(|d| d.flatten().collect()).unwrap_or_default();
        assert!(left.is_empty(), "nothing left behind: {left:?}");
    };
    let junk = spare.path().join("notes.txt");
    std::fs::write(&junk, "not a database at all, just some text").unwrap();
    refused(
        tracker(&empty, None, &["restore", junk.to_str().unwrap()]).await,
        "not a Tracker backup",
    );

    let other = spare.path().join("other.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", other.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    refused(
        tracker(&empty, None, &["restore", other.to_str().unwrap()]).await,
        "not a Tracker backup",
    );

    let newer = spare.path().join("newer.backup");
    std::fs::copy(&backup, &newer).unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", newer.display())).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9000, 'next release', TRUE, $1, 0)",
    )
    .bind(vec![1u8; 48])
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    refused(tracker(&empty, None, &["restore", newer.to_str().unwrap()]).await, "newer schema");

    // A1: a backup whose audit log was edited afterwards is refused.
    let edited = spare.path().join("edited.backup");
    std::fs::copy(&backup, &edited).unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", edited.display())).await.unwrap();
    let changed = sqlx::query("UPDATE audit_log SET actor_label = 'someone else' WHERE seq = 1")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    pool.close().await;
    refused(
        tracker(&empty, None, &["restore", edited.to_str().unwrap()]).await,
        "does not verify (first bad entry: seq 1)",
    );

    let out = tracker(&empty, None, &["restore", backup.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(empty.join("tracker.db").is_file());
}

/// Migrations are forward-only: a database made by the first release, with
/// data in it, is migrated to the newest schema by `serve`, and the data is
/// all there, counted in the kept totals and found by the search index that
/// later migrations added.
#[tokio::test]
async fn migrations_bring_an_old_schema_with_data_forward() {
    let dir = tempfile::tempdir().unwrap();
    let url = match test_database_url().await {
        Some(url) => url,
        None => format!("sqlite://{}/old.db", dir.path().display()),
    };
    let db = store::Db::connect(&url).await.unwrap();
    db.migrate_up_to(1).await.unwrap();
    let status = db.schema_status().await.unwrap();
    assert_eq!(status.applied, 1);
    assert!(!status.missing.is_empty(), "an old schema");
    db.close().await;

    let users = [
        ("Ursula", "Oldenburg", "ursula.oldenburg@company.example", true),
        ("Victor", "Vintage", "victor.vintage@company.example", true),
        ("Wanda", "Bygone", "wanda.bygone@company.example", false),
    ];
    let mut ids = Vec::new();
    let insert = "INSERT INTO users (id, email, email_norm, first_name, last_name, first_name_norm, last_name_norm, side, role, active, created_at, updated_at, new_user_email_status) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, 'company', 'company_user', $8, 1700000000000, 1700000000000, 'held')";
    for (first, last, email, active) in users {
        let id = domain::UserId::generate().to_string();
        let args = (id.clone(), email, first.to_lowercase(), last.to_lowercase());
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(insert)
                .bind(&args.0)
                .bind(email)
                .bind(email)
                .bind(first)
                .bind(last)
                .bind(&args.2)
                .bind(&args.3)
                .bind(active)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(insert)
                .bind(&args.0)
                .bind(email)
                .bind(email)
                .bind(first)
                .bind(last)
                .bind(&args.2)
                .bind(&args.3)
                .bind(active)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        ids.push(id);
    }

    // `serve` migrates it to the newest schema.
    let app = spawn_app_with(|c| c.storage.database_url = Some(url.clone())).await;
    let db = &app.running.as_ref().unwrap().app.db;
    let status = db.schema_status().await.unwrap();
    assert!(status.current(), "{status:?}");
    assert_eq!(status.applied, store::newest_migration(db.dialect()));
    let figures = db.ops_figures().await.unwrap();
    assert_eq!(
        (figures.users_active, figures.users_inactive),
        (3, 1),
        "the kept totals count the old rows (and the new administrator)"
    );
    for (id, (first, last, email, active)) in ids.iter().zip(users) {
        let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            (
                r.body["first_name"].as_str(),
                r.body["last_name"].as_str(),
                r.body["email"].as_str(),
                r.body["active"].as_bool()
            ),
            (Some(first), Some(last), Some(email), Some(active))
        );
    }
    // Found by a part of the name, through the search index built later.
    let r = app.get("/api/v1/users?q=ldenbu&status=all", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let found: Vec<&Value> = r.body["items"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 1, "{}", r.body);
    assert_eq!(found[0]["id"], ids[0].as_str());
}
