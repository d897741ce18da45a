//! Every change writes an audit entry in the same transaction (R3).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn each_change_has_one_audit_entry_with_actor_target_and_source() {
    let app = spawn_app().await;
    let before = app.audit("per_page=500").await.len();
    let office = app.office("Tokyo").await;
    let id = app.company_user("audited@company.example", "company_user", Some(&office)).await;
    let entries = app.audit("per_page=500").await;
    assert_eq!(entries.len(), before + 2, "{entries:?}");
    let created = &entries[0];
    assert_eq!(created["action"], "user.created");
    assert_eq!(created["target_kind"], "user");
    assert_eq!(created["target_id"], id.as_str());
    assert_eq!(created["actor_id"], app.admin_id.as_str());
    assert_eq!(created["actor"], ADMIN_EMAIL);
    assert_eq!(created["source_ip"], "127.0.0.1");
    assert_eq!(created["after"]["user"]["email"], "audited@company.example");
    assert!(created["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[1]["action"], "office.created");

    // A refused change writes nothing.
    let r = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"email": "audited@company.example", "first_name": "A", "last_name": "B", "role": "company_user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(app.audit("per_page=500").await.len(), entries.len());
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_target_action_and_time() {
    let app = spawn_app().await;
    let a = app.company_user("one@company.example", "company_user", None).await;
    app.company_user("two@company.example", "company_user", None).await;
    assert_eq!(app.audit(&format!("target_id={a}")).await.len(), 1);
    assert_eq!(app.audit("action=user.created").await.len(), 3); // root, one, two
    assert_eq!(app.audit(&format!("actor_id={}&action=user.created", app.admin_id)).await.len(), 2);
    assert_eq!(app.audit("from=2999-01-01T00:00:00Z").await.len(), 0);
    assert!(app.audit("to=2999-01-01T00:00:00Z").await.len() >= 3);
    let page = app.get("/api/v1/audit?per_page=1", &app.admin).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert!(page.body["total"].as_i64().unwrap() >= 4);
}

#[tokio::test]
async fn a_users_history_shows_changes_and_sign_ins_with_actor_and_time() {
    let app = spawn_app().await;
    let id = app.company_user("hist@company.example", "company_user", None).await;
    app.password_for(&id, "hist@company.example").await;
    app.patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"last_name": "Story"}))
        .await;
    let h = app.get(&format!("/api/v1/users/{id}/history"), &app.admin).await;
    assert_eq!(h.status, StatusCode::OK);
    let actions: Vec<(&str, &str)> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("user.updated", ADMIN_EMAIL),
            ("user.signed_in", "hist@company.example"),
            ("user.activated", "hist@company.example"),
            ("user.created", ADMIN_EMAIL)
        ]
    );
}
