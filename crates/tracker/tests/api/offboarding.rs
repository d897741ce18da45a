//! SPEC §5b O1–O3 at the HTTP boundary: the plan lists every kind of
//! responsibility, offboarding hands them all over and deactivates in one
//! step, a bad successor changes nothing, successors get one digest each,
//! and scheduled deactivations run, are cancelled, run when overdue at
//! start-up and refuse when a successor left before the date.

use crate::helpers::*;
use crate::onboarding::{app_with_sink, settle, to};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::message::parse;

const DAY_MS: i64 = 86_400_000;

async fn plan(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}/offboarding-plan"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// `key → (kind, blocking, suggested)` of a plan.
fn items(plan: &Value) -> BTreeMap<String, (String, bool, Option<String>)> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert!(i["target"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{i}");
            assert!(i["target"]["type"].is_string() && i["target"]["id"].is_string(), "{i}");
            (
                i["key"].as_str().unwrap().to_owned(),
                (
                    i["kind"].as_str().unwrap().to_owned(),
                    i["blocking"].as_bool().unwrap(),
                    i["suggested_successor_id"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect()
}

async fn user(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A company user holding one of every kind of responsibility, and the
/// people around them. Returns (leaving, named ids).
struct World {
    leaving: String,
    ids: BTreeMap<&'static str, String>,
}

async fn world(app: &TestApp) -> World {
    let mut ids = BTreeMap::new();
    let leaving = app.company_user("leaving@company.example", "company_user", None).await;
    for name in [
        "backup",
        "coord",
        "alternate",
        "primary",
        "other_lead",
        "delegate",
        "delegator",
        "successor",
    ] {
        let id = app.company_user(&format!("{name}@company.example"), "company_user", None).await;
        ids.insert(name, id);
    }
    // Lead of two open matters and one closed one (which is nobody's concern).
    let m1 = app.matter("OB-1", &leaving).await;
    let m2 = app.matter("OB-2", &leaving).await;
    let closed = app.matter("OB-3", &leaving).await;
    let r = app
        .patch(
            &format!("/api/v1/matters/{closed}"),
            &app.admin,
            json!({"open_for_editing": false, "open_for_invoicing": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A participant (editor) of someone else's open matter.
    let m4 = app.matter("OB-4", &ids["other_lead"]).await;
    let r = app
        .post(
            &format!("/api/v1/matters/{m4}/participants"),
            &app.admin,
            json!({"user_id": leaving, "role": "matter_editor", "receives_notifications": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Coordinator (with a backup) of one office, backup of another.
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": "Paris", "coordinator_id": leaving, "backup_coordinator_id": ids["backup"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("paris", r.id());
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": "Lyon", "coordinator_id": ids["coord"], "backup_coordinator_id": leaving}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("lyon", r.id());
    // Primary (with an alternate) on level 1, alternate on level 2, delegate on level 3.
    let r = app
        .post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": "Invoices", "levels": [
                {"primary_approver_id": leaving, "alternate_approver_id": ids["alternate"]},
                {"primary_approver_id": ids["primary"], "alternate_approver_id": leaving},
                {"primary_approver_id": ids["primary"], "delegate_ids": [leaving]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ids.insert("route", r.id());
    // Delegations both ways, and the Tracker Coordinator.
    let t = app.password_for(&leaving, "leaving@company.example").await;
    let r = app
        .put("/api/v1/me/delegates", &t, json!({"delegate_ids": [ids["delegate"]]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = app.password_for(&ids["delegator"], "delegator@company.example").await;
    let r = app.put("/api/v1/me/delegates", &t, json!({"delegate_ids": [leaving]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"tracker_coordinator_id": leaving}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    ids.insert("m1", m1);
    ids.insert("m2", m2);
    ids.insert("m4", m4);
    World { leaving, ids }
}

#[tokio::test]
async fn o1_o2_the_plan_lists_every_kind_and_offboarding_hands_it_all_over_with_one_digest_per_successor() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let ids = &w.ids;
    let (route, paris, lyon) = (&ids["route"], &ids["paris"], &ids["lyon"]);
    let p = plan(&app, &w.leaving).await;
    let got = items(&p);
    let want: BTreeMap<String, (String, bool, Option<String>)> = [
        (format!("lead_company_person:{}", ids["m1"]), ("lead_company_person", true, None)),
        (format!("lead_company_person:{}", ids["m2"]), ("lead_company_person", true, None)),
        (
            format!("office_coordinator:{paris}"),
            ("office_coordinator", true, Some(ids["backup"].clone())),
        ),
        (
            format!("office_backup_coordinator:{lyon}"),
            ("office_backup_coordinator", true, None),
        ),
        (
            format!("route_primary_approver:{route}:1"),
            ("route_primary_approver", true, Some(ids["alternate"].clone())),
        ),
        (
            format!("route_alternate_approver:{route}:2"),
            ("route_alternate_approver", true, None),
        ),
        (format!("participation:{}", ids["m4"]), ("matter_participation", false, None)),
        (format!("delegation_given:{}", ids["delegate"]), ("delegation_given", false, None)),
        (
            format!("delegation_received:{}", ids["delegator"]),
            ("delegation_received", false, None),
        ),
        (format!("route_delegate:{route}:3"), ("route_delegate", false, None)),
        ("tracker_coordinator".to_owned(), ("tracker_coordinator", false, None)),
    ]
    .into_iter()
    .map(|(k, (kind, b, s))| (k, (kind.to_owned(), b, s)))
    .collect();
    assert_eq!(got, want, "{p}");
    assert_eq!(p["can_deactivate"], false);
    let lead_group = p["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "lead_company_person")
        .unwrap()
        .clone();
    assert_eq!(lead_group["count"], 2);
    assert_eq!(lead_group["label"], "Lead company person of 2 open matters");
    // The plan is the same again (stable keys).
    assert_eq!(items(&plan(&app, &w.leaving).await), got);

    // The coordinator goes to the suggested backup; everything else to the default.
    let before = sink.messages().len();
    let r = app
        .post(
            &format!("/api/v1/users/{}/offboard", w.leaving),
            &app.admin,
            json!({"default_successor_id": ids["successor"], "successors": {format!("office_coordinator:{paris}"): ids["backup"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["active"], false);
    assert_eq!(r.body["reassigned"], 11, "{}", r.body);
    assert_eq!(user(&app, &w.leaving).await["active"], false);
    for m in ["m1", "m2"] {
        let m = app.get(&format!("/api/v1/matters/{}", ids[m]), &app.admin).await;
        assert_eq!(m.body["lead_company_person_id"], ids["successor"].as_str(), "{}", m.body);
    }
    let parts = app.get(&format!("/api/v1/matters/{}/participants", ids["m4"]), &app.admin).await;
    let roles: BTreeMap<String, String> = parts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap_or_default().to_owned(),
                p["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles.get(&ids["successor"]).map(String::as_str),
        Some("matter_editor"),
        "{}",
        parts.body
    );
    assert!(roles.contains_key(&w.leaving), "the leaver stays on the matter, deactivated (D2)");
    let o = app.get(&format!("/api/v1/offices/{paris}"), &app.admin).await.body;
    assert_eq!(
        (o["coordinator_id"].as_str(), o["backup_coordinator_id"].as_str()),
        (Some(ids["backup"].as_str()), None),
        "{o}"
    );
    let o = app.get(&format!("/api/v1/offices/{lyon}"), &app.admin).await.body;
    assert_eq!(o["backup_coordinator_id"], ids["successor"].as_str(), "{o}");
    let rt = app.get(&format!("/api/v1/approval-routes/{route}"), &app.admin).await.body;
    assert_eq!(rt["levels"][0]["primary_approver_id"], ids["successor"].as_str(), "{rt}");
    assert_eq!(rt["levels"][1]["alternate_approver_id"], ids["successor"].as_str(), "{rt}");
    assert_eq!(rt["levels"][2]["delegate_ids"], json!([ids["successor"]]), "{rt}");
    let s = app.get("/api/v1/settings", &app.admin).await.body;
    assert_eq!(s["tracker_coordinator_id"], ids["successor"].as_str(), "{s}");
    let d = app
        .get(&format!("/api/v1/users/{}/delegates", ids["successor"]), &app.admin)
        .await
        .body;
    let names = |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect() };
    assert_eq!(names(&d["delegates"]), [ids["delegate"].clone()], "{d}");
    assert_eq!(names(&d["delegators"]), [ids["delegator"].clone()], "{d}");
    // Nothing left: the plan of the deactivated user is empty of blockers.
    assert_eq!(plan(&app, &w.leaving).await["can_deactivate"], true);
    // One audit entry per reassignment, and the offboarding itself.
    let offboarded = app.audit("action=user.offboarded").await;
    assert_eq!(offboarded.len(), 1);
    assert_eq!(app.audit("action=matter.lead_reassigned").await.len(), 2);
    // One digest per successor, never to the leaver.
    settle(&app).await;
    let digests: Vec<_> = sink.messages()[before..]
        .iter()
        .map(|m| parse(&m.data))
        .filter(|m| m.subject.starts_with("You took over"))
        .collect();
    assert_eq!(
        digests.len(),
        2,
        "{:?}",
        digests.iter().map(|d| (&d.to, &d.subject)).collect::<Vec<_>>()
    );
    let mine = to(&sink, "successor@company.example");
    let digest: Vec<_> = mine.iter().filter(|m| m.subject.starts_with("You took over")).collect();
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].subject, "You took over 10 responsibilities from Test leaving");
    assert!(
        digest[0].text.contains("Lead company person of Matter OB-1 (OB-1)"),
        "{}",
        digest[0].text
    );
    assert!(to(&sink, "backup@company.example")
        .iter()
        .any(|m| m.subject == "You took over 1 responsibility from Test leaving"));
    assert!(to(&sink, "leaving@company.example")
        .iter()
        .all(|m| !m.subject.starts_with("You took over")));
}

#[tokio::test]
async fn o2_invalid_successors_are_all_listed_and_nothing_changes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let ids = &w.ids;
    let (_, firm_admin) = app.firm("Outside LLP", "fa@firm.example").await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    let r = app
        .patch(&format!("/api/v1/users/{gone}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let audit_before = app.audit("per_page=500").await.len();
    let r = app
        .post(
            &format!("/api/v1/users/{}/offboard", w.leaving),
            &app.admin,
            json!({"successors": {
                format!("lead_company_person:{}", ids["m1"]): gone,
                "lead_company_person": firm_admin,
                format!("office_backup_coordinator:{}", ids["lyon"]): ids["coord"],
                "no_such_item:1": ids["successor"],
                format!("participation:{}", ids["m4"]): "nobody",
            }}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{}",
        r.body
    );
    let mut problems: Vec<(String, String)> = r.body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect();
    problems.sort();
    let mut want = vec![
        (format!("successors.lead_company_person:{}", ids["m1"]), "user_inactive".to_owned()),
        (
            format!("successors.lead_company_person:{}", ids["m2"]),
            "not_company_user".to_owned(),
        ),
        (
            format!("successors.office_backup_coordinator:{}", ids["lyon"]),
            "same_as_coordinator".to_owned(),
        ),
        ("successors.no_such_item:1".to_owned(), "unknown_item".to_owned()),
        (format!("successors.participation:{}", ids["m4"]), "unknown_user".to_owned()),
        (
            format!("successors.office_coordinator:{}", ids["paris"]),
            "successor_required".to_owned(),
        ),
        (
            format!("successors.route_primary_approver:{}:1", ids["route"]),
            "successor_required".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(problems, want, "{}", r.body);
    // Nothing changed.
    assert_eq!(user(&app, &w.leaving).await["active"], true);
    assert_eq!(app.audit("per_page=500").await.len(), audit_before);
    assert_eq!(items(&plan(&app, &w.leaving).await).len(), 11);
    let m = app.get(&format!("/api/v1/matters/{}", ids["m1"]), &app.admin).await;
    assert_eq!(m.body["lead_company_person_id"], w.leaving.as_str());
    // Out of scope: 404, as for every user route (S7).
    let firm_token = app.password_for(&firm_admin, "fa@firm.example").await;
    let r = app.get(&format!("/api/v1/users/{}/offboarding-plan", w.leaving), &firm_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(&format!("/api/v1/users/{}/offboard", w.leaving), &firm_token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn o1_o2_firm_users_d4_items_and_a_colleague_takes_over() {
    let app = spawn_app().await;
    let (firm, firm_admin) = app.firm("Counsel LLP", "boss@counsel.example").await;
    let lawyer = app.firm_user("lawyer@counsel.example", "firm_user", &firm).await;
    let colleague = app.firm_user("colleague@counsel.example", "firm_user", &firm).await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("FD-1", &lead).await;
    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": lawyer, "role": "billing_only", "receives_notifications": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let key = format!("participation:{m}");
    // A firm administrator is blocked by D4 (and may not add participants).
    let boss = app.password_for(&firm_admin, "boss@counsel.example").await;
    let r = app.get(&format!("/api/v1/users/{lawyer}/offboarding-plan"), &boss).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(items(&r.body)[&key], ("only_firm_user_on_matter".to_owned(), true, None));
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &boss,
            json!({"default_successor_id": colleague}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["fields"][0]["code"], "not_permitted", "{}", r.body);
    // A company system administrator is only warned, and hands it to a colleague.
    assert_eq!(
        items(&plan(&app, &lawyer).await)[&key],
        ("only_firm_user_on_matter".to_owned(), false, None)
    );
    let company = app.company_user("cx@company.example", "company_user", None).await;
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &app.admin,
            json!({"successors": {key.clone(): company}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_same_firm", "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &app.admin,
            json!({"successors": {key: colleague}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reassigned"], 1);
    let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body;
    assert!(
        parts["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user_id"] == colleague.as_str() && p["role"] == "billing_only"),
        "{parts}"
    );
}

async fn schedule(app: &TestApp, id: &str, at_ms: i64, body: Value) -> Value {
    let mut body = body;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000).unwrap();
    body["effective_at"] = json!(at.format(&time::format_description::well_known::Rfc3339).unwrap());
    let r = app.post(&format!("/api/v1/users/{id}/offboard"), &app.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["active"], true);
    assert_eq!(r.body["scheduled"]["status"], "scheduled", "{}", r.body);
    r.body
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn o3_a_scheduled_deactivation_runs_at_its_time_and_a_cancelled_one_does_not() {
    let mut app = spawn_app().await;
    let leaving = app.company_user("soon@company.example", "company_user", None).await;
    let staying = app.company_user("stays@company.example", "company_user", None).await;
    let successor = app.company_user("next@company.example", "company_user", None).await;
    let m = app.matter("SC-1", &leaving).await;
    app.matter("SC-2", &staying).await;
    schedule(&app, &leaving, now_ms() + 2 * DAY_MS, json!({"default_successor_id": successor})).await;
    schedule(&app, &staying, now_ms() + 2 * DAY_MS, json!({"default_successor_id": successor})).await;
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["total"], 2, "{}", list.body);
    assert_eq!(plan(&app, &leaving).await["scheduled"]["status"], "scheduled");
    let r = app
        .delete(&format!("/api/v1/users/{staying}/scheduled-deactivation"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .delete(&format!("/api/v1/users/{staying}/scheduled-deactivation"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 1);
    // Not yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(user(&app, &leaving).await["active"], true);
    app.advance_clock(2 * DAY_MS + 1000).await;
    // Sessions of two days ago have ended (S11).
    app.admin = app.fresh_admin("later-admin@company.example").await;
    wait_until("the plan ran", || async { user(&app, &leaving).await["active"] == false }).await;
    let m = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(m["lead_company_person_id"], successor.as_str());
    assert_eq!(user(&app, &staying).await["active"], true, "the cancelled plan did not run");
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 0);
    // Exactly once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.audit("action=user.offboarded").await.len(), 1);
    assert_eq!(app.audit(&format!("action=user.deactivated&target_id={leaving}")).await.len(), 1);
}

#[tokio::test]
async fn o3_a_successor_deactivated_before_the_date_stops_the_plan_and_the_administrators_are_told() {
    let (mut app, sink) = app_with_sink().await;
    let leaving = app.company_user("later@company.example", "company_user", None).await;
    let successor = app.company_user("heir@company.example", "company_user", None).await;
    let m = app.matter("SF-1", &leaving).await;
    schedule(
        &app,
        &leaving,
        now_ms() + DAY_MS,
        json!({"successors": {"lead_company_person": successor}}),
    )
    .await;
    // The successor leaves first.
    let r = app
        .patch(&format!("/api/v1/users/{successor}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.advance_clock(DAY_MS + 1000).await;
    app.admin = app.fresh_admin("later-admin@company.example").await;
    wait_until("the plan was refused", || async {
        app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["items"][0]["status"] == "failed"
    })
    .await;
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await.body;
    assert!(list["items"][0]["failure"].as_str().unwrap().contains("deactivated"), "{list}");
    assert_eq!(user(&app, &leaving).await["active"], true, "nothing was deactivated");
    let m = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(m["lead_company_person_id"], leaving.as_str(), "nothing was handed over");
    assert_eq!(app.audit("action=user.deactivation_failed").await.len(), 1);
    settle(&app).await;
    let told = to(&sink, ADMIN_EMAIL);
    assert!(
        told.iter().any(|m| m.subject.contains("was not carried out")),
        "{:?}",
        told.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn o3_administrators_are_reminded_of_blocking_items_without_a_successor() {
    let (app, sink) = app_with_sink().await;
    let leaving = app.company_user("remind@company.example", "company_user", None).await;
    app.matter("RM-1", &leaving).await;
    // Five days ahead instead of the default three.
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"offboarding_reminder_days": 5}))
        .await;
    assert_eq!(
        (r.status, &r.body["offboarding_reminder_days"]),
        (StatusCode::OK, &json!(5)),
        "{}",
        r.body
    );
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"offboarding_reminder_days": 0}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
        "{}",
        r.body
    );
    schedule(&app, &leaving, now_ms() + 10 * DAY_MS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settle(&app).await;
    assert!(to(&sink, ADMIN_EMAIL)
        .iter()
        .all(|m| !m.subject.contains("responsibilities without a successor")));
    // Six days on, the plan is four days away: within five, not three.
    app.advance_clock(6 * DAY_MS).await;
    wait_until("the reminder arrived", || async {
        settle(&app).await;
        to(&sink, ADMIN_EMAIL)
            .iter()
            .filter(|m| m.subject.contains("responsibilities without a successor"))
            .count()
            == 1
    })
    .await;
    let r = to(&sink, ADMIN_EMAIL)
        .into_iter()
        .find(|m| m.subject.contains("without a successor"))
        .unwrap();
    assert!(r.text.contains("RM-1"), "{}", r.text);
}

#[tokio::test]
async fn o3_an_overdue_plan_runs_when_the_server_starts() {
    let mut app = spawn_app().await;
    let leaving = app.company_user("overdue@company.example", "company_user", None).await;
    let successor = app.company_user("after@company.example", "company_user", None).await;
    app.matter("OD-1", &leaving).await;
    schedule(&app, &leaving, now_ms() + DAY_MS, json!({"default_successor_id": successor})).await;
    app.running.take().unwrap().shutdown().await.unwrap();
    // While no server runs, the date passes (by a day: no waiting).
    app.sql(&[&format!(
        "UPDATE scheduled_deactivations SET effective_at = effective_at - {} WHERE user_id = '{leaving}'",
        2 * DAY_MS
    )])
    .await
    .unwrap();
    let url = match &app.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}/tracker.db", app.dir.path().display()),
    };
    let again = spawn_app_with(|cfg| cfg.storage.database_url = Some(url)).await;
    wait_until("the overdue plan ran", || async { user(&again, &leaving).await["active"] == false }).await;
    assert_eq!(again.audit("action=user.offboarded").await.len(), 1);
}
