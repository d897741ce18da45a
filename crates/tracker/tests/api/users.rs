//! R2 list selectors, paging, sorting and search; editing users.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn emails(r: &Value) -> Vec<String> {
    crate::helpers::item_texts(r, "email")
}

#[tokio::test]
async fn the_list_filters_by_organisation_and_status_and_pages() {
    let app = spawn_app().await;
    let (firm, _) = app.firm("Delta LLP", "admin@delta.example").await;
    for i in 0..7 {
        app.company_user(&format!("c{i}@company.example"), "company_user", None).await;
    }
    app.firm_user("f1@delta.example", "firm_user", &firm).await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    assert_eq!(
        app.patch(&format!("/api/v1/users/{gone}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );

    let all_active = app.get("/api/v1/users", &app.admin).await;
    assert_eq!(all_active.body["total"], 10); // root + 7 + firm admin + f1
    assert!(!emails(&all_active.body).contains(&"gone@company.example".to_owned()));
    assert_eq!(app.get("/api/v1/users?status=inactive", &app.admin).await.body["total"], 1);
    assert_eq!(app.get("/api/v1/users?status=all", &app.admin).await.body["total"], 11);
    assert_eq!(app.get("/api/v1/users?org=company", &app.admin).await.body["total"], 8);
    assert_eq!(app.get("/api/v1/users?org=firms", &app.admin).await.body["total"], 2);
    assert_eq!(
        app.get(&format!("/api/v1/users?org=firm:{firm}"), &app.admin).await.body["total"],
        2
    );
    assert_eq!(app.get("/api/v1/users?status=locked", &app.admin).await.body["total"], 0);

    let p1 = app
        .get("/api/v1/users?org=company&per_page=3&page=1&sort=email", &app.admin)
        .await
        .body;
    let p3 = app
        .get("/api/v1/users?org=company&per_page=3&page=3&sort=email", &app.admin)
        .await
        .body;
    assert_eq!(
        (p1["page"].as_i64(), p1["per_page"].as_i64(), p1["total"].as_i64()),
        (Some(1), Some(3), Some(8))
    );
    assert_eq!(emails(&p1), ["c0@company.example", "c1@company.example", "c2@company.example"]);
    assert_eq!(emails(&p3), ["c6@company.example", "root@company.example"]);
    let desc = app
        .get("/api/v1/users?org=company&sort=email&order=desc&per_page=1", &app.admin)
        .await
        .body;
    assert_eq!(emails(&desc), ["root@company.example"]);
}

#[tokio::test]
async fn search_matches_the_start_of_names_and_emails() {
    let app = spawn_app().await;
    app.create_user(json!({"email": "jane.smith@company.example", "first_name": "Jane", "last_name": "Smith", "role": "company_user", "hold_new_user_email": true})).await;
    app.create_user(json!({"email": "js@company.example", "first_name": "John", "last_name": "Smithers", "role": "company_user", "hold_new_user_email": true})).await;
    app.create_user(json!({"email": "zoe@company.example", "first_name": "Zoë", "last_name": "Ångström", "role": "company_user", "hold_new_user_email": true})).await;
    let q = |s: &str| {
        let path = format!("/api/v1/users?q={}", s);
        let app = &app;
        async move { emails(&app.get(&path, &app.admin).await.body) }
    };
    assert_eq!(q("smith").await.len(), 2);
    assert_eq!(q("SMITHE").await, ["js@company.example"]);
    assert_eq!(q("jane%20smi").await, ["jane.smith@company.example"]);
    assert_eq!(q("js@").await, ["js@company.example"]);
    assert_eq!(q("ith").await.len(), 2, "P2: any part matches, not only the start");
    assert_eq!(q("%C3%A5ngstr").await, ["zoe@company.example"]);
    assert_eq!(q("%25").await.len(), 0);
}

#[tokio::test]
async fn editing_names_role_and_office_is_audited_with_before_and_after() {
    let app = spawn_app().await;
    let office = app.office("Berlin").await;
    let id = app.company_user("edit@company.example", "company_user", None).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &app.admin,
            json!({"first_name": " Eddie ", "role": "company_matter_creator", "office_id": office}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["first_name"], "Eddie");
    assert_eq!(r.body["role"], "company_matter_creator");
    assert_eq!(r.body["office_name"], "Berlin");
    let r = app
        .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"office_id": null}))
        .await;
    assert_eq!(r.body["office_id"], Value::Null);
    let entries = app.audit(&format!("target_id={id}&action=user.updated")).await;
    assert_eq!(entries.len(), 2);
    let first = entries.last().unwrap();
    assert_eq!(first["before"]["role"], "company_user");
    assert_eq!(first["after"]["role"], "company_matter_creator");
    assert_eq!(first["actor"], ADMIN_EMAIL);
}

#[tokio::test]
async fn the_last_system_administrator_cannot_be_demoted_and_nobody_changes_their_own_role() {
    let app = spawn_app().await;
    let r = app
        .patch(
            &format!("/api/v1/users/{}", app.admin_id),
            &app.admin,
            json!({"role": "company_user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let other = app
        .company_user("second@company.example", "company_system_administrator", None)
        .await;
    let token = app.password_for(&other, "second@company.example").await;
    // Another administrator may demote the first while a second remains.
    let r = app
        .patch(&format!("/api/v1/users/{}", app.admin_id), &token, json!({"role": "company_user"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch(&format!("/api/v1/users/{other}"), &token, json!({"role": "company_user"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let r = app.client.get(format!("{}/api/v1/openapi.json", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // Every error answer of every operation carries the error schema, and
    // every operation that needs a session says it can answer 401. The whole document is in the `openapi`
    // snapshot (snapshots.rs), which also checks it against the router.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let public = matches!(path.as_str(), "/api/v1/sessions" | "/api/v1/password/set") && method == "post";
            assert!(public || responses.contains_key("401"), "{method} {path}");
            for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    for path in [
        "/api/v1/sessions",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/deactivation-check",
        "/api/v1/new-user-emails/send",
        "/api/v1/firms",
        "/api/v1/matters/{id}/participants",
        "/api/v1/bulk-update/lead-company-person",
        "/api/v1/settings",
        "/api/v1/audit",
        "/api/v1/me/delegates",
        "/api/v1/password/set",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["components"]["schemas"].get("UserOut").is_some());
}
