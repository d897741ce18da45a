//! SPEC §5b at its edges: a deactivation by other means settles a stored
//! plan; offboarding against concurrent office and route edits (lock
//! order: plan, users, then offices and routes — never a deadlock, always
//! a consistent result), paused deterministically and randomized.

use crate::helpers::*;
use app::hooks::Point;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

/// A deactivation through `PATCH /users/{id}` (or by the directory) while
/// a plan is stored cancels the plan in the same transaction (audited,
/// with the reason); a reactivation brings no plan back, and a new one can
/// be stored.
#[tokio::test]
async fn offboard_a_direct_deactivation_cancels_the_stored_plan() {
    let app = spawn_app().await;
    let leaving = app.company_user("plan-then-patch@company.example", "company_user", None).await;
    let successor = app.company_user("plan-heir@company.example", "company_user", None).await;
    let at = now_ms() + 5 * DAY_MS;
    let r = app
        .post(
            &format!("/api/v1/users/{leaving}/offboard"),
            &app.admin,
            json!({"default_successor_id": successor, "effective_at": rfc3339(at)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 1);

    let r = app
        .patch(&format!("/api/v1/users/{leaving}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await.body;
    assert_eq!(list["total"], 0, "{list}");
    let plan = app.get(&format!("/api/v1/users/{leaving}/offboarding-plan"), &app.admin).await.body;
    assert!(plan["scheduled"].is_null(), "{plan}");
    let cancelled = app.audit(&format!("action=user.deactivation_cancelled&target_id={leaving}")).await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["after"]["reason"], "user_deactivated", "{}", cancelled[0]);
    assert_eq!(cancelled[0]["before"]["status"], "scheduled", "{}", cancelled[0]);
    assert_eq!(app.audit(&format!("action=user.deactivated&target_id={leaving}")).await.len(), 1);

    // Back again: no plan, and a new one may be stored.
    let r = app
        .patch(&format!("/api/v1/users/{leaving}"), &app.admin, json!({"active": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 0);
    let r = app
        .post(
            &format!("/api/v1/users/{leaving}/offboard"),
            &app.admin,
            json!({"default_successor_id": successor, "effective_at": rfc3339(at + DAY_MS)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["scheduled"]["status"], "scheduled", "{}", r.body);
    // An edit that deactivates nothing leaves the plan alone.
    let r = app
        .patch(&format!("/api/v1/users/{leaving}"), &app.admin, json!({"first_name": "Still"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 1);

    // The directory deactivating a user with a plan settles it the same way.
    let r = app.post("/api/v1/scim-tokens", &app.admin, json!({"name": "Directory"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let scim = r.body["token"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(&scim),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dora",
                "name": {"givenName": "Dora", "familyName": "Directory"}, "emails": [{"value": "dora@company.example"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dora = r.id();
    let r = app
        .post(
            &format!("/api/v1/users/{dora}/offboard"),
            &app.admin,
            json!({"default_successor_id": successor, "effective_at": rfc3339(at)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 2);
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = app
        .call(Method::PATCH, &format!("/scim/v2/Users/{dora}"), Some(&scim), Some(off))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await.body;
    assert_eq!(list["total"], 1, "only the other plan is left: {list}");
    assert_eq!(list["items"][0]["user"]["id"], leaving.as_str(), "{list}");
    let cancelled = app.audit(&format!("action=user.deactivation_cancelled&target_id={dora}")).await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
}

/// A leaving coordinator and primary approver, their successor, and
/// another user. Returns (leaving, successor, other, office, route).
async fn positions(app: &TestApp, tag: &str) -> (String, String, String, String, String) {
    let leaving = app
        .company_user(&format!("leaves-{tag}@company.example"), "company_user", None)
        .await;
    let successor = app.company_user(&format!("heir-{tag}@company.example"), "company_user", None).await;
    let other = app
        .company_user(&format!("other-{tag}@company.example"), "company_user", None)
        .await;
    let r = app
        .post(
            "/api/v1/offices",
            &app.admin,
            json!({"name": format!("Office {tag}"), "coordinator_id": leaving}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let office = r.id();
    let r = app
        .post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": format!("Route {tag}"), "levels": [{"primary_approver_id": leaving}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (leaving, successor, other, office, r.id())
}

/// Everyone named in an office and a route.
async fn holders(app: &TestApp, office: &str, route: &str) -> Vec<String> {
    let o = app.get(&format!("/api/v1/offices/{office}"), &app.admin).await.body;
    let r = app.get(&format!("/api/v1/approval-routes/{route}"), &app.admin).await.body;
    let mut out: Vec<String> = [&o["coordinator_id"], &o["backup_coordinator_id"]]
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for l in r["levels"].as_array().unwrap() {
        out.extend(
            [&l["primary_approver_id"], &l["alternate_approver_id"]]
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned)),
        );
        out.extend(l["delegate_ids"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()));
    }
    out
}

/// Deterministic: an offboarding paused while it holds its locks; an
/// office edit naming the successor and a route edit naming the leaving
/// user come in and wait (users first, as the offboarding took them);
/// released, the offboarding completes, the office edit applies on top of
/// it and the route edit is refused because the user has left. On
/// PostgreSQL the old order (office row, then users) deadlocked here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offboard_race_paused_offboarding_and_edits_of_its_office_and_route() {
    let app = spawn_app().await;
    let (leaving, successor, other, office, route) = positions(&app, "paused").await;
    let hooks = app.running.as_ref().unwrap().app.hooks.clone();
    let (offboard_path, office_path, route_path) = (
        format!("/api/v1/users/{leaving}/offboard"),
        format!("/api/v1/offices/{office}"),
        format!("/api/v1/approval-routes/{route}"),
    );
    let mut paused = hooks.arm(Point::OffboardLocked);
    let offboard = app.post(&offboard_path, &app.admin, json!({"default_successor_id": successor}));
    let edits = async {
        paused.reached().await;
        let office_edit = app.patch(
            &office_path,
            &app.admin,
            json!({"coordinator_id": successor, "backup_coordinator_id": other}),
        );
        let route_edit = app.patch(
            &route_path,
            &app.admin,
            json!({"levels": [{"primary_approver_id": other, "alternate_approver_id": leaving}]}),
        );
        let release = async {
            // Long enough for both edits to reach the locks they wait for.
            tokio::time::sleep(Duration::from_millis(150)).await;
            paused.release();
        };
        let (o, r, ()) = tokio::join!(office_edit, route_edit, release);
        (o, r)
    };
    let (done, (office_edit, route_edit)) = tokio::join!(offboard, edits);
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["user"]["active"], false);
    assert_eq!(done.body["reassigned"], 2, "{}", done.body);
    assert_eq!(office_edit.status, StatusCode::OK, "{}", office_edit.body);
    assert_eq!(office_edit.body["coordinator_id"], successor.as_str());
    assert_eq!(office_edit.body["backup_coordinator_id"], other.as_str());
    assert_eq!(
        (route_edit.status, route_edit.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
        "{}",
        route_edit.body
    );
    let held = holders(&app, &office, &route).await;
    assert!(!held.contains(&leaving), "the user left and holds nothing: {held:?}");
    assert_eq!(held, [successor.clone(), other.clone(), successor.clone()]);
}

/// Every request of every trial sent at once, as the administrator; the
/// answers in the order of the calls.
async fn fire(app: &TestApp, calls: &[Vec<(Method, String, Value)>]) -> Vec<(StatusCode, Value)> {
    let futures = calls.iter().flatten().map(|(method, path, body)| async {
        let r = app.call(method.clone(), path, Some(&app.admin), Some(body.clone())).await;
        (r.status, r.body)
    });
    futures::future::join_all(futures).await
}

/// Randomized: offboardings fired at once with edits of the same offices
/// and routes naming, at random, the successor, the leaving user or
/// someone else. No answer is a server error (a deadlock would be one), and
/// every outcome is consistent: a user who left holds no position, and a
/// user still active was refused for a reason the API names.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offboard_race_randomized_against_office_and_route_edits() {
    const TRIALS: usize = 8;
    let app = spawn_app().await;
    let mut worlds = Vec::new();
    for t in 0..TRIALS {
        worlds.push(positions(&app, &format!("r{t}")).await);
    }
    let pick = |choices: &[&String]| choices[rand::random::<u32>() as usize % choices.len()].clone();
    let mut calls = Vec::new();
    for (leaving, successor, other, office, route) in &worlds {
        let people = [leaving, successor, other];
        let coordinator = pick(&people);
        let backup = pick(&[other, successor]);
        let office_body = if coordinator == backup {
            json!({"coordinator_id": coordinator})
        } else {
            json!({"coordinator_id": coordinator, "backup_coordinator_id": backup})
        };
        let primary = pick(&people);
        let route_body =
            json!({"levels": [{"primary_approver_id": primary}, {"primary_approver_id": pick(&people), "delegate_ids": [pick(&people)]}]});
        let mut trial = vec![
            (
                Method::POST,
                format!("/api/v1/users/{leaving}/offboard"),
                json!({"default_successor_id": successor}),
            ),
            (Method::PATCH, format!("/api/v1/offices/{office}"), office_body),
            (Method::PATCH, format!("/api/v1/approval-routes/{route}"), route_body),
        ];
        // Alternate which request is sent first.
        trial.rotate_left(rand::random::<u32>() as usize % 3);
        calls.push(trial);
    }
    let answers = fire(&app, &calls).await;
    for (trial, answers) in calls.iter().zip(answers.chunks(3)) {
        for ((method, path, _), (status, body)) in trial.iter().zip(answers) {
            assert!(!status.is_server_error(), "{method} {path}: {status} {body}");
            let code = body["error"]["code"].as_str().unwrap_or("");
            if path.ends_with("/offboard") {
                // Whatever the edits did first, the default successor can
                // take (or vacate) every position the plan finds.
                assert_eq!(*status, StatusCode::OK, "{path}: {body}");
            } else {
                assert!(status.is_success() || code == "user_inactive", "{method} {path}: {status} {body}");
            }
        }
    }
    let mut edits_refused = 0;
    for ((leaving, _, _, office, route), answers) in worlds.iter().zip(answers.chunks(3)) {
        let u = app.get(&format!("/api/v1/users/{leaving}"), &app.admin).await.body;
        assert_eq!(u["active"], false, "{u}");
        let held = holders(&app, office, route).await;
        assert!(!held.contains(leaving), "a user who left holds nothing: {held:?}");
        edits_refused += answers.iter().filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY).count();
    }
    // Which way each race went: an edit naming the user after they left is refused.
    println!("{edits_refused} edits refused (the user had left) in {TRIALS} trials");
}

/// O2/S9 on PostgreSQL: an offboarding racing edits of the matters the
/// leaving user leads — a new lead, a participant added — never deadlocks
/// (matter changes lock the people they name before the matter, as
/// offboarding does), and the leaving user ends up leading nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offboard_race_randomized_against_matter_edits() {
    const TRIALS: usize = 8;
    let app = spawn_app().await;
    let mut worlds = Vec::new();
    for t in 0..TRIALS {
        let leaving = app.company_user(&format!("leads-m{t}@company.example"), "company_user", None).await;
        let successor = app.company_user(&format!("heir-m{t}@company.example"), "company_user", None).await;
        let other = app.company_user(&format!("other-m{t}@company.example"), "company_user", None).await;
        let matter = app.matter(&format!("RACE-{t}"), &leaving).await;
        worlds.push((leaving, successor, other, matter));
    }
    let pick = |choices: &[&String]| choices[rand::random::<u32>() as usize % choices.len()].clone();
    let mut calls = Vec::new();
    for (leaving, successor, other, matter) in &worlds {
        let mut trial = vec![
            (
                Method::POST,
                format!("/api/v1/users/{leaving}/offboard"),
                json!({"default_successor_id": successor}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/matters/{matter}"),
                json!({"lead_company_person_id": pick(&[successor, other])}),
            ),
            (
                Method::POST,
                format!("/api/v1/matters/{matter}/participants"),
                json!({"user_id": pick(&[successor, other]), "role": "matter_reader", "receives_notifications": false}),
            ),
        ];
        trial.rotate_left(rand::random::<u32>() as usize % 3);
        calls.push(trial);
    }
    let answers = fire(&app, &calls).await;
    for (trial, answers) in calls.iter().zip(answers.chunks(3)) {
        for ((method, path, body_sent), (status, body)) in trial.iter().zip(answers) {
            assert!(!status.is_server_error(), "{method} {path} {body_sent}: {status} {body}");
            let code = body["error"]["code"].as_str().unwrap_or("");
            if path.ends_with("/offboard") {
                assert_eq!(*status, StatusCode::OK, "{path}: {body}");
            } else {
                // A lead already made a participant is refused a lesser role.
                assert!(
                    status.is_success() || code == "lead_must_be_administrator",
                    "{method} {path} {body_sent}: {status} {body}"
                );
            }
        }
    }
    for (leaving, _, _, matter) in &worlds {
        let u = app.get(&format!("/api/v1/users/{leaving}"), &app.admin).await.body;
        assert_eq!(u["active"], false, "{u}");
        let m = app.get(&format!("/api/v1/matters/{matter}"), &app.admin).await.body;
        assert_ne!(m["lead_company_person_id"], leaving.as_str(), "{m}");
    }
}
