//! S7: administrators see and touch only their scope; outside it, 404.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_firm_administrator_reaches_only_their_own_firm() {
    let app = spawn_app().await;
    let (firm_a, admin_a) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (firm_b, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let alpha_lawyer = app.firm_user("lawyer@alpha.example", "firm_user", &firm_a).await;
    let beta_lawyer = app.firm_user("lawyer@beta.example", "firm_user", &firm_b).await;
    let company = app.company_user("staff@company.example", "company_user", None).await;
    let token = app.password_for(&admin_a, "admin@alpha.example").await;

    let list = app.get("/api/v1/users?status=all", &token).await;
    assert_eq!(list.status, StatusCode::OK);
    let emails: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(emails.iter().all(|e| e.ends_with("@alpha.example")));
    // Asking for another firm's list shows nothing of it.
    let other = app.get(&format!("/api/v1/users?org=firm:{firm_b}"), &token).await;
    assert_eq!(other.body["total"], 0);

    assert_eq!(
        app.get(&format!("/api/v1/users/{alpha_lawyer}"), &token).await.status,
        StatusCode::OK
    );
    for outside in [&beta_lawyer, &company, &app.admin_id] {
        for r in [
            app.get(&format!("/api/v1/users/{outside}"), &token).await,
            app.patch(&format!("/api/v1/users/{outside}"), &token, json!({"first_name": "Hacked"}))
                .await,
            app.patch(&format!("/api/v1/users/{outside}"), &token, json!({"active": false}))
                .await,
            app.get(&format!("/api/v1/users/{outside}/history"), &token).await,
            app.get(&format!("/api/v1/users/{outside}/deactivation-check"), &token).await,
            app.post(&format!("/api/v1/users/{outside}/reset-password"), &token, json!({}))
                .await,
            app.post(&format!("/api/v1/users/{outside}/new-user-email"), &token, json!({}))
                .await,
        ] {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{outside}: {}", r.body);
        }
    }
    let untouched = app.get(&format!("/api/v1/users/{beta_lawyer}"), &app.admin).await;
    assert_eq!(untouched.body["first_name"], "Firm");
    assert_eq!(untouched.body["active"], true);

    // Creating in another firm is 404; company users or roles are refused.
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "x@beta.example", "first_name": "X", "last_name": "Y", "side": "firm", "firm_id": firm_b, "role": "firm_user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "x@company.example", "first_name": "X", "last_name": "Y", "side": "company", "role": "company_user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Without firm_id, the user lands in the administrator's firm.
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "new@alpha.example", "first_name": "N", "last_name": "A", "role": "firm_user", "hold_new_user_email": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["firm_id"], firm_a.as_str());
    // Firms: only their own.
    let firms = app.get("/api/v1/firms", &token).await;
    assert_eq!(firms.body["total"], 1);
    assert_eq!(
        app.get(&format!("/api/v1/firms/{firm_b}"), &token).await.status,
        StatusCode::NOT_FOUND
    );
    // Company-only areas.
    assert_eq!(app.get("/api/v1/settings", &token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/audit", &token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post("/api/v1/offices", &token, json!({"name": "X"})).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_office_administrator_manages_their_office_but_never_a_system_administrator() {
    let app = spawn_app().await;
    let ny = app.office("New York").await;
    let ldn = app.office("London").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&ny))
        .await;
    let ny_user = app.company_user("ny@company.example", "company_user", Some(&ny)).await;
    let ldn_user = app.company_user("ldn@company.example", "company_user", Some(&ldn)).await;
    let ny_sysadmin = app
        .company_user("nyroot@company.example", "company_system_administrator", Some(&ny))
        .await;
    let token = app.password_for(&oa, "oa@company.example").await;

    assert_eq!(
        app.patch(&format!("/api/v1/users/{ny_user}"), &token, json!({"last_name": "Renamed"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.patch(&format!("/api/v1/users/{ldn_user}"), &token, json!({"last_name": "Renamed"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .patch(&format!("/api/v1/users/{ny_sysadmin}"), &token, json!({"last_name": "Renamed"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Cannot promote anyone to system administrator, nor create one.
    let r = app
        .patch(
            &format!("/api/v1/users/{ny_user}"),
            &token,
            json!({"role": "company_system_administrator"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "boss@company.example", "first_name": "B", "last_name": "S", "role": "company_system_administrator"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Creates company users in their office by default, and firm users with firm_user only.
    let r = app.post("/api/v1/users", &token, json!({"email": "hire@company.example", "first_name": "H", "last_name": "I", "role": "company_user", "hold_new_user_email": true})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["office_id"], ny.as_str());
    let (firm, _) = app.firm("Gamma LLP", "admin@gamma.example").await;
    let r = app.post("/api/v1/users", &token, json!({"email": "l@gamma.example", "first_name": "L", "last_name": "G", "side": "firm", "firm_id": firm, "role": "firm_administrator"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post("/api/v1/users", &token, json!({"email": "l@gamma.example", "first_name": "L", "last_name": "G", "side": "firm", "firm_id": firm, "role": "firm_user", "hold_new_user_email": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The list shows their office only.
    let list = app.get("/api/v1/users", &token).await;
    let emails: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(
        !emails.contains(&"ldn@company.example") && emails.contains(&"ny@company.example"),
        "{emails:?}"
    );
    // No matter access, no settings.
    assert_eq!(app.get("/api/v1/me/matters", &token).await.body["total"], 0);
    assert_eq!(
        app.patch("/api/v1/settings", &token, json!({"company_name": "X"})).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn users_without_administration_cannot_list_or_see_others() {
    let app = spawn_app().await;
    let a = app.company_user("a@company.example", "company_user", None).await;
    let b = app.company_user("b@company.example", "company_user", None).await;
    let token = app.password_for(&a, "a@company.example").await;
    assert_eq!(app.get("/api/v1/users", &token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/v1/users/{b}"), &token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/users/{a}"), &token).await.status, StatusCode::OK);
    assert_eq!(
        app.patch(&format!("/api/v1/users/{b}"), &token, json!({"first_name": "X"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            "/api/v1/users",
            &token,
            json!({"email": "c@company.example", "first_name": "C", "last_name": "C", "role": "company_user"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/new-user-emails/pending", &token).await.status,
        StatusCode::FORBIDDEN
    );
}
