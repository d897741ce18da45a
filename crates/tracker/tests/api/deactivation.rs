//! SPEC §3–§4 at the HTTP boundary: D1–D9 and R1/R3 against the real
//! server and a real database file.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

// ---------------------------------------------------------------- helpers

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

async fn participant(app: &TestApp, matter: &str, user: &str, role: &str, notified: bool) {
    let r = app
        .post(
            &format!("/api/v1/matters/{matter}/participants"),
            &app.admin,
            json!({"user_id": user, "role": role, "receives_notifications": notified}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
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

// ------------------------------------------------------------------- D3/D5

#[tokio::test]
async fn each_company_blocker_kind_alone_refuses_and_is_listed_by_the_check() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;

    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("D3-1", &lead).await;
    assert_blocked(&app, &app.admin, &lead, &expect(&[("lead_company_person", &m)])).await;

    let coord = app.company_user("coord@company.example", "company_user", None).await;
    let o1 = office_with(&app, "Coordinated", Some(&coord), None).await;
    assert_blocked(&app, &app.admin, &coord, &expect(&[("office_coordinator", &o1)])).await;

    let backup = app.company_user("backup@company.example", "company_user", None).await;
    let o2 = office_with(&app, "Backed up", Some(&other), Some(&backup)).await;
    assert_blocked(&app, &app.admin, &backup, &expect(&[("office_backup_coordinator", &o2)])).await;

    let primary = app.company_user("primary@company.example", "company_user", None).await;
    let r1 = route(&app, "Primary route", true, json!([{"primary_approver_id": primary}])).await;
    assert_blocked(
        &app,
        &app.admin,
        &primary,
        &expect(&[("route_primary_approver", &format!("{r1}#1"))]),
    )
    .await;

    let alternate = app.company_user("alternate@company.example", "company_user", None).await;
    let r2 = route(
        &app,
        "Alternate route",
        true,
        json!([{"primary_approver_id": other}, {"primary_approver_id": other, "alternate_approver_id": alternate}]),
    )
    .await;
    assert_blocked(
        &app,
        &app.admin,
        &alternate,
        &expect(&[("route_alternate_approver", &format!("{r2}#2"))]),
    )
    .await;

    // The blockers of one user never leak into another's answer.
    let bystander = app.company_user("bystander@company.example", "company_user", None).await;
    assert_clear(&app, &app.admin, &bystander).await;
    assert_eq!(deactivate(&app, &app.admin, &bystander).await.status, StatusCode::OK);
    // A refused deactivation writes nothing to the audit log.
    let done = app.audit("action=user.deactivated").await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["target_id"], bystander.as_str());
}

#[tokio::test]
async fn every_blocker_is_listed_at_once_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    let third = app.company_user("third@company.example", "company_user", None).await;
    let u = app.company_user("busy@company.example", "company_user", None).await;
    let token = app.password_for(&u, "busy@company.example").await;

    let m1 = app.matter("ALL-1", &u).await;
    let m2 = app.matter("ALL-2", &u).await;
    // Open only for invoicing still blocks; closed for both does not.
    assert_eq!(
        patch_matter(&app, &m2, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );
    let closed = app.matter("ALL-3", &u).await;
    assert_eq!(
        patch_matter(&app, &closed, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let o1 = office_with(&app, "Inactive coordinated", Some(&u), None).await;
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{o1}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    let o2 = office_with(&app, "Backup", Some(&other), Some(&u)).await;
    let r1 = route(
        &app,
        "Inactive route",
        false,
        json!([{"primary_approver_id": other}, {"primary_approver_id": u, "delegate_ids": [third]}]),
    )
    .await;
    let r2 = route(
        &app,
        "Alternate",
        true,
        json!([{"primary_approver_id": other, "alternate_approver_id": u}]),
    )
    .await;
    // Being a delegate on a level blocks nothing.
    route(
        &app,
        "Delegate only",
        true,
        json!([{"primary_approver_id": other, "delegate_ids": [u]}]),
    )
    .await;

    let expected = expect(&[
        ("lead_company_person", &m1),
        ("lead_company_person", &m2),
        ("office_coordinator", &o1),
        ("office_backup_coordinator", &o2),
        ("route_primary_approver", &format!("{r1}#2")),
        ("route_alternate_approver", &format!("{r2}#1")),
    ]);
    assert_blocked(&app, &app.admin, &u, &expected).await;
    let c = check(&app, &app.admin, &u).await;
    let blockers = c.body["blockers"].as_array().unwrap();
    let inactive_office = blockers.iter().find(|b| b["kind"] == "office_coordinator").unwrap();
    assert_eq!(inactive_office["office"]["active"], false);
    let inactive_route = blockers.iter().find(|b| b["kind"] == "route_primary_approver").unwrap();
    assert_eq!(
        (
            inactive_route["route"]["active"].as_bool(),
            inactive_route["route"]["name"].as_str()
        ),
        (Some(false), Some("Inactive route"))
    );
    let lead = blockers.iter().find(|b| b["matter"]["id"] == m2.as_str()).unwrap();
    assert_eq!(
        (lead["matter"]["name"].as_str(), lead["matter"]["number"].as_str()),
        (Some("Matter ALL-2"), Some("ALL-2"))
    );

    // Nothing of D2 happened: the session lives, no audit entry.
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    assert!(app.audit(&format!("target_id={u}&action=user.deactivated")).await.is_empty());
}

#[tokio::test]
async fn a_matter_blocks_while_open_for_editing_or_invoicing_and_closing_both_clears() {
    let app = spawn_app().await;
    let u = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("OPEN-1", &u).await;
    let blocked = expect(&[("lead_company_person", &m)]);
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_invoicing": false})).await.status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &blocked).await; // open for editing only
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false, "open_for_invoicing": true}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &blocked).await; // open for invoicing only
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_invoicing": false})).await.status,
        StatusCode::OK
    );
    assert_clear(&app, &app.admin, &u).await;
    let r = deactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["active"].as_bool(), r.body["warnings"].as_array().map(Vec::len)),
        (Some(false), Some(0))
    );
    assert!(r.body["deactivated_at"].is_string());
    // The closed matter keeps its (now inactive) lead: history is not rewritten.
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
        u.as_str()
    );
}

