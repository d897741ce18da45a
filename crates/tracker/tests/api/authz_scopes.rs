//! Two scope rules at the HTTP boundary: a firm administrator attaches no
//! user to an office (offices are the company's), and an office
//! administrator's bulk send of the new user email (N3, N9) reaches only
//! users of their office.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn authz_a_firm_administrator_attaches_no_user_to_an_office() {
    let app = spawn_app().await;
    let office = app.office("Paris").await;
    let (firm, firm_admin) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let token = app.password_for(&firm_admin, "admin@alpha.example").await;
    let before = app.user_count().await;
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "new@alpha.example", "first_name": "New", "last_name": "Lawyer", "side": "firm", "firm_id": firm,
                   "office_id": office, "role": "firm_user", "hold_new_user_email": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("office"), "{}", r.body);
    assert_eq!(app.user_count().await, before, "nothing was created");

    let lawyer = app.firm_user("lawyer@alpha.example", "firm_user", &firm).await;
    let r = app
        .patch(&format!("/api/v1/users/{lawyer}"), &token, json!({"office_id": office}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.get(&format!("/api/v1/users/{lawyer}"), &app.admin).await;
    assert_eq!(r.body["office_id"], serde_json::Value::Null);
    // Without an office, their own firm's users are theirs to create.
    let r = app
        .post(
            "/api/v1/users",
            &token,
            json!({"email": "ok@alpha.example", "first_name": "Ok", "last_name": "Lawyer", "side": "firm", "role": "firm_user",
                   "hold_new_user_email": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn authz_an_office_administrators_bulk_send_reaches_their_office_only() {
    let app = spawn_app().await;
    let (a, b) = (app.office("Office A").await, app.office("Office B").await);
    let (firm, _) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let ours = app.company_user("ours@company.example", "company_user", Some(&a)).await;
    let theirs = app.company_user("theirs@company.example", "company_user", Some(&b)).await;
    let nowhere = app.company_user("nowhere@company.example", "company_user", None).await;
    let lawyer = app.firm_user("lawyer@alpha.example", "firm_user", &firm).await;
    let attached = app
        .create_user(
            json!({"email": "attached@alpha.example", "first_name": "Att", "last_name": "Ached", "side": "firm", "firm_id": firm,
                            "office_id": a, "role": "firm_user", "hold_new_user_email": true}),
        )
        .await;
    // In office A, but not theirs to manage one by one (N9, D8).
    let sysadmin = app
        .company_user("sys@company.example", "company_system_administrator", Some(&a))
        .await;
    let firm_admin = app
        .create_user(
            json!({"email": "fa@alpha.example", "first_name": "Firm", "last_name": "Admin", "side": "firm", "firm_id": firm,
                            "office_id": a, "role": "firm_administrator", "hold_new_user_email": true}),
        )
        .await;
    let office_admin = app
        .company_user("oa@company.example", "company_office_administrator", Some(&a))
        .await;
    let token = app.password_for(&office_admin, "oa@company.example").await;
    for id in [&sysadmin, &firm_admin] {
        let r = app.post(&format!("/api/v1/users/{id}/new-user-email"), &token, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{id}: {}", r.body);
    }

    let r = app.get("/api/v1/new-user-emails/pending", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&ours.as_str()) && listed.contains(&attached.as_str()), "{listed:?}");
    for other in [&theirs, &nowhere, &lawyer, &sysadmin, &firm_admin] {
        assert!(
            !listed.contains(&other.as_str()),
            "{other} is outside what office A's administrator manages: {listed:?}"
        );
    }

    let r = app.post("/api/v1/new-user-emails/send", &token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sent"], 2, "{}", r.body);
    let status = |id: String| {
        let app = &app;
        async move { app.get(&format!("/api/v1/users/{id}"), &app.admin).await.body["new_user_email"]["status"].clone() }
    };
    // Queued, or already delivered by the mail worker.
    for id in [&ours, &attached] {
        let st = status(id.clone()).await;
        assert!(st == "queued" || st == "sent", "{id}: {st}");
    }
    for id in [&theirs, &nowhere, &lawyer, &sysadmin, &firm_admin] {
        assert_eq!(
            status(id.clone()).await,
            "held",
            "{id}: outside office A, never emailed by its administrator"
        );
    }
    // Nobody left in their scope: the seed's sentence, and nothing sent.
    let r = app.post("/api/v1/new-user-emails/send", &token, json!({})).await;
    assert_eq!(r.body["sent"], 0, "{}", r.body);
}
