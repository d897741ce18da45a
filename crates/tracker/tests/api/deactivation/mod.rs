//! SPEC §3–§4 at the HTTP boundary: D1–D9 and R1/R3 against the real
//! server and a real database file.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod blockers;
mod effects;
mod purge;
mod reactivation;
mod who;

async fn deactivate(app: &TestApp, token: &str, id: &str) -> Reply {
    app.patch(&format!("/api/v1/users/{id}"), token, json!({"active": false})).await
}

async fn reactivate(app: &TestApp, token: &str, id: &str) -> Reply {
    app.patch(&format!("/api/v1/users/{id}"), token, json!({"active": true})).await
}

async fn check(app: &TestApp, token: &str, id: &str) -> Reply {
    let r = app.get(&format!("/api/v1/users/{id}/deactivation-check"), token).await;
    assert_eq!(r.status, StatusCode::OK, "check {id}: {}", r.body);
    r
}

async fn is_active(app: &TestApp, id: &str) -> bool {
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["active"].as_bool().expect("active is a bool")
}

/// A blocker list as sorted `kind object-id[#level]` strings, after checking
/// that each entry carries its kind, a fix and the named object (D5).
fn summary(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("a blocker list: {list}"))
        .iter()
        .map(|b| {
            let kind = b["kind"].as_str().unwrap_or_else(|| panic!("kind: {b}"));
            assert!(
                b["fix"].as_str().is_some_and(|f| f.len() > 10),
                "every blocker says what to change: {b}"
            );
            let (key, extra) = if b.get("matter").is_some() {
                assert!(b["matter"]["name"].is_string() && b["matter"]["number"].is_string(), "{b}");
                ("matter", String::new())
            } else if b.get("office").is_some() {
                assert!(b["office"]["name"].is_string() && b["office"]["active"].is_boolean(), "{b}");
                ("office", String::new())
            } else {
                assert!(b["route"]["name"].is_string() && b["route"]["active"].is_boolean(), "{b}");
                ("route", format!("#{}", b["route"]["level"]))
            };
            format!(
                "{kind} {}{extra}",
                b[key]["id"].as_str().unwrap_or_else(|| panic!("object id: {b}"))
            )
        })
        .collect();
    out.sort();
    out
}

fn expect(items: &[(&str, &str)]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|(k, id)| format!("{k} {id}")).collect();
    v.sort();
    v
}

/// Asserts a refused deactivation: 409 `deactivation_blocked` listing
/// exactly `expected`, the same list as the check, and nothing changed.
async fn assert_blocked(app: &TestApp, token: &str, id: &str, expected: &[String]) {
    let c = check(app, token, id).await;
    assert_eq!(c.body["can_deactivate"], false, "{}", c.body);
    assert_eq!(summary(&c.body["blockers"]), expected, "check: {}", c.body);
    let r = deactivate(app, token, id).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "deactivation_blocked"), "{}", r.body);
    assert_eq!(summary(&r.body["error"]["blockers"]), expected, "refusal: {}", r.body);
    assert_eq!(
        r.body["error"]["blockers"], c.body["blockers"],
        "the refusal and the check list the same blockers"
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("{} blocker", expected.len()))),
        "{}",
        r.body
    );
    assert!(is_active(app, id).await, "a refused deactivation leaves the user active");
}

async fn assert_clear(app: &TestApp, token: &str, id: &str) {
    let c = check(app, token, id).await;
    assert_eq!(
        (c.body["can_deactivate"].as_bool(), c.body["blockers"].as_array().map(Vec::len)),
        (Some(true), Some(0)),
        "{}",
        c.body
    );
}

async fn office_with(app: &TestApp, name: &str, coordinator: Option<&str>, backup: Option<&str>) -> String {
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": name, "coordinator_id": coordinator, "backup_coordinator_id": backup}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.id()
}

async fn route(app: &TestApp, name: &str, active: bool, levels: Value) -> String {
    let r = app
        .post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": name, "active": active, "levels": levels}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.id()
}

async fn patch_matter(app: &TestApp, matter: &str, body: Value) -> Reply {
    app.patch(&format!("/api/v1/matters/{matter}"), &app.admin, body).await
}

fn ids(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(items: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn user_actions(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/users/{id}/history?per_page=500"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}
