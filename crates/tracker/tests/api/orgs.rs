//! Offices, firms, approval routes, settings and delegates.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn offices_take_active_company_coordinators() {
    let app = spawn_app().await;
    let (firm, firm_admin) = app.firm("Epsilon LLP", "admin@epsilon.example").await;
    let _ = firm;
    let c = app.company_user("coord@company.example", "company_user", None).await;
    let b = app.company_user("backup@company.example", "company_user", None).await;
    let office = app.office("Sydney").await;
    let r = app
        .patch(
            &format!("/api/v1/offices/{office}"),
            &app.admin,
            json!({"coordinator_id": c, "backup_coordinator_id": b}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["coordinator_id"], c.as_str());
    let r = app
        .patch(
            &format!("/api/v1/offices/{office}"),
            &app.admin,
            json!({"backup_coordinator_id": firm_admin}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "not_company_user"));
    let r = app
        .patch(
            &format!("/api/v1/offices/{office}"),
            &app.admin,
            json!({"backup_coordinator_id": c}),
        )
        .await;
    assert_eq!(r.code(), "same_as_coordinator");
    let r = app
        .patch(
            &format!("/api/v1/offices/{office}"),
            &app.admin,
            json!({"coordinator_id": "nobody"}),
        )
        .await;
    assert_eq!(r.code(), "unknown_user");
    let r = app
        .patch(
            &format!("/api/v1/offices/{office}"),
            &app.admin,
            json!({"backup_coordinator_id": null, "active": false}),
        )
        .await;
    assert_eq!(r.body["backup_coordinator_id"], Value::Null);
    assert_eq!(r.body["active"], false);
    let r = app.post("/api/v1/offices", &app.admin, json!({"name": "sydney"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "office_name_taken"));
    assert_eq!(app.get("/api/v1/offices", &app.admin).await.body["total"], 1);
}

#[tokio::test]
async fn creating_a_firm_creates_its_administrator_or_nothing() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "Zeta LLP", "administrator": {"email": "boss@zeta.example", "first_name": "Zed", "last_name": "Boss"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["name"], "Zeta LLP");
    assert_eq!(r.body["administrator"]["role"], "firm_administrator");
    assert_eq!(r.body["administrator"]["firm_id"], r.body["id"]);
    assert_eq!(r.body["administrator"]["firm_name"], "Zeta LLP");
    // N1: not held, so the new user email is on its way.
    assert_eq!(r.body["administrator"]["new_user_email"]["status"], "queued");

    let before = app.user_count().await;
    let bad = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "Eta LLP", "administrator": {"email": "not-an-email", "first_name": "E", "last_name": "A"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "administrator.email");
    let dup = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "Theta LLP", "administrator": {"email": "BOSS@zeta.example", "first_name": "E", "last_name": "A"}}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(app.user_count().await, before);
    assert_eq!(
        app.get("/api/v1/firms", &app.admin).await.body["total"],
        1,
        "no firm without its administrator"
    );
    let r = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "zeta llp", "administrator": {"email": "x@zeta2.example", "first_name": "E", "last_name": "A"}}),
        )
        .await;
    assert_eq!(r.code(), "firm_name_taken");
}