#[tokio::test]
async fn inactive_offices_and_routes_still_block_a_route_delegate_does_not_and_replacing_clears() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    let u = app.company_user("u@company.example", "company_user", None).await;
    let delegate = app.company_user("delegate@company.example", "company_user", None).await;
    let office = office_with(&app, "Closed office", Some(&u), None).await;
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    let r = route(
        &app,
        "Old route",
        true,
        json!([{"primary_approver_id": u, "delegate_ids": [delegate]}]),
    )
    .await;
    assert_eq!(
        app.patch(&format!("/api/v1/approval-routes/{r}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(
        &app,
        &app.admin,
        &u,
        &expect(&[("office_coordinator", &office), ("route_primary_approver", &format!("{r}#1"))]),
    )
    .await;

    // The route's delegate is not a blocker.
    assert_clear(&app, &app.admin, &delegate).await;
    assert_eq!(deactivate(&app, &app.admin, &delegate).await.status, StatusCode::OK);

    // Doing what the fixes say clears them.
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"coordinator_id": other}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &expect(&[("route_primary_approver", &format!("{r}#1"))])).await;
    let rr = app
        .patch(
            &format!("/api/v1/approval-routes/{r}"),
            &app.admin,
            json!({"levels": [{"primary_approver_id": other}]}),
        )
        .await;
    assert_eq!(rr.status, StatusCode::OK, "{}", rr.body);
    assert_clear(&app, &app.admin, &u).await;
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------- D4

#[tokio::test]
async fn d4_refuses_a_firm_administrator_and_only_warns_a_company_administrator() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (firm, fa) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (other_firm, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let fa_token = app.password_for(&fa, "admin@alpha.example").await;
    let l1 = app.firm_user("l1@alpha.example", "firm_user", &firm).await;
    let l2 = app.firm_user("l2@alpha.example", "firm_user", &firm).await;
    let l3 = app.firm_user("l3@alpha.example", "firm_user", &firm).await;
    let b1 = app.firm_user("b1@beta.example", "firm_user", &other_firm).await;

    // M1: l1 alone. M2: l1 (not notified) and l2 (notified). M3: closed, l1
    // alone. M4: l1 with another firm's lawyer. M5: l1 and l3 of the same firm.
    let m1 = app.matter("D4-1", &lead).await;
    participant(&app, &m1, &l1, "matter_editor", true).await;
    let m2 = app.matter("D4-2", &lead).await;
    participant(&app, &m2, &l1, "matter_editor", false).await;
    participant(&app, &m2, &l2, "matter_reader", true).await;
    let m3 = app.matter("D4-3", &lead).await;
    participant(&app, &m3, &l1, "matter_editor", true).await;
    assert_eq!(
        patch_matter(&app, &m3, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let m4 = app.matter("D4-4", &lead).await;
    participant(&app, &m4, &l1, "billing_only", true).await;
    participant(&app, &m4, &b1, "matter_editor", true).await;
    let m5 = app.matter("D4-5", &lead).await;
    participant(&app, &m5, &l1, "matter_editor", true).await;
    participant(&app, &m5, &l3, "matter_editor", true).await;

    // l3 is not alone anywhere: its firm administrator may deactivate it,
    // and from then on l1 is alone on M5 too (inactive users do not count).
    assert_clear(&app, &fa_token, &l3).await;
    assert_eq!(deactivate(&app, &fa_token, &l3).await.status, StatusCode::OK);

    let l1_expected = expect(&[
        ("only_firm_user_on_matter", &m1),
        ("only_notified_firm_user_on_matter", &m1),
        ("only_firm_user_on_matter", &m4),
        ("only_notified_firm_user_on_matter", &m4),
        ("only_firm_user_on_matter", &m5),
        ("only_notified_firm_user_on_matter", &m5),
    ]);
    assert_blocked(&app, &fa_token, &l1, &l1_expected).await;
    // l2 shares M2 with l1 but is the only one of the firm notified there.
    assert_blocked(&app, &fa_token, &l2, &expect(&[("only_notified_firm_user_on_matter", &m2)])).await;

    // A company-side administrator sees the same list as warnings and succeeds.
    let c = check(&app, &app.admin, &l1).await;
    assert_eq!(
        (c.body["can_deactivate"].as_bool(), c.body["blockers"].as_array().map(Vec::len)),
        (Some(true), Some(0)),
        "{}",
        c.body
    );
    assert_eq!(summary(&c.body["warnings"]), l1_expected);
    let r = deactivate(&app, &app.admin, &l1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(summary(&r.body["warnings"]), l1_expected);
    let entry = &app.audit(&format!("target_id={l1}&action=user.deactivated")).await[0];
    assert_eq!(
        summary(&entry["after"]["warnings"]),
        l1_expected,
        "the audit entry keeps the warnings"
    );
}

// ---------------------------------------------------------------------- D2

#[tokio::test]
async fn deactivation_ends_every_session_at_once_and_sign_in_answers_as_for_a_wrong_password() {
    let app = spawn_app().await;
    let u = app.company_user("leaving@company.example", "company_user", None).await;
    let first = app.password_for(&u, "leaving@company.example").await;
    let second = app.sign_in("leaving@company.example", PASSWORD).await;
    let bystander = app.company_user("staying@company.example", "company_user", None).await;
    let bystander_token = app.password_for(&bystander, "staying@company.example").await;
    for t in [&first, &second] {
        assert_eq!(app.get("/api/v1/me", t).await.status, StatusCode::OK);
    }
    let wrong = app.try_sign_in("staying@company.example", "Wr0ng-Passw0rd!").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let r = deactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for t in [&first, &second] {
        let me = app.get("/api/v1/me", t).await;
        assert_eq!((me.status, me.code()), (StatusCode::UNAUTHORIZED, "not_signed_in"), "{}", me.body);
        assert_eq!(app.get("/api/v1/me/matters", t).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.get("/api/v1/me", &bystander_token).await.status,
        StatusCode::OK,
        "other users keep their sessions"
    );
    let refused = app.try_sign_in("leaving@company.example", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.body, wrong.body,
        "a deactivated user is answered exactly as a wrong password"
    );
    assert!(refused.headers.get("set-cookie").is_none());
    let entry = &app.audit(&format!("target_id={u}&action=user.deactivated")).await[0];
    assert_eq!(entry["after"]["sessions_revoked"], 2);
    assert_eq!(entry["actor_id"], app.admin_id.as_str());
}

#[tokio::test]
async fn open_sign_in_links_are_refused_after_deactivation_and_stay_dead_after_reactivation() {
    let app = spawn_app().await;
    let u = app.company_user("invited@company.example", "company_user", None).await;
    let token = app.link_for(&u).await;

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let set = json!({"token": token, "password": PASSWORD});
    let r = app.call(Method::POST, "/api/v1/password/set", None, Some(set.clone())).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "link_superseded"),
        "{}",
        r.body
    );
    let entry = &app.audit(&format!("target_id={u}&action=user.deactivated")).await[0];
    assert_eq!(entry["after"]["links_invalidated"], 1);
    // N7: no email of any kind to an inactive user.
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "user_inactive"), "{}", r.body);
    let r = app.post(&format!("/api/v1/users/{u}/reset-password"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "user_inactive"), "{}", r.body);
    let pending = app.get("/api/v1/new-user-emails/pending", &app.admin).await;
    assert!(
        !pending.body["items"].as_array().unwrap().iter().any(|x| x["id"] == u.as_str()),
        "{}",
        pending.body
    );

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let r = app.call(Method::POST, "/api/v1/password/set", None, Some(set)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an invalidated link stays invalid: {}",
        r.body
    );
    assert_eq!(app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body["activated"], false);
}

