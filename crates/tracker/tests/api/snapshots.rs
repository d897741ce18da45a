//! Snapshots of the API contract: the served OpenAPI document and one
//! representative answer of every shape (SPEC §8). Ids, times and tokens
//! are redacted, so the snapshots hold on SQLite and PostgreSQL alike; a
//! changed snapshot is a changed contract and must be reviewed as one.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Whether a member holds an id, a time or a secret, by its name.
fn volatile(key: &str) -> bool {
    key == "id"
        || key == "at"
        || key == "token"
        || key == "csrf_token"
        || key == "locked_until"
        || key.ends_with("_id")
        || key.ends_with("_ids")
        || key.ends_with("_at")
}

/// Replaces ids, times and tokens by placeholders, recursively (audit
/// entries carry whole users in `before`/`after`), and the state of the new
/// user email, which depends on how far the mail worker got.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        // The mail worker moves it on in the background.
                        Value::Object(m) if k == "new_user_email" => {
                            Value::Object(m.keys().map(|k| (k.clone(), json!(format!("[{k}]")))).collect())
                        }
                        Value::Null => Value::Null,
                        Value::Array(items) if volatile(k) => Value::Array(items.iter().map(|_| json!("[id]")).collect()),
                        Value::String(_) | Value::Number(_) if volatile(k) => json!(format!("[{k}]")),
                        other => redact(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Snapshots an answer with its status, after checking the status.
fn snap(name: &str, r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{name}: {}", r.body);
    insta::assert_json_snapshot!(name, json!({"status": r.status.as_u16(), "body": redact(&r.body)}));
}

#[tokio::test]
async fn the_openapi_document() {
    let app = spawn_app().await;
    let r = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    // The version follows the workspace; the contract does not.
    let mut doc = r.body;
    doc["info"]["version"] = json!("[version]");
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn sessions_and_the_caller() {
    let app = spawn_app().await;
    let r = app.try_sign_in(ADMIN_EMAIL, PASSWORD).await;
    snap("sign_in", &r, StatusCode::CREATED);
    let wrong = app.try_sign_in(ADMIN_EMAIL, "wrong").await;
    snap("error_401_invalid_credentials", &wrong, StatusCode::UNAUTHORIZED);
    snap(
        "error_401_not_signed_in",
        &app.call(Method::GET, "/api/v1/me", None, None).await,
        StatusCode::UNAUTHORIZED,
    );
    snap("me", &app.get("/api/v1/me", &app.admin).await, StatusCode::OK);
    snap("me_delegates", &app.get("/api/v1/me/delegates", &app.admin).await, StatusCode::OK);
    let bad = app
        .raw(
            Method::POST,
            "/api/v1/users",
            &app.admin,
            "application/json",
            r#"{"email": "a@b.example", "surprise": 1}"#,
        )
        .await;
    snap("error_400_unknown_field", &bad, StatusCode::BAD_REQUEST);
    let link = app.set_password("nope", PASSWORD).await;
    snap("error_422_link_invalid", &link, StatusCode::UNPROCESSABLE_ENTITY);
    let out = app.delete("/api/v1/sessions/current", &app.admin).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn users_and_their_views() {
    let app = spawn_app().await;
    let office = app.office("Lisbon").await;
    let lead = app.company_user("lena@company.example", "company_user", Some(&office)).await;
    app.matter("M-1", &lead).await;

    snap("user", &app.get(&format!("/api/v1/users/{lead}"), &app.admin).await, StatusCode::OK);
    snap("user_list", &app.get("/api/v1/users?sort=email", &app.admin).await, StatusCode::OK);
    snap(
        "deactivation_check_with_blockers",
        &app.get(&format!("/api/v1/users/{lead}/deactivation-check"), &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "error_409_deactivation_blocked",
        &app.patch(&format!("/api/v1/users/{lead}"), &app.admin, json!({"active": false}))
            .await,
        StatusCode::CONFLICT,
    );
    snap(
        "error_403_cannot_deactivate_self",
        &app.patch(&format!("/api/v1/users/{}", app.admin_id), &app.admin, json!({"active": false}))
            .await,
        StatusCode::FORBIDDEN,
    );
    snap(
        "user_patched",
        &app.patch(&format!("/api/v1/users/{lead}"), &app.admin, json!({"first_name": "Lena"}))
            .await,
        StatusCode::OK,
    );
    snap(
        "error_422_invalid_fields",
        &app.post(
            "/api/v1/users",
            &app.admin,
            json!({"email": "not-an-address", "first_name": "", "last_name": "X", "role": "company_user"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    snap(
        "error_409_email_taken",
        &app.post(
            "/api/v1/users",
            &app.admin,
            json!({"email": "lena@company.example", "first_name": "A", "last_name": "B", "side": "company", "role": "company_user"}),
        )
        .await,
        StatusCode::CONFLICT,
    );
    snap(
        "error_404_not_found",
        &app.get("/api/v1/users/nobody", &app.admin).await,
        StatusCode::NOT_FOUND,
    );
    snap(
        "error_400_invalid_query",
        &app.get("/api/v1/users?status=sleeping", &app.admin).await,
        StatusCode::BAD_REQUEST,
    );
    // Adding lead to M-1 queued their welcome (N2); N4 sends it again
    // only once the worker has taken it on.
    app.new_user_email_left_the_queue(&lead).await;
    snap(
        "new_user_email_sent",
        &app.post(&format!("/api/v1/users/{lead}/new-user-email"), &app.admin, json!({}))
            .await,
        StatusCode::ACCEPTED,
    );
    snap(
        "unlocked",
        &app.post(&format!("/api/v1/users/{lead}/unlock"), &app.admin, json!({})).await,
        StatusCode::OK,
    );
    snap(
        "user_history",
        &app.get(&format!("/api/v1/users/{lead}/history?per_page=1"), &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "user_delegates",
        &app.get(&format!("/api/v1/users/{lead}/delegates"), &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "people_picker",
        &app.get("/api/v1/people?for=lead&q=lena", &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "pending_new_user_emails",
        &app.get("/api/v1/new-user-emails/pending", &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "new_user_emails_sent",
        &app.post("/api/v1/new-user-emails/send", &app.admin, json!({})).await,
        StatusCode::OK,
    );
    snap(
        "password_reset",
        &app.post(&format!("/api/v1/users/{lead}/reset-password"), &app.admin, json!({}))
            .await,
        StatusCode::ACCEPTED,
    );
}

#[tokio::test]
async fn organisations_matters_routes_settings_and_audit() {
    let app = spawn_app().await;
    let office = app.post("/api/v1/offices", &app.admin, json!({"name": "Porto"})).await;
    snap("office_created", &office, StatusCode::CREATED);
    snap("office_list", &app.get("/api/v1/offices", &app.admin).await, StatusCode::OK);
    let firm = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "Bell LLP", "administrator": {"email": "fa@bell.example", "first_name": "Fay", "last_name": "Bell", "hold_new_user_email": true}}),
        )
        .await;
    snap("firm_created", &firm, StatusCode::CREATED);
    snap("firm_list", &app.get("/api/v1/firms", &app.admin).await, StatusCode::OK);
    let firm_admin = firm.body["administrator"]["id"].as_str().unwrap().to_owned();

    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    let matter = app
        .post(
            "/api/v1/matters",
            &app.admin,
            json!({"name": "Acme v. Bell", "number": "M-7", "lead_company_person_id": lead}),
        )
        .await;
    snap("matter_created", &matter, StatusCode::CREATED);
    let m = matter.id();
    snap("matter_list", &app.get("/api/v1/matters", &app.admin).await, StatusCode::OK);
    snap(
        "participant_added",
        &app.post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": firm_admin, "role": "matter_editor"}),
        )
        .await,
        StatusCode::CREATED,
    );
    snap(
        "participant_list",
        &app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await,
        StatusCode::OK,
    );
    snap(
        "bulk_lead_updated",
        &app.post(
            "/api/v1/bulk-update/lead-company-person",
            &app.admin,
            json!({"from_user_id": lead, "to_user_id": other}),
        )
        .await,
        StatusCode::OK,
    );
    snap(
        "route_created",
        &app.post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": "Invoices", "levels": [{"primary_approver_id": lead, "alternate_approver_id": other}]}),
        )
        .await,
        StatusCode::CREATED,
    );
    snap("route_list", &app.get("/api/v1/approval-routes", &app.admin).await, StatusCode::OK);
    snap("settings", &app.get("/api/v1/settings", &app.admin).await, StatusCode::OK);
    snap(
        "settings_patched",
        &app.patch("/api/v1/settings", &app.admin, json!({"link_ttl_hours": 48})).await,
        StatusCode::OK,
    );
    snap(
        "audit_page",
        &app.get("/api/v1/audit?action=settings.updated&per_page=1", &app.admin).await,
        StatusCode::OK,
    );
    // The limit is 10 a minute, refilled one every 6 s of real time: on a
    // loaded machine 11 slow (Argon2) attempts can span a refill, so keep
    // trying until the limiter answers, within a bound.
    let limited = {
        let mut last = None;
        for _ in 0..30 {
            let r = app.try_sign_in("nobody@company.example", "x").await;
            let done = r.status == StatusCode::TOO_MANY_REQUESTS;
            last = Some(r);
            if done {
                break;
            }
        }
        last.unwrap()
    };
    snap("error_429_too_many_attempts", &limited, StatusCode::TOO_MANY_REQUESTS);
}

/// Every operation the router serves under `/api/v1` is in the document,
/// and every documented operation is served: a method the document does
/// not list for a path is refused with 405.
#[tokio::test]
async fn the_document_lists_every_served_operation() {
    let app = spawn_app().await;
    let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.body;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 25, "{}", paths.len());
    for (path, item) in paths {
        let concrete = path.replace('{', "x").replace('}', "");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let documented = item.get(method.as_str().to_ascii_lowercase()).is_some();
            // Signing out must not end the session the other probes use.
            let token = match path.ends_with("/sessions/current") {
                true => app.sign_in(ADMIN_EMAIL, PASSWORD).await,
                false => app.admin.clone(),
            };
            let r = app.call(method.clone(), &concrete, Some(&token), None).await;
            if documented {
                assert_ne!(
                    r.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not served"
                );
                let op = &item[method.as_str().to_ascii_lowercase()];
                assert!(
                    op["responses"].get(r.status.as_str()).is_some(),
                    "{method} {path} answered {} which its document does not list: {}",
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
}
