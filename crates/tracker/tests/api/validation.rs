//! S8: bad input of any kind is a clear 4xx that names the problem and
//! changes nothing.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn valid_user() -> Value {
    json!({"email": "valid@company.example", "first_name": "Val", "last_name": "Id", "side": "company", "role": "company_user", "hold_new_user_email": true})
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    let app = spawn_app().await;
    let before = app.user_count().await;
    let cases = [
        ("application/json", "{not json", "invalid_json"),
        ("application/json", "", "invalid_json"),
        ("application/json", "[1, 2]", "invalid_body"),
        (
            "application/json",
            r#"{"email": 5, "first_name": "a", "last_name": "b", "role": "company_user"}"#,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"email": "a@b.co", "first_name": "a", "last_name": "b", "role": "company_user", "is_admin": true}"#,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"first_name": "a", "last_name": "b", "role": "company_user"}"#,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"email": "a@b.co", "first_name": "a", "last_name": "b", "role": "company_user", "hold_new_user_email": "yes"}"#,
            "invalid_body",
        ),
        ("text/plain", r#"{"email": "a@b.co"}"#, "unsupported_media_type"),
    ];
    for (ct, body, code) in cases {
        let r = app.raw(Method::POST, "/api/v1/users", &app.admin, ct, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.code(), code, "{body}");
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let huge = format!(
        r#"{{"email": "a@b.co", "first_name": "{}", "last_name": "b", "role": "company_user"}}"#,
        "a".repeat(300_000)
    );
    let r = app.raw(Method::POST, "/api/v1/users", &app.admin, "application/json", &huge).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(app.user_count().await, before);
}

#[tokio::test]
async fn invalid_values_are_422_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let before = app.user_count().await;
    let cases = [
        (with(valid_user(), "email", json!("not-an-email")), "email", "invalid_email"),
        (with(valid_user(), "email", json!("")), "email", "required"),
        (with(valid_user(), "email", json!("a b@company.example")), "email", "invalid_email"),
        (
            with(valid_user(), "email", json!(format!("{}@company.example", "a".repeat(250)))),
            "email",
            "too_long",
        ),
        (with(valid_user(), "first_name", json!("   ")), "first_name", "required"),
        (with(valid_user(), "last_name", json!("x".repeat(101))), "last_name", "too_long"),
        (
            with(valid_user(), "last_name", json!("two\nlines")),
            "last_name",
            "invalid_characters",
        ),
        (with(valid_user(), "role", json!("superuser")), "role", "invalid_role"),
        (with(valid_user(), "side", json!("vendor")), "side", "invalid_side"),
        (with(valid_user(), "role", json!("firm_user")), "role", "role_side_mismatch"),
        (
            with(with(valid_user(), "side", json!("firm")), "role", json!("firm_user")),
            "firm_id",
            "firm_required",
        ),
        (with(valid_user(), "firm_id", json!("some-firm")), "firm_id", "firm_not_allowed"),
        (
            with(valid_user(), "office_id", json!("no-such-office")),
            "office_id",
            "unknown_office",
        ),
    ];
    for (body, field, code) in cases {
        let r = app.post("/api/v1/users", &app.admin, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
        assert_eq!(r.code(), code, "{body}");
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }
    // Several problems are all reported at once.
    let r = app
        .post(
            "/api/v1/users",
            &app.admin,
            json!({"email": "bad", "first_name": "", "last_name": "ok", "role": "nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_input");
    let fields: Vec<&str> = r.body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "first_name", "role"]);
    assert_eq!(app.user_count().await, before);
}

#[tokio::test]
async fn emails_are_unique_case_insensitively_and_apostrophes_work() {
    let app = spawn_app().await;
    let id = app
        .create_user(with(valid_user(), "email", json!("Siobhan.O'Brien@Company.example")))
        .await;
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.body["email"], "Siobhan.O'Brien@Company.example");
    let before = app.user_count().await;
    for dup in [
        "siobhan.o'brien@company.example",
        "SIOBHAN.O'BRIEN@COMPANY.EXAMPLE",
        "  siobhan.o'brien@company.example ",
    ] {
        let r = app.post("/api/v1/users", &app.admin, with(valid_user(), "email", json!(dup))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{dup}");
        assert_eq!(r.code(), "email_taken");
    }
    assert_eq!(app.user_count().await, before);
    // Searching finds the apostrophe name.
    let r = app.get("/api/v1/users?q=siobhan.o'b", &app.admin).await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
}

#[tokio::test]
async fn bad_query_strings_and_unknown_paths() {
    let app = spawn_app().await;
    for q in [
        "org=everyone",
        "status=deleted",
        "sort=age",
        "order=up",
        "page=0",
        "per_page=501",
        "per_page=x",
        "unknown=1",
        "org=firm:",
    ] {
        let r = app.get(&format!("/api/v1/users?{q}"), &app.admin).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.status
        );
        assert!(!r.code().is_empty(), "{q}");
    }
    let r = app.get("/api/v1/users/does-not-exist", &app.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
    let r = app.get("/api/v1/no-such-endpoint", &app.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/audit?from=yesterday", &app.admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "from");
}

#[tokio::test]
async fn patch_validates_everything_before_changing_anything() {
    let app = spawn_app().await;
    let id = app.create_user(valid_user()).await;
    let before = app.get(&format!("/api/v1/users/{id}"), &app.admin).await.body;
    for (patch, code) in [
        (json!({"first_name": "New", "email": "broken"}), "invalid_email"),
        (json!({"first_name": "New", "role": "firm_user"}), "role_side_mismatch"),
        (json!({"first_name": "New", "office_id": "nowhere"}), "unknown_office"),
        (json!({"first_name": "New", "email": ADMIN_EMAIL}), "email_taken"),
    ] {
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin, patch.clone()).await;
        assert!(r.status.is_client_error(), "{patch}");
        assert_eq!(r.code(), code, "{patch}");
    }
    let after = app.get(&format!("/api/v1/users/{id}"), &app.admin).await.body;
    assert_eq!(before, after);
}

/// Bodies are read as the served OpenAPI document (JSON Schema) says: an
/// object only where an object is meant, at any depth (serde alone takes an
/// array of a struct's fields), and whole numbers as integers even when
/// written `45.0`.
#[tokio::test]
async fn bodies_are_read_as_their_json_schema_says() {
    let app = spawn_app().await;
    let before = app.user_count().await;
    // The fields of POST /users in declaration order, as an array.
    let as_array = r#"["arr@company.example", "Arr", "Ay", "company", null, null, "company_user", true]"#;
    let r = app
        .raw(Method::POST, "/api/v1/users", &app.admin, "application/json", as_array)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(app.user_count().await, before);

    let settings = app.get("/api/v1/settings", &app.admin).await.body;
    let r = app.patch("/api/v1/settings", &app.admin, json!({"sessions": [45, 6]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("sessions: invalid type: sequence"), "{message}");
    assert_eq!(app.get("/api/v1/settings", &app.admin).await.body, settings);

    for fraction in [json!(45.5), json!("45"), json!(1e300)] {
        let r = app
            .patch("/api/v1/settings", &app.admin, json!({"sessions": {"idle_minutes": fraction}}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{fraction}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("sessions.idle_minutes: invalid type"), "{message}");
    }
    assert_eq!(app.get("/api/v1/settings", &app.admin).await.body, settings);

    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"sessions": {"idle_minutes": 45.0}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sessions"]["idle_minutes"], 45);
}

/// Query values the schema cannot rule out are 422s naming the parameter;
/// a parameter the server cannot read at all stays a 400.
#[tokio::test]
async fn query_values_that_cannot_be_used_are_422_on_their_field() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/users?sort=email&cursor=bm90LWEtY3Vyc29y", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "invalid_cursor");
    assert_eq!(r.body["error"]["field"], "cursor");

    let r = app.get("/api/v1/people?for=participant", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "matter_id");
    let r = app.get("/api/v1/people?for=delegate&matter_id=m1", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "not_taken");
    assert_eq!(r.body["error"]["field"], "matter_id");

    let r = app.get("/api/v1/people?for=everyone", &app.admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app.get("/api/v1/users?per_page=many", &app.admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}
