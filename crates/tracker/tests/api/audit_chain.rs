//! A1: the audit log is a hash chain. Tampering with the stored entries
//! through SQL — editing, deleting, inserting, reordering — is found by
//! `GET /audit/verify` and `tracker audit verify` at the right entry, and
//! concurrent writers still leave one gap-free chain.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An app with a few audited changes; returns it and the number of entries.
async fn app_with_entries() -> (TestApp, i64) {
    let app = spawn_app().await;
    let office = app.office("Lisbon").await;
    for i in 0..4 {
        app.company_user(&format!("chain{i}@company.example"), "company_user", Some(&office))
            .await;
    }
    let v = verify(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["first_bad_seq"], Value::Null);
    let n = v["entries"].as_i64().unwrap();
    assert!(n >= 6, "{v}");
    (app, n)
}

async fn verify(app: &TestApp) -> Value {
    let r = app.get("/api/v1/audit/verify", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Tampers as an intruder with the database owner's rights would: on
/// PostgreSQL that includes switching the append-only trigger off first.
async fn tamper(app: &TestApp, statements: &[&str]) {
    let mut all = Vec::new();
    if app.database_url.is_some() {
        all.push("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    }
    all.extend_from_slice(statements);
    app.sql(&all).await.expect("tamper");
}

/// The API and the command line both find the break at `seq`.
async fn assert_broken_at(app: &TestApp, seq: i64) {
    let v = verify(app).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad_seq"], seq, "{v}");
    let out = app.cli(&["audit", "verify"]).await;
    assert!(!out.status.success(), "the command must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("broken at entry {seq}")), "{err}");
}

#[tokio::test]
async fn audit_chain_verifies_and_the_command_agrees() {
    let (app, n) = app_with_entries().await;
    let v = verify(&app).await;
    assert_eq!(v["head_hash"].as_str().unwrap().len(), 64);
    let out = app.cli(&["audit", "verify"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains(v["head_hash"].as_str().unwrap()), "{printed}");
    assert!(printed.contains(&format!("entries:   {n}")), "{printed}");
    // The Audit page shows the head as an anchor.
    let page = app
        .client
        .get(format!("{}/audit", app.url))
        .header(reqwest::header::COOKIE, format!("tracker_session={}", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("entry {n}, <code>{}</code>", v["head_hash"].as_str().unwrap())),
        "{html}"
    );
}

#[tokio::test]
async fn audit_chain_finds_an_edited_entry() {
    let (app, _) = app_with_entries().await;
    tamper(&app, &["UPDATE audit_log SET actor_label = 'someone else' WHERE seq = 3"]).await;
    assert_broken_at(&app, 3).await;
}

#[tokio::test]
async fn audit_chain_finds_an_edited_hash_too() {
    // Recomputing one entry's hash is not enough: the next entry's
    // prev_hash no longer matches.
    let (app, _) = app_with_entries().await;
    tamper(
        &app,
        &["UPDATE audit_log SET after_json = '{}', hash = '00000000000000000000000000000000000000000000000000000000000000ff' WHERE seq = 4"],
    )
    .await;
    assert_broken_at(&app, 4).await;
}

#[tokio::test]
async fn audit_chain_finds_a_deleted_entry() {
    let (app, _) = app_with_entries().await;
    tamper(&app, &["DELETE FROM audit_log WHERE seq = 2"]).await;
    assert_broken_at(&app, 2).await;
}

#[tokio::test]
async fn audit_chain_finds_the_newest_entry_deleted() {
    let (app, n) = app_with_entries().await;
    let last = format!("DELETE FROM audit_log WHERE seq = {n}");
    tamper(&app, &[&last]).await;
    assert_broken_at(&app, n).await;
}

#[tokio::test]
async fn audit_chain_finds_an_inserted_entry() {
    let (app, _) = app_with_entries().await;
    // Make room at seq 3 and slip in a copy of entry 3 with its hashes.
    tamper(
        &app,
        &[
            "UPDATE audit_log SET seq = -seq - 1 WHERE seq >= 3",
            "UPDATE audit_log SET seq = -seq WHERE seq < 0",
            "INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, seq, prev_hash, hash) \
             SELECT at, actor_id, actor_label, 'user.deactivated', target_kind, target_id, before_json, after_json, source_ip, 3, prev_hash, hash FROM audit_log WHERE seq = 4",
        ],
    )
    .await;
    assert_broken_at(&app, 3).await;
}

#[tokio::test]
async fn audit_chain_finds_an_entry_appended_outside_it() {
    let (app, n) = app_with_entries().await;
    let ins = format!(
        "INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, seq, prev_hash, hash) \
         SELECT 0, NULL, 'forger', 'user.created', 'user', {}, hash, hash FROM audit_log WHERE seq = {n}",
        n + 1
    );
    tamper(&app, &[&ins]).await;
    assert_broken_at(&app, n + 1).await;
}

#[tokio::test]
async fn audit_chain_finds_reordered_entries() {
    let (app, _) = app_with_entries().await;
    tamper(
        &app,
        &[
            "UPDATE audit_log SET seq = -1 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -1",
        ],
    )
    .await;
    assert_broken_at(&app, 3).await;
}

#[tokio::test]
async fn audit_chain_refuses_update_and_delete_on_postgres() {
    let (app, _) = app_with_entries().await;
    if app.database_url.is_none() {
        // SQLite has no owner separate from the file: the chain is the guard.
        return;
    }
    for stmt in [
        "UPDATE audit_log SET actor_label = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
    ] {
        let e = app.sql(&[stmt]).await.expect_err(stmt);
        assert!(e.to_string().contains("append-only"), "{stmt}: {e}");
    }
    assert_eq!(verify(&app).await["ok"], true);
}

#[tokio::test]
async fn audit_chain_stays_gap_free_under_concurrent_writers() {
    let app = spawn_app().await;
    let office = app.office("Busy").await;
    let requests = (0..40).map(|i| {
        app.post(
            "/api/v1/users",
            &app.admin,
            json!({"email": format!("busy{i}@company.example"), "first_name": "Busy", "last_name": format!("B{i}"),
                   "side": "company", "role": "company_user", "office_id": office, "hold_new_user_email": i % 2 == 0}),
        )
    });
    for r in futures::future::join_all(requests).await {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // N3's set-based queueing chains its rows too.
    let r = app.post("/api/v1/new-user-emails/send", &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["sent"].as_i64().unwrap() >= 20, "{}", r.body);
    let v = verify(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_i64().unwrap() >= 2 + 40 + 20, "{v}");
}

#[tokio::test]
async fn audit_chain_includes_entries_older_than_the_chain_once() {
    let app = spawn_app().await;
    // As before migration 0004: an entry without a place in the chain.
    app.sql(&[
        "INSERT INTO audit_log (at, actor_label, action, target_kind) VALUES (1, 'cli', 'user.created', 'user')",
        "UPDATE audit_chain SET backfilled = FALSE",
    ])
    .await
    .unwrap();
    let v = verify(&app).await;
    assert_eq!(v["ok"], false, "an unchained entry is reported: {v}");
    let out = app.cli(&["migrate"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = verify(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    // Done once: a later unchained row is not silently adopted.
    app.sql(&["INSERT INTO audit_log (at, actor_label, action, target_kind) VALUES (2, 'cli', 'user.created', 'user')"])
        .await
        .unwrap();
    let out = app.cli(&["migrate"]).await;
    assert!(out.status.success());
    app.company_user("after@company.example", "company_user", None).await;
    let v = verify(&app).await;
    assert_eq!(v["ok"], false, "{v}");
}

#[tokio::test]
async fn audit_verify_is_for_system_administrators_only() {
    let app = spawn_app().await;
    let office = app.office("Oslo").await;
    let id = app
        .company_user("officeadmin@company.example", "company_office_administrator", Some(&office))
        .await;
    let token = app.password_for(&id, "officeadmin@company.example").await;
    let r = app.get("/api/v1/audit/verify", &token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.call(reqwest::Method::GET, "/api/v1/audit/verify", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Writers queued on the chain head hold every pool connection; a request
/// that then waits past the acquire timeout is told the server is busy
/// (503 `server_busy` with `Retry-After`), not 500. PostgreSQL: a pool of
/// two, the head locked from outside as a long commit would hold it, two
/// writers waiting on it. SQLite: its one writer connection held.
#[tokio::test]
async fn audit_chain_head_contention_past_the_pool_timeout_answers_503() {
    use sqlx::Connection;
    let app = spawn_app_with(|cfg| {
        cfg.ops.db_max_connections = 2;
        cfg.ops.db_acquire_timeout_ms = 300;
    })
    .await;
    let user = |n: usize| {
        json!({"email": format!("busy{n}@company.example"), "first_name": "Busy", "last_name": "Writer",
               "side": "company", "role": "company_user", "hold_new_user_email": true})
    };
    let db = app.running.as_ref().unwrap().app.db.clone();
    let (held_sqlite, mut head_lock, mut waiting) = match &app.database_url {
        None => (Some(db.write().await.unwrap()), None, Vec::new()),
        Some(url) => {
            let mut lock = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
            sqlx::query("SELECT seq FROM audit_chain WHERE id = 1 FOR UPDATE")
                .execute(&mut lock)
                .await
                .unwrap();
            // Two writers take both connections and wait on the head.
            let waiting: Vec<_> = (0..2)
                .map(|n| {
                    let (client, url, token, body) = (app.client.clone(), app.url.clone(), app.admin.clone(), user(n));
                    tokio::spawn(async move {
                        client
                            .post(format!("{url}/api/v1/users"))
                            .bearer_auth(token)
                            .json(&body)
                            .send()
                            .await
                            .unwrap()
                            .status()
                    })
                })
                .collect();
            let mut probe = sqlx::PgConnection::connect(url).await.unwrap();
            loop {
                let blocked: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .fetch_one(&mut probe)
                .await
                .unwrap();
                if blocked == 2 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            (None, Some(lock), waiting)
        }
    };

    let busy = app.post("/api/v1/users", &app.admin, user(9)).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{}", busy.body);
    assert_eq!(busy.code(), "server_busy");
    assert_eq!(busy.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));

    // Released, the waiting writers commit and the chain is whole.
    drop(held_sqlite);
    if let Some(lock) = head_lock.as_mut() {
        sqlx::query("COMMIT").execute(lock).await.unwrap();
    }
    for w in waiting.drain(..) {
        assert_eq!(w.await.unwrap(), StatusCode::CREATED);
    }
    let again = app.post("/api/v1/users", &app.admin, user(9)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(verify(&app).await["ok"], true);
}

/// N3's confirm writes its audit entries set-based and chains them as one
/// batch at commit: each gets its place, in order, and the chain verifies.
#[tokio::test]
async fn audit_chain_takes_in_a_set_based_write_in_order() {
    let (app, before) = app_with_entries().await;
    let r = app.post("/api/v1/new-user-emails/send", &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = verify(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    // The four held users were queued: four more entries, each in its
    // place (verify walks the chain by seq and counts unchained rows).
    assert_eq!(v["entries"].as_i64().unwrap(), before + 4, "{v}");
}