#[tokio::test]
async fn a_new_user_email_stopped_by_deactivation_can_be_sent_after_reactivation() {
    let app = spawn_app().await;
    let u = app.company_user("soon@company.example", "company_user", None).await;
    // The new user email is in the outbox and, the mail server refusing for
    // now, waits for its next attempt (N8): exactly what N1 leaves behind
    // while delivery is retried. Made here directly so that the delivery
    // worker cannot send it first.
    {
        let running = app.running.as_ref().unwrap();
        let later = running.app.now() + 3_600_000;
        let mut tx = running.app.db.write().await.unwrap();
        let id = domain::UserId::from(u.as_str());
        let user = tx.user_for_update(&id).await.unwrap().unwrap();
        tx.enqueue_mail(&store::OutboxPayload::NewUserEmail, Some(&id), &user.email, later)
            .await
            .unwrap();
        tx.set_new_user_email_status(&id, domain::model::EmailStatus::Queued, running.app.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let before = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_eq!(before["new_user_email"]["status"], "queued");
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "new_user_email_queued"), "{}", r.body);
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let outbox = {
        let running = app.running.as_ref().unwrap();
        let mut tx = running.app.db.read().await.unwrap();
        tx.mail_for_user(&domain::UserId::from(u.as_str()), 10).await.unwrap()
    };
    assert!(
        outbox.iter().all(|m| m.status == store::MailStatus::Cancelled),
        "D2/N7: nothing stays queued for an inactive user: {outbox:?}"
    );
    let shown = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_ne!(
        shown["new_user_email"]["status"], "queued",
        "the cancelled email is not shown as on its way: {shown}"
    );

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    // The email never went out: the user is pending again (N3) and can be sent it (N4).
    let pending = app.get("/api/v1/new-user-emails/pending", &app.admin).await;
    assert!(
        pending.body["items"].as_array().unwrap().iter().any(|x| x["id"] == u.as_str()),
        "{}",
        pending.body
    );
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

#[tokio::test]
async fn delegates_lose_access_through_a_deactivated_delegator_and_participant_lists_keep_the_flagged_user() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let u = app.company_user("partner@company.example", "company_user", None).await;
    let u_token = app.password_for(&u, "partner@company.example").await;
    let assistant = app.company_user("assistant@company.example", "company_user", None).await;
    let a_token = app.password_for(&assistant, "assistant@company.example").await;
    let m1 = app.matter("DEL-1", &lead).await;
    let m2 = app.matter("DEL-2", &lead).await;
    participant(&app, &m1, &u, "matter_editor", false).await;
    participant(&app, &m2, &u, "report_only", true).await;
    let r = app
        .put("/api/v1/me/delegates", &u_token, json!({"delegate_ids": [assistant]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &a_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let mine = app.get("/api/v1/me/matters", &a_token).await;
    assert_eq!(mine.body["total"], 0, "{}", mine.body);
    for m in [&m1, &m2] {
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}"), &a_token).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}/participants"), &a_token).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let parts = app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body;
    assert_eq!(parts["total"], 2, "the deactivated participant stays in the list: {parts}");
    let row = parts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == u.as_str())
        .expect("still listed")
        .clone();
    assert_eq!(
        (
            row["user_deactivated"].as_bool(),
            row["role"].as_str(),
            row["receives_notifications"].as_bool()
        ),
        (Some(true), Some("matter_editor"), Some(false))
    );
    let lead_row = parts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == lead.as_str())
        .unwrap()
        .clone();
    assert_eq!(lead_row["user_deactivated"], false);

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &a_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );
    assert_eq!(app.get(&format!("/api/v1/matters/{m2}"), &a_token).await.status, StatusCode::OK);
    let parts = app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body;
    let row = parts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == u.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["user_deactivated"], false);
}

