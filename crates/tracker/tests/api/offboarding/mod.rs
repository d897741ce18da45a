//! SPEC §5b O1–O3 at the HTTP boundary: the plan lists every kind of
//! responsibility, offboarding hands them all over and deactivates in one
//! step, a bad successor changes nothing, successors get one digest each,
//! and scheduled deactivations run, are cancelled, run when overdue at
//! start-up and refuse when a successor left before the date.

use crate::helpers::*;
use crate::onboarding::{app_with_sink, settle, to};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::message::parse;

mod handover;
mod scheduled;

const DAY_MS: i64 = 86_400_000;

async fn plan(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}/offboarding-plan"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// `key → (kind, blocking, suggested)` of a plan.
fn items(plan: &Value) -> BTreeMap<String, (String, bool, Option<String>)> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert!(i["target"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{i}");
            assert!(i["target"]["type"].is_string() && i["target"]["id"].is_string(), "{i}");
            (
                i["key"].as_str().unwrap().to_owned(),
                (
                    i["kind"].as_str().unwrap().to_owned(),
                    i["blocking"].as_bool().unwrap(),
                    i["suggested_successor_id"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect()
}

async fn user(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A company user holding one of every kind of responsibility, and the
/// people around them. Returns (leaving, named ids).
struct World {
    leaving: String,
    ids: BTreeMap<&'static str, String>,
}

async fn world(app: &TestApp) -> World {
    let mut ids = BTreeMap::new();
    let leaving = app.company_user("leaving@company.example", "company_user", None).await;
    for name in [
        "backup",
        "coord",
        "alternate",
        "primary",
        "other_lead",
        "delegate",
        "delegator",
        "successor",
    ] {
        let id = app.company_user(&format!("{name}@company.example"), "company_user", None).await;
        ids.insert(name, id);
    }
    // Lead of two open matters and one closed one (which is nobody's concern).
    let m1 = app.matter("OB-1", &leaving).await;
    let m2 = app.matter("OB-2", &leaving).await;
    let closed = app.matter("OB-3", &leaving).await;
    app.set_matter_open(&closed, false).await;
    // A participant (editor) of someone else's open matter.
    let m4 = app.matter("OB-4", &ids["other_lead"]).await;
    app.add_participant(&m4, &leaving, "matter_editor", true).await;
    // Coordinator (with a backup) of one office, backup of another.
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": "Paris", "coordinator_id": leaving, "backup_coordinator_id": ids["backup"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("paris", r.id());
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": "Lyon", "coordinator_id": ids["coord"], "backup_coordinator_id": leaving}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("lyon", r.id());
    // Primary (with an alternate) on level 1, alternate on level 2, delegate on level 3.
    let r = app
        .post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": "Invoices", "levels": [
                {"primary_approver_id": leaving, "alternate_approver_id": ids["alternate"]},
                {"primary_approver_id": ids["primary"], "alternate_approver_id": leaving},
                {"primary_approver_id": ids["primary"], "delegate_ids": [leaving]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("route", r.id());
    // Delegations both ways, and the Tracker Coordinator.
    let t = app.password_for(&leaving, "leaving@company.example").await;
    let r = app
        .put("/api/v1/me/delegates", &t, json!({"delegate_ids": [ids["delegate"]]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = app.password_for(&ids["delegator"], "delegator@company.example").await;
    let r = app.put("/api/v1/me/delegates", &t, json!({"delegate_ids": [leaving]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"tracker_coordinator_id": leaving}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    ids.insert("m1", m1);
    ids.insert("m2", m2);
    ids.insert("m4", m4);
    World { leaving, ids }
}
