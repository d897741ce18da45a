//! Matters, participants and what each caller reaches.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn matters_have_an_active_company_lead_who_administers_them() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (_, firm_admin) = app.firm("Kappa LLP", "admin@kappa.example").await;
    let r = app
        .post(
            "/api/v1/matters",
            &app.admin,
            json!({"name": "X", "number": "1", "lead_company_person_id": firm_admin}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "not_company_user"));
    let r = app
        .post(
            "/api/v1/matters",
            &app.admin,
            json!({"name": "", "number": "", "lead_company_person_id": lead}),
        )
        .await;
    assert_eq!(r.code(), "invalid_input");
    let m = app.matter("2026-001", &lead).await;
    let r = app
        .post(
            "/api/v1/matters",
            &app.admin,
            json!({"name": "Other", "number": "2026-001", "lead_company_person_id": lead}),
        )
        .await;
    assert_eq!(r.code(), "matter_number_taken");
    let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await;
    assert_eq!(parts.body["total"], 1);
    assert_eq!(parts.body["items"][0]["user_id"], lead.as_str());
    assert_eq!(parts.body["items"][0]["role"], "matter_administrator");
    assert_eq!(parts.body["items"][0]["user_deactivated"], false);
    // The lead stays a matter administrator and cannot be removed.
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": lead, "role": "matter_reader"}),
        )
        .await;
    assert_eq!(r.code(), "lead_must_be_administrator");
    let r = app.delete(&format!("/api/v1/matters/{m}/participants/{lead}"), &app.admin).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "lead_company_person"));
}

#[tokio::test]
async fn participants_roles_follow_sides() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (_, firm_admin) = app.firm("Lambda LLP", "admin@lambda.example").await;
    let m = app.matter("2026-002", &lead).await;
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": firm_admin, "role": "report_only"}),
        )
        .await;
    assert_eq!(r.code(), "role_not_allowed_for_side");
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": firm_admin, "role": "billing_only", "receives_notifications": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": firm_admin, "role": "owner"}),
        )
        .await;
    assert_eq!(r.code(), "invalid_matter_role");
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": "ghost", "role": "matter_reader"}),
        )
        .await;
    assert_eq!(r.code(), "unknown_user");
    assert_eq!(
        app.delete(&format!("/api/v1/matters/{m}/participants/{firm_admin}"), &app.admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("/api/v1/matters/{m}/participants/{firm_admin}"), &app.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn my_matters_are_direct_through_delegation_or_all_for_system_administrators() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let lead_token = app.password_for(&lead, "lead@company.example").await;
    let assistant = app.company_user("assistant@company.example", "company_user", None).await;
    let assistant_token = app.password_for(&assistant, "assistant@company.example").await;
    let outsider = app.company_user("out@company.example", "company_user", None).await;
    let outsider_token = app.password_for(&outsider, "out@company.example").await;
    let m1 = app.matter("M-1", &lead).await;
    let other_lead = app.company_user("other@company.example", "company_user", None).await;
    let m2 = app.matter("M-2", &other_lead).await;

    assert_eq!(app.get("/api/v1/me/matters", &app.admin).await.body["total"], 2);
    assert_eq!(app.get("/api/v1/me/matters", &lead_token).await.body["total"], 1);
    assert_eq!(app.get("/api/v1/me/matters", &assistant_token).await.body["total"], 0);
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}"), &assistant_token).await.status,
        StatusCode::NOT_FOUND
    );
    app.put("/api/v1/me/delegates", &lead_token, json!({"delegate_ids": [assistant]}))
        .await;
    let mine = app.get("/api/v1/me/matters", &assistant_token).await.body;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["id"], m1.as_str());
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}"), &assistant_token).await.status,
        StatusCode::OK
    );
    // A delegate reads, but does not administer the matter.
    assert_eq!(
        app.patch(&format!("/api/v1/matters/{m1}"), &assistant_token, json!({"name": "X"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Outside: 404 for everything about the matter.
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m2}"), &outsider_token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m2}/participants"), &outsider_token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(&format!("/api/v1/matters/{m2}"), &outsider_token, json!({"name": "X"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The lead administers their matter.
    let r = app
        .patch(
            &format!("/api/v1/matters/{m1}"),
            &lead_token,
            json!({"name": "Renamed", "open_for_editing": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["open_for_editing"].as_bool(), r.body["open"].as_bool()),
        (Some(false), Some(true))
    );
    // Matter creators create; company users do not.
    assert_eq!(
        app.post(
            "/api/v1/matters",
            &lead_token,
            json!({"name": "N", "number": "N-1", "lead_company_person_id": lead})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let creator = app.company_user("creator@company.example", "company_matter_creator", None).await;
    let creator_token = app.password_for(&creator, "creator@company.example").await;
    let r = app
        .post(
            "/api/v1/matters",
            &creator_token,
            json!({"name": "N", "number": "N-1", "lead_company_person_id": lead}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(app.get("/api/v1/me/matters", &creator_token).await.body["total"], 1);
}