#[tokio::test]
async fn an_inactive_user_cannot_be_made_participant_lead_coordinator_approver_delegate_or_tracker_coordinator() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let active = app.company_user("active@company.example", "company_user", None).await;
    let active_token = app.password_for(&active, "active@company.example").await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    let (firm, _) = app.firm("Gamma LLP", "admin@gamma.example").await;
    let gone_lawyer = app.firm_user("gone@gamma.example", "firm_user", &firm).await;
    let m = app.matter("INACT-1", &lead).await;
    let office = app.office("Somewhere").await;
    let rt = route(&app, "Route", true, json!([{"primary_approver_id": lead}])).await;
    assert_eq!(deactivate(&app, &app.admin, &gone).await.status, StatusCode::OK);
    assert_eq!(deactivate(&app, &app.admin, &gone_lawyer).await.status, StatusCode::OK);

    let attempts: Vec<(&str, Reply)> = vec![
        (
            "user_id",
            app.post(
                &format!("/api/v1/matters/{m}/participants"),
                &app.admin,
                json!({"user_id": gone, "role": "matter_reader"}),
            )
            .await,
        ),
        (
            "user_id",
            app.post(
                &format!("/api/v1/matters/{m}/participants"),
                &app.admin,
                json!({"user_id": gone_lawyer, "role": "billing_only"}),
            )
            .await,
        ),
        (
            "lead_company_person_id",
            app.post(
                "/api/v1/matters",
                &app.admin,
                json!({"name": "N", "number": "INACT-2", "lead_company_person_id": gone}),
            )
            .await,
        ),
        (
            "lead_company_person_id",
            patch_matter(&app, &m, json!({"lead_company_person_id": gone})).await,
        ),
        (
            "coordinator_id",
            app.post("/api/v1/offices", &app.admin, json!({"name": "New", "coordinator_id": gone}))
                .await,
        ),
        (
            "coordinator_id",
            app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"coordinator_id": gone}))
                .await,
        ),
        (
            "backup_coordinator_id",
            app.patch(
                &format!("/api/v1/offices/{office}"),
                &app.admin,
                json!({"coordinator_id": lead, "backup_coordinator_id": gone}),
            )
            .await,
        ),
        (
            "levels[0].primary_approver_id",
            app.post(
                "/api/v1/approval-routes",
                &app.admin,
                json!({"name": "R2", "levels": [{"primary_approver_id": gone}]}),
            )
            .await,
        ),
        (
            "levels[0].alternate_approver_id",
            app.patch(
                &format!("/api/v1/approval-routes/{rt}"),
                &app.admin,
                json!({"levels": [{"primary_approver_id": lead, "alternate_approver_id": gone}]}),
            )
            .await,
        ),
        (
            "levels[0].delegate_ids",
            app.patch(
                &format!("/api/v1/approval-routes/{rt}"),
                &app.admin,
                json!({"levels": [{"primary_approver_id": lead, "delegate_ids": [gone]}]}),
            )
            .await,
        ),
        (
            "delegate_ids",
            app.put("/api/v1/me/delegates", &active_token, json!({"delegate_ids": [gone]}))
                .await,
        ),
        (
            "tracker_coordinator_id",
            app.patch("/api/v1/settings", &app.admin, json!({"tracker_coordinator_id": gone}))
                .await,
        ),
        (
            "to_user_id",
            app.post(
                "/api/v1/bulk-update/lead-company-person",
                &app.admin,
                json!({"from_user_id": lead, "to_user_id": gone}),
            )
            .await,
        ),
    ];
    for (field, r) in &attempts {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
            "{field}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], *field, "{}", r.body);
    }
    // Nothing changed anywhere.
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body["total"],
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
        lead.as_str()
    );
    let o = app.get(&format!("/api/v1/offices/{office}"), &app.admin).await.body;
    assert_eq!(
        (o["coordinator_id"].clone(), o["backup_coordinator_id"].clone()),
        (Value::Null, Value::Null)
    );
    let r = app.get(&format!("/api/v1/approval-routes/{rt}"), &app.admin).await.body;
    assert_eq!(
        r["levels"],
        json!([{"primary_approver_id": lead, "alternate_approver_id": null, "delegate_ids": []}])
    );
    assert_eq!(app.get("/api/v1/me/delegates", &active_token).await.body["delegates"], json!([]));
    assert_eq!(
        app.get("/api/v1/settings", &app.admin).await.body["tracker_coordinator_id"],
        Value::Null
    );
    assert_eq!(app.get("/api/v1/me/matters", &app.admin).await.body["total"], 1);
}

