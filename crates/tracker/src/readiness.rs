//! OP1: `GET /readyz`, for a load balancer deciding whether to send this
//! process traffic. Each check is named in the answer; any failing one
//! makes it 503. (`GET /healthz` only says the process is up.)

use app::App;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use mail::Heartbeat;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The mail worker goes round its loop at least every poll interval (1 s);
/// one that has not for this long is stuck.
pub const WORKER_STALE_MS: i64 = 60_000;

/// How long the database may take to answer a check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, Check>,
}

/// The `/readyz` route.
pub fn routes(app: App, worker: Heartbeat) -> axum::Router {
    axum::Router::new().route(
        "/readyz",
        get(move || {
            let (app, worker) = (app.clone(), worker.clone());
            async move {
                let r = check(&app, &worker).await;
                let status = if r.status == "ready" {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(r))
            }
        }),
    )
}

/// Runs every check.
pub async fn check(app: &App, worker: &Heartbeat) -> Readiness {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, app.db.ping()).await {
        Ok(Ok(())) => Check {
            ok: true,
            detail: "answers".into(),
        },
        Ok(Err(e)) => fail(format!("does not answer: {e}")),
        Err(_) => fail(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    let migrations = match tokio::time::timeout(CHECK_TIMEOUT, app.db.schema_status()).await {
        Ok(Ok(s)) => migrations_check(&s),
        Ok(Err(e)) => fail(format!("cannot read the applied migrations: {e}")),
        Err(_) => fail("cannot read the applied migrations in time".into()),
    };
    let mail_worker = worker_check(worker.last_tick(), app.now());
    let checks = BTreeMap::from([("database", database), ("migrations", migrations), ("mail_worker", mail_worker)]);
    let status = if checks.values().all(|c| c.ok) { "ready" } else { "not_ready" };
    if status != "ready" {
        let failing: Vec<&str> = checks.iter().filter(|(_, c)| !c.ok).map(|(n, _)| *n).collect();
        tracing::warn!(?failing, "not ready");
    }
    Readiness { status, checks }
}

fn fail(detail: String) -> Check {
    Check { ok: false, detail }
}

/// Current means exactly this binary's migrations: a schema behind (not
/// migrated) or ahead (a newer release migrated it) is not ready.
fn migrations_check(s: &store::SchemaStatus) -> Check {
    if !s.mismatched.is_empty() {
        return fail(format!("migrations {:?} differ from this release's", s.mismatched));
    }
    if !s.unknown.is_empty() {
        return fail(format!(
            "the database has migrations this release does not know ({:?}): a newer release migrated it",
            s.unknown
        ));
    }
    if !s.missing.is_empty() {
        return fail(format!("migrations not applied: {:?} (run tracker migrate)", s.missing));
    }
    Check {
        ok: true,
        detail: format!("at version {}", s.known),
    }
}

/// The worker runs and went round its loop within [`WORKER_STALE_MS`].
fn worker_check(last_tick: Option<domain::Millis>, now: domain::Millis) -> Check {
    match last_tick {
        None => fail("not running".into()),
        Some(t) if now - t > WORKER_STALE_MS => fail(format!("last ticked {} s ago", (now - t) / 1000)),
        Some(t) => Check {
            ok: true,
            detail: format!("ticked {} ms ago", (now - t).max(0)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op1_a_worker_that_has_not_ticked_for_a_minute_is_not_ready() {
        assert!(worker_check(Some(1_000), 1_000 + WORKER_STALE_MS).ok);
        let stale = worker_check(Some(1_000), 1_001 + WORKER_STALE_MS);
        assert!(!stale.ok && stale.detail.contains("60 s ago"), "{stale:?}");
        assert_eq!(worker_check(None, 5).detail, "not running");
    }

    #[test]
    fn op1_migrations_behind_or_ahead_are_not_current() {
        let s = |missing: Vec<i64>, unknown: Vec<i64>| store::SchemaStatus {
            known: 3,
            applied: 3,
            missing,
            unknown,
            mismatched: vec![],
        };
        assert!(migrations_check(&s(vec![], vec![])).ok);
        assert!(migrations_check(&s(vec![3], vec![])).detail.contains("not applied: [3]"));
        assert!(migrations_check(&s(vec![], vec![9])).detail.contains("newer release"));
    }
}
