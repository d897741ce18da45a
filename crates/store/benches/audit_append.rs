//! A1: what the audit hash chain costs a writer. Every change appends its
//! audit entry to the chain at commit, serialised on the chain head (SQLite
//! has one writer; PostgreSQL locks the head row), so this measures write
//! transactions of one audit entry each: one after another, and from 8
//! concurrent writers (PostgreSQL; on SQLite they queue for the one writer
//! anyway). It then walks the chain with `verify_audit_chain`.
//!
//! `cargo bench -p store --bench audit_append`; on PostgreSQL run it under
//! `scripts/with-postgres.sh` (a fresh database on that server). `AUDIT_BENCH_TX` sets the
//! number of transactions per run (default 2,000).

use std::time::{Duration, Instant};
use store::{AuditEntry, Db};

fn entry(i: usize) -> AuditEntry {
    AuditEntry {
        at: 1_764_000_000_000 + i as i64,
        actor_id: Some("u000001".into()),
        actor_label: "bench@company.example".into(),
        action: "user.updated".into(),
        target_kind: "user",
        target_id: Some(format!("u{i:06}")),
        before: Some(serde_json::json!({"first_name": "Ada"}).to_string()),
        after: Some(serde_json::json!({"first_name": "Grace"}).to_string()),
        source_ip: Some("127.0.0.1".into()),
    }
}

async fn one_write(db: &Db, i: usize) {
    let mut tx = db.write().await.expect("begin");
    tx.audit(&entry(i)).await.expect("audit");
    tx.commit().await.expect("commit");
}

async fn run(db: &Db, n: usize, writers: usize) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(writers) {
                one_write(&db, i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("AUDIT_BENCH_TX").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("TRACKER_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        Some(server) => Db::create_postgres_database(&server, &format!("audit_bench_{}", std::process::id()))
            .await
            .expect("create a database"),
        None => format!("sqlite://{}/bench.db", dir.path().display()),
    };
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    println!("audit append, {:?}, {n} write transactions of one entry each", db.dialect());
    for writers in [1usize, 8] {
        let took = run(&db, n, writers).await;
        println!(
            "  {writers} writer(s): {:>8.1} tx/s, {:>7.1} µs per transaction",
            n as f64 / took.as_secs_f64(),
            took.as_micros() as f64 / n as f64
        );
    }
    let mut tx = db.read().await.unwrap();
    let start = Instant::now();
    let r = tx.verify_audit_chain().await.expect("verify");
    println!("  verify: {} entries in {:?}, ok = {}", r.entries, start.elapsed(), r.ok);
    assert!(r.ok, "{r:?}");
}