#[tokio::test]
async fn reopening_a_closed_matter_whose_lead_is_inactive_is_refused() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let successor = app.company_user("next@company.example", "company_user", None).await;
    let m = app.matter("REOPEN-1", &lead).await;
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(deactivate(&app, &app.admin, &lead).await.status, StatusCode::OK);
    for body in [
        json!({"open_for_editing": true}),
        json!({"open_for_invoicing": true}),
        json!({"open_for_invoicing": true, "name": "Renamed"}),
    ] {
        let r = patch_matter(&app, &m, body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
            "{}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "lead_company_person_id");
    }
    let now = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(
        (now["open"].as_bool(), now["name"].as_str()),
        (Some(false), Some("Matter REOPEN-1"))
    );
    // Edits that do not reopen it still work; reopening with an active lead works.
    assert_eq!(patch_matter(&app, &m, json!({"name": "Archived"})).await.status, StatusCode::OK);
    let r = patch_matter(&app, &m, json!({"open_for_editing": true, "lead_company_person_id": successor})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["open"].as_bool(), r.body["lead_company_person_id"].as_str()),
        (Some(true), Some(successor.as_str()))
    );
}

// ---------------------------------------------------------------------- D6

#[tokio::test]
async fn with_directory_sync_company_users_lifecycle_is_the_directorys_but_firm_users_keep_d4() {
    let app = spawn_app().await;
    let staff = app.company_user("staff@company.example", "company_user", None).await;
    let left = app.company_user("left@company.example", "company_user", None).await;
    assert_eq!(deactivate(&app, &app.admin, &left).await.status, StatusCode::OK);
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (firm, fa) = app.firm("Delta LLP", "admin@delta.example").await;
    let fa_token = app.password_for(&fa, "admin@delta.example").await;
    let lawyer = app.firm_user("lawyer@delta.example", "firm_user", &firm).await;
    let lone = app.firm_user("lone@delta.example", "firm_user", &firm).await;
    let m = app.matter("AD-1", &lead).await;
    participant(&app, &m, &lone, "matter_editor", true).await;

    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = deactivate(&app, &app.admin, &staff).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "managed_by_directory"), "{}", r.body);
    assert!(is_active(&app, &staff).await);
    let r = reactivate(&app, &app.admin, &left).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "managed_by_directory"), "{}", r.body);
    assert!(!is_active(&app, &left).await);
    let c = check(&app, &app.admin, &staff).await;
    assert_eq!(
        (c.body["can_deactivate"].as_bool(), c.body["directory_managed"].as_bool()),
        (Some(false), Some(true)),
        "{}",
        c.body
    );
    assert_eq!(
        app.get(&format!("/api/v1/users/{staff}"), &app.admin).await.body["directory_managed"],
        true
    );
    // Other edits of a company user still work.
    assert_eq!(
        app.patch(&format!("/api/v1/users/{staff}"), &app.admin, json!({"last_name": "Renamed"}))
            .await
            .status,
        StatusCode::OK
    );

    // Firm users are not the directory's: both ways work, and D4 still binds.
    assert_eq!(
        app.get(&format!("/api/v1/users/{lawyer}"), &app.admin).await.body["directory_managed"],
        false
    );
    assert_eq!(check(&app, &fa_token, &lawyer).await.body["directory_managed"], false);
    assert_eq!(deactivate(&app, &fa_token, &lawyer).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &fa_token, &lawyer).await.status, StatusCode::OK);
    assert_blocked(
        &app,
        &fa_token,
        &lone,
        &expect(&[("only_firm_user_on_matter", &m), ("only_notified_firm_user_on_matter", &m)]),
    )
    .await;

    // Off again, Tracker owns it.
    assert_eq!(
        app.patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(deactivate(&app, &app.admin, &staff).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &app.admin, &left).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------- D8

#[tokio::test]
async fn nobody_deactivates_themselves_and_administrators_act_only_within_their_scope() {
    let app = spawn_app().await;
    let r = deactivate(&app, &app.admin, &app.admin_id).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(check(&app, &app.admin, &app.admin_id).await.body["can_deactivate"], false);

    let ny = app.office("New York").await;
    let ldn = app.office("London").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&ny))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let ny_user = app.company_user("ny@company.example", "company_user", Some(&ny)).await;
    let ldn_user = app.company_user("ldn@company.example", "company_user", Some(&ldn)).await;
    let ny_root = app
        .company_user("nyroot@company.example", "company_system_administrator", Some(&ny))
        .await;
    let (firm_a, fa) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (firm_b, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let fa_token = app.password_for(&fa, "admin@alpha.example").await;
    let a_user = app.firm_user("a@alpha.example", "firm_user", &firm_a).await;
    let b_user = app.firm_user("b@beta.example", "firm_user", &firm_b).await;
    let plain = app.company_user("plain@company.example", "company_user", None).await;
    let plain_token = app.password_for(&plain, "plain@company.example").await;

    // Office administrator: their office only, never a system administrator, never themselves.
    assert_eq!(deactivate(&app, &oa_token, &ldn_user).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/users/{ldn_user}/deactivation-check"), &oa_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(deactivate(&app, &oa_token, &ny_root).await.status, StatusCode::FORBIDDEN);
    let r = deactivate(&app, &oa_token, &oa).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(deactivate(&app, &oa_token, &ny_user).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &oa_token, &ny_user).await.status, StatusCode::OK);

    // Firm administrator: their firm only (404 outside), never themselves.
    for outside in [&b_user, &ny_user, &plain] {
        assert_eq!(
            deactivate(&app, &fa_token, outside).await.status,
            StatusCode::NOT_FOUND,
            "{outside}"
        );
    }
    let r = deactivate(&app, &fa_token, &fa).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(deactivate(&app, &fa_token, &a_user).await.status, StatusCode::OK);
    // Outside its scope it cannot reactivate either.
    assert_eq!(deactivate(&app, &app.admin, &b_user).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &fa_token, &b_user).await.status, StatusCode::NOT_FOUND);
    assert!(!is_active(&app, &b_user).await);

    // A user without administration deactivates nobody, themselves included.
    assert_eq!(deactivate(&app, &plain_token, &ny_user).await.status, StatusCode::NOT_FOUND);
    assert_eq!(deactivate(&app, &plain_token, &plain).await.status, StatusCode::FORBIDDEN);
    for id in [&ldn_user, &ny_root, &oa, &fa, &ny_user, &plain, &app.admin_id] {
        assert!(is_active(&app, id).await, "{id}");
    }
    // The company system administrator reaches everyone (D8).
    assert_eq!(deactivate(&app, &app.admin, &ldn_user).await.status, StatusCode::OK);
    assert_eq!(deactivate(&app, &app.admin, &ny_root).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------- D7

/// `tracker users purge EMAIL` against the test's database, while the
/// server keeps running (and writing) beside it.
async fn purge(app: &TestApp, email: &str) -> std::process::Output {
    app.cli(&["users", "purge", email]).await
}

#[tokio::test]
async fn purge_removes_only_never_activated_accounts_that_nothing_refers_to() {
    let app = spawn_app().await;
    let mistake = app.company_user("mistake@company.example", "company_user", None).await;
    let activated = app.company_user("real@company.example", "company_user", None).await;
    app.password_for(&activated, "real@company.example").await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let invited = app.company_user("invited@company.example", "company_user", None).await;
    let m = app.matter("PURGE-1", &lead).await;
    participant(&app, &m, &invited, "matter_reader", true).await;
    let before = app.user_count().await;

    let out = purge(&app, "MISTAKE@company.example").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("mistake@company.example"), "{stdout}");
    assert_eq!(app.user_count().await, before - 1);
    assert_eq!(
        app.get(&format!("/api/v1/users/{mistake}"), &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    let entries = app.audit("action=user.purged").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0]["target_id"].as_str(), entries[0]["before"]["email"].as_str()),
        (Some(mistake.as_str()), Some("mistake@company.example"))
    );
    // Its earlier history stays (D1).
    assert!(!app.audit(&format!("target_id={mistake}&action=user.created")).await.is_empty());
    // The address is free again.
    app.company_user("mistake@company.example", "company_user", None).await;

    for (email, why) in [
        ("real@company.example", "activated"),
        ("invited@company.example", "matter participant"),
        ("lead@company.example", "lead company person"),
        ("nobody@company.example", "not found"),
    ] {
        let out = purge(&app, email).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{email} must not be purged");
        assert!(stderr.contains(email) && stderr.contains(why), "{email}: {stderr}");
    }
    assert_eq!(app.user_count().await, before);
    assert_eq!(app.audit("action=user.purged").await.len(), 1);
}