#[tokio::test]
async fn approval_routes_take_active_company_approvers() {
    let app = spawn_app().await;
    let p = app.company_user("primary@company.example", "company_user", None).await;
    let a = app.company_user("alt@company.example", "company_user", None).await;
    let d = app.company_user("deleg@company.example", "company_user", None).await;
    let r = app.post("/api/v1/approval-routes", &app.admin, json!({"name": "Large invoices", "levels": [{"primary_approver_id": p, "alternate_approver_id": a, "delegate_ids": [d]}, {"primary_approver_id": a}]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.id();
    assert_eq!(r.body["levels"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["levels"][0]["delegate_ids"][0], d.as_str());
    let r = app
        .post("/api/v1/approval-routes", &app.admin, json!({"name": "Empty", "levels": []}))
        .await;
    assert_eq!(r.code(), "out_of_range");
    let r = app
        .post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": "Same", "levels": [{"primary_approver_id": p, "alternate_approver_id": p}]}),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "levels[0].alternate_approver_id");
    let r = app
        .patch(
            &format!("/api/v1/approval-routes/{id}"),
            &app.admin,
            json!({"active": false, "levels": [{"primary_approver_id": d}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["levels"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/approval-routes/{id}"), &app.admin).await.body["levels"][0]["primary_approver_id"],
        d.as_str()
    );
}

#[tokio::test]
async fn settings_are_validated() {
    let app = spawn_app().await;
    let s = app.get("/api/v1/settings", &app.admin).await.body;
    assert_eq!(s["password_policy"]["min_length"], 12);
    assert_eq!(s["link_ttl_hours"], 168);
    assert_eq!(s["lockout"]["inactivity_days"], 90);
    for (patch, field) in [
        (
            json!({"password_policy": {"min_length": 7, "min_classes": 3, "history": 5}}),
            "password_policy.min_length",
        ),
        (
            json!({"lockout": {"max_failures": 5, "window_minutes": 15, "duration_minutes": 30, "inactivity_days": 29}}),
            "lockout.inactivity_days",
        ),
        (
            json!({"lockout": {"max_failures": 5, "window_minutes": 15, "duration_minutes": 30, "inactivity_days": 367}}),
            "lockout.inactivity_days",
        ),
        (json!({"link_ttl_hours": 0}), "link_ttl_hours"),
        (json!({"tracker_coordinator_id": "nobody"}), "tracker_coordinator_id"),
    ] {
        let r = app.patch("/api/v1/settings", &app.admin, patch.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}");
        assert_eq!(r.body["error"]["field"], field, "{patch}");
    }
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"tracker_coordinator_id": app.admin_id, "link_ttl_hours": 48, "active_directory_sync": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["tracker_coordinator_id"], app.admin_id.as_str());
    assert_eq!(r.body["link_ttl_hours"], 48);
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", app.admin_id), &app.admin).await.body["directory_managed"],
        true
    );
}

#[tokio::test]
async fn delegates_are_at_most_five_active_colleagues() {
    let app = spawn_app().await;
    let me = app.company_user("boss@company.example", "company_user", None).await;
    let token = app.password_for(&me, "boss@company.example").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            app.company_user(&format!("assistant{i}@company.example"), "company_user", None)
                .await,
        );
    }
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": ids})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "too_many_delegates"));
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": [me]})).await;
    assert_eq!(r.code(), "cannot_delegate_to_self");
    let (firm, firm_admin) = app.firm("Iota LLP", "admin@iota.example").await;
    let _ = firm;
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": [firm_admin]})).await;
    assert_eq!(r.code(), "delegate_out_of_organisation");
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": ids[..5]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["delegates"].as_array().unwrap().len(), 5);
    let admin_view = app.get(&format!("/api/v1/users/{}/delegates", ids[0]), &app.admin).await;
    assert_eq!(admin_view.body["delegators"][0]["id"], me.as_str());
    // An inactive user cannot be named (D2).
    app.patch(&format!("/api/v1/users/{}", ids[5]), &app.admin, json!({"active": false}))
        .await;
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": [ids[5]]})).await;
    assert_eq!(r.code(), "user_inactive");
    let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": []})).await;
    assert_eq!(r.body["delegates"].as_array().unwrap().len(), 0);
}

/// A page of firms or offices and its total are read in one statement;
/// a page past the end has no row to carry the total and counts it alone.
#[tokio::test]
async fn firm_and_office_pages_carry_the_whole_total() {
    let app = spawn_app().await;
    for (i, name) in ["Gamma LLP", "Alpha LLP", "Beta LLP"].iter().enumerate() {
        app.firm(name, &format!("boss{i}@firm{i}.example")).await;
    }
    for name in ["Oslo", "Lima", "Kyiv"] {
        app.office(name).await;
    }
    for (list, names) in [
        ("firms", ["Alpha LLP", "Beta LLP", "Gamma LLP"]),
        ("offices", ["Kyiv", "Lima", "Oslo"]),
    ] {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let r = app.get(&format!("/api/v1/{list}?per_page=2&page={page}"), &app.admin).await;
            assert_eq!(r.status, StatusCode::OK, "{list} page {page}: {:?}", r.body);
            assert_eq!(r.body["total"], 3, "{list} page {page}");
            let items = r.body["items"].as_array().unwrap();
            assert_eq!(items.len(), [2, 1, 0][page - 1], "{list} page {page}");
            seen.extend(items.iter().map(|f| f["name"].as_str().unwrap().to_owned()));
        }
        assert_eq!(seen, names, "{list} in name order, each once");
    }
}