#[tokio::test]
async fn a_never_activated_account_is_repurposed_by_editing_but_an_activated_one_loses_its_password_and_sessions() {
    let app = spawn_app().await;
    let wrong = app.company_user("jon.smyth@company.example", "company_user", None).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{wrong}"),
            &app.admin,
            json!({"email": "jane.smith@company.example", "first_name": "Jane", "last_name": "Smith"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["email"].as_str(),
            r.body["first_name"].as_str(),
            r.body["last_name"].as_str()
        ),
        (Some("jane.smith@company.example"), Some("Jane"), Some("Smith"))
    );
    assert_eq!(
        (r.body["activated"].as_bool(), r.body["active"].as_bool()),
        (Some(false), Some(true))
    );
    // The old address is free; the re-purposed account can be activated.
    app.company_user("jon.smyth@company.example", "company_user", None).await;
    app.password_for(&wrong, "jane.smith@company.example").await;

    let u = app.company_user("old@company.example", "company_user", None).await;
    let token = app.password_for(&u, "old@company.example").await;
    let r = app
        .patch(&format!("/api/v1/users/{u}"), &app.admin, json!({"email": "new@company.example"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    for email in ["old@company.example", "new@company.example"] {
        let r = app.try_sign_in(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{email}: the old password is unusable");
    }
    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let mail = tx.mail_for_user(&domain::UserId::from(u.as_str()), 10).await.unwrap();
    drop(tx);
    assert!(
        mail.iter().any(|m| m.kind == "password_reset"
            && ["queued", "sending", "sent"].contains(&m.status.as_str())
            && m.to_address == "new@company.example"),
        "a fresh link goes to the new address: {mail:?}"
    );
    // Changing only the case of the address is no change of address.
    let v = app.company_user("case@company.example", "company_user", None).await;
    let v_token = app.password_for(&v, "case@company.example").await;
    assert_eq!(
        app.patch(&format!("/api/v1/users/{v}"), &app.admin, json!({"email": "Case@Company.example"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/v1/me", &v_token).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------- D9

#[tokio::test]
async fn bulk_update_moves_the_lead_of_open_matters_then_deactivation_succeeds() {
    let app = spawn_app().await;
    let from = app.company_user("from@company.example", "company_user", None).await;
    let to = app.company_user("to@company.example", "company_user", None).await;
    let someone = app.company_user("someone@company.example", "company_user", None).await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    assert_eq!(deactivate(&app, &app.admin, &gone).await.status, StatusCode::OK);
    let (_, fa) = app.firm("Eta LLP", "admin@eta.example").await;
    let m1 = app.matter("BULK-1", &from).await;
    let m2 = app.matter("BULK-2", &from).await;
    let m3 = app.matter("BULK-3", &from).await;
    assert_eq!(
        patch_matter(&app, &m3, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );
    let closed = app.matter("BULK-4", &from).await;
    assert_eq!(
        patch_matter(&app, &closed, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let not_theirs = app.matter("BULK-5", &someone).await;
    let url = "/api/v1/bulk-update/lead-company-person";

    for (body, code) in [
        (json!({"from_user_id": from, "to_user_id": fa}), "not_company_user"),
        (json!({"from_user_id": from, "to_user_id": gone}), "user_inactive"),
        (json!({"from_user_id": from, "to_user_id": from}), "same_user"),
        (
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [closed]}),
            "not_led_by_user",
        ),
        (
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [m1, not_theirs]}),
            "not_led_by_user",
        ),
        (json!({"from_user_id": from, "to_user_id": to, "matter_ids": []}), "required"),
    ] {
        let r = app.post(url, &app.admin, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, code), "{body}: {}", r.body);
    }
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}"), &app.admin).await.body["lead_company_person_id"],
        from.as_str(),
        "a refused bulk update changes nothing"
    );
    let from_token = app.password_for(&from, "from@company.example").await;
    assert_eq!(
        app.post(url, &from_token, json!({"from_user_id": from, "to_user_id": to}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The listed matters only (a matter listed twice moves once).
    let r = app
        .post(
            url,
            &app.admin,
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [m1, m1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["updated"].as_i64(), r.body["matter_ids"].clone()), (Some(1), json!([m1])));
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m2}"), &app.admin).await.body["lead_company_person_id"],
        from.as_str()
    );
    // All the remaining open ones, the closed one untouched.
    let r = app.post(url, &app.admin, json!({"from_user_id": from, "to_user_id": to})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["updated"], 2);
    let mut moved: Vec<String> = r.body["matter_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    moved.sort();
    assert_eq!(moved, sorted(&[&m2, &m3]));
    for m in [&m1, &m2, &m3] {
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
            to.as_str()
        );
        let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body;
        let row = parts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == to.as_str())
            .expect("the new lead takes part")
            .clone();
        assert_eq!(row["role"], "matter_administrator");
        assert!(
            parts["items"].as_array().unwrap().iter().any(|p| p["user_id"] == from.as_str()),
            "the former lead stays a participant"
        );
    }
    let c = app.get(&format!("/api/v1/matters/{closed}"), &app.admin).await.body;
    assert_eq!(
        (c["lead_company_person_id"].as_str(), c["open"].as_bool()),
        (Some(from.as_str()), Some(false))
    );
    let entries = app.audit("action=matter.lead_reassigned").await;
    let mut targets: Vec<String> = entries.iter().map(|e| e["target_id"].as_str().unwrap().to_owned()).collect();
    targets.sort();
    assert_eq!(targets, sorted(&[&m1, &m2, &m3]));
    for e in &entries {
        assert_eq!(
            (
                e["before"]["lead_company_person_id"].as_str(),
                e["after"]["lead_company_person_id"].as_str()
            ),
            (Some(from.as_str()), Some(to.as_str()))
        );
        assert_eq!(e["actor_id"], app.admin_id.as_str());
    }
    // Nothing left to move.
    let r = app.post(url, &app.admin, json!({"from_user_id": from, "to_user_id": to})).await;
    assert_eq!(r.body["updated"], 0, "{}", r.body);

    assert_clear(&app, &app.admin, &from).await;
    assert_eq!(deactivate(&app, &app.admin, &from).await.status, StatusCode::OK);
}

// ------------------------------------------------------------------- R1/R3

#[tokio::test]
async fn reactivation_restores_sign_in_every_participation_with_its_role_and_delegations_both_ways() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let u = app.company_user("back@company.example", "company_user", None).await;
    let u_token = app.password_for(&u, "back@company.example").await;
    let boss = app.company_user("boss@company.example", "company_user", None).await;
    let boss_token = app.password_for(&boss, "boss@company.example").await;
    let helper = app.company_user("helper@company.example", "company_user", None).await;
    let helper_token = app.password_for(&helper, "helper@company.example").await;
    let m1 = app.matter("R1-1", &lead).await;
    let m2 = app.matter("R1-2", &lead).await;
    let boss_matter = app.matter("R1-3", &lead).await;
    participant(&app, &m1, &u, "matter_editor", false).await;
    participant(&app, &m2, &u, "report_only", true).await;
    participant(&app, &boss_matter, &boss, "matter_reader", true).await;
    // u delegates to helper; boss delegates to u.
    assert_eq!(
        app.put("/api/v1/me/delegates", &u_token, json!({"delegate_ids": [helper]}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.put("/api/v1/me/delegates", &boss_token, json!({"delegate_ids": [u]}))
            .await
            .status,
        StatusCode::OK
    );
    let everything = sorted(&[&m1, &m2, &boss_matter]);
    assert_eq!(ids(&app.get("/api/v1/me/matters", &u_token).await.body["items"]), everything);
    let roles_before = app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body;

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/matters", &helper_token).await.body["total"], 0);
    // While inactive, the delegations are still recorded, with the flag.
    let d = app.get(&format!("/api/v1/users/{boss}/delegates"), &app.admin).await.body;
    assert_eq!(
        (d["delegates"][0]["id"].as_str(), d["delegates"][0]["active"].as_bool()),
        (Some(u.as_str()), Some(false)),
        "{d}"
    );

    let r = reactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["active"].as_bool(), r.body["deactivated_at"].clone()),
        (Some(true), Value::Null)
    );
    assert_eq!(
        app.get("/api/v1/me", &u_token).await.status,
        StatusCode::UNAUTHORIZED,
        "old sessions stay ended"
    );
    let token = app.sign_in("back@company.example", PASSWORD).await;
    assert_eq!(ids(&app.get("/api/v1/me/matters", &token).await.body["items"]), everything);
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body,
        roles_before,
        "same roles and flags"
    );
    let p2 = app.get(&format!("/api/v1/matters/{m2}/participants"), &app.admin).await.body;
    let row = p2["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == u.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            row["role"].as_str(),
            row["receives_notifications"].as_bool(),
            row["user_deactivated"].as_bool()
        ),
        (Some("report_only"), Some(true), Some(false))
    );
    let d = app.get(&format!("/api/v1/users/{u}/delegates"), &app.admin).await.body;
    assert_eq!(
        (ids(&d["delegates"]), ids(&d["delegators"])),
        (vec![helper.clone()], vec![boss.clone()])
    );
    let mine = app.get("/api/v1/me/delegates", &token).await.body;
    assert_eq!(
        (ids(&mine["delegates"]), ids(&mine["delegators"])),
        (vec![helper.clone()], vec![boss.clone()])
    );
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &helper_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );
    // u may again be made lead.
    assert_eq!(
        patch_matter(&app, &m1, json!({"lead_company_person_id": u})).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn history_shows_deactivation_and_reactivation_with_actor_and_time() {
    let app = spawn_app().await;
    let office = app.office("Paris").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let u = app.company_user("u@company.example", "company_user", Some(&office)).await;
    assert_eq!(deactivate(&app, &oa_token, &u).await.status, StatusCode::OK);
    app.advance_clock(60_000).await;
    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);

    let items = user_actions(&app, &u).await;
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["user.reactivated", "user.deactivated"], "newest first: {actions:?}");
    assert!(actions.contains(&"user.created"), "{actions:?}");
    let (re, de) = (&items[0], &items[1]);
    assert_eq!(
        (de["actor_id"].as_str(), de["actor"].as_str()),
        (Some(oa.as_str()), Some("oa@company.example"))
    );
    assert_eq!(
        (re["actor_id"].as_str(), re["actor"].as_str()),
        (Some(app.admin_id.as_str()), Some(ADMIN_EMAIL))
    );
    assert_eq!(
        (de["before"]["active"].as_bool(), de["after"]["user"]["active"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (re["before"]["active"].as_bool(), re["after"]["active"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(
        re["at"].as_str().unwrap() > de["at"].as_str().unwrap(),
        "{} vs {}",
        re["at"],
        de["at"]
    );
    // The office administrator may read it too.
    assert_eq!(
        app.get(&format!("/api/v1/users/{u}/history"), &oa_token).await.body["items"],
        Value::Array(items)
    );
}

#[tokio::test]
async fn a_refused_deactivation_rolls_back_the_other_edits_of_the_same_request() {
    let app = spawn_app().await;
    let office = app.office("Rome").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let u = app.company_user("u@company.example", "company_user", Some(&office)).await;
    let m = app.matter("RB-1", &u).await;
    // D3 binds an office administrator too.
    assert_blocked(&app, &oa_token, &u, &expect(&[("lead_company_person", &m)])).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{u}"),
            &oa_token,
            json!({"active": false, "first_name": "Changed", "email": "changed@company.example"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "deactivation_blocked"), "{}", r.body);
    let now = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_eq!(
        (now["first_name"].as_str(), now["email"].as_str(), now["active"].as_bool()),
        (Some("Test"), Some("u@company.example"), Some(true))
    );
    assert!(app.audit(&format!("target_id={u}&action=user.updated")).await.is_empty());
}

#[tokio::test]
async fn matter_notifications_skip_a_deactivated_participant_and_their_delegates() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let p = app.company_user("p@company.example", "company_user", None).await;
    let p_token = app.password_for(&p, "p@company.example").await;
    let u = app.company_user("u@company.example", "company_user", None).await;
    let u_token = app.password_for(&u, "u@company.example").await;
    let p_delegate = app.company_user("pd@company.example", "company_user", None).await;
    let u_delegate = app.company_user("ud@company.example", "company_user", None).await;
    let m = app.matter("NOTE-1", &lead).await;
    participant(&app, &m, &p, "matter_editor", true).await;
    participant(&app, &m, &u, "matter_editor", true).await;
    for (token, d) in [(&p_token, &p_delegate), (&u_token, &u_delegate)] {
        let r = app.put("/api/v1/me/delegates", token, json!({"delegate_ids": [d]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );

    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let mut closed_for = Vec::new();
    for (name, id) in [("lead", &lead), ("p", &p), ("u", &u), ("pd", &p_delegate), ("ud", &u_delegate)] {
        let mail = tx.mail_for_user(&domain::UserId::from(id.as_str()), 50).await.unwrap();
        if mail
            .iter()
            .any(|m| m.kind == "matter_closed" && m.status != store::MailStatus::Cancelled)
        {
            closed_for.push(name);
        }
    }
    assert_eq!(
        closed_for,
        ["lead", "p", "pd"],
        "M2/M3/D2: nothing to the inactive user or through them"
    );
}
