//! Issue 4's races: a deactivation of a user and a concurrent change that
//! would make that user a blocker (D3) — or a concurrent deactivation of the
//! only other firm colleague on a matter (D4) — must never both succeed.
//!
//! Everything goes over HTTP, so the test runs unchanged whatever database
//! the server under test uses: on SQLite the single writer serialises the
//! two transactions; on PostgreSQL the row locks taken by the rule checks
//! must do it. Each kind fires all its trials at once behind a barrier, on a
//! multi-threaded runtime, alternating which request is started first.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Barrier;

const TRIALS: usize = 30;
/// At most this many batches of trials, until both orders have occurred.
const BATCHES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// `PATCH /matters/{id}` making U lead of an open matter.
    LeadOfOpenMatter,
    /// `PATCH /matters/{id}` reopening a closed matter U leads.
    ReopenLedMatter,
    /// `PATCH /approval-routes/{id}` adding U as primary approver.
    RoutePrimaryApprover,
    /// `PATCH /offices/{id}` making U coordinator.
    OfficeCoordinator,
}

/// One trial: the user to deactivate, the object the change touches, and
/// the change's request.
struct Trial {
    user: String,
    object: String,
    method: Method,
    path: String,
    body: Value,
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A request to fire: method, path, bearer token, body.
type Request = (Method, String, String, Value);

/// Fires, for every pair, both requests at the same moment. Returns the
/// outcomes in pair order.
async fn fire(app: &TestApp, pairs: Vec<(Request, Request)>) -> Vec<((StatusCode, Value), (StatusCode, Value))> {
    let barrier = Arc::new(Barrier::new(pairs.len() * 2));
    let mut handles = Vec::new();
    for (i, (a, b)) in pairs.into_iter().enumerate() {
        let mut tasks = Vec::new();
        for (method, path, token, body) in [a, b] {
            let (client, url, barrier) = (app.client.clone(), format!("{}{}", app.url, path), barrier.clone());
            tasks.push(async move {
                barrier.wait().await;
                let r = send(client, url, method, Some(token), Some(body)).await;
                (r.status, r.body)
            });
        }
        let second = tasks.pop().unwrap();
        let first = tasks.pop().unwrap();
        // Alternate which of the two is spawned first.
        let (h1, h2) = if i % 2 == 0 {
            let h1 = tokio::spawn(first);
            (h1, tokio::spawn(second))
        } else {
            let h2 = tokio::spawn(second);
            (tokio::spawn(first), h2)
        };
        handles.push((h1, h2));
    }
    let mut out = Vec::new();
    for (h1, h2) in handles {
        out.push((h1.await.unwrap(), h2.await.unwrap()));
    }
    out
}

async fn setup(app: &TestApp, kind: Change, n: usize, other: &str) -> Trial {
    let user = app
        .company_user(&format!("{kind:?}-{n}@company.example").to_lowercase(), "company_user", None)
        .await;
    match kind {
        Change::LeadOfOpenMatter => {
            let m = app.matter(&format!("LEAD-{n}"), other).await;
            Trial {
                user: user.clone(),
                object: m.clone(),
                method: Method::PATCH,
                path: format!("/api/v1/matters/{m}"),
                body: json!({"lead_company_person_id": user}),
            }
        }
        Change::ReopenLedMatter => {
            let m = app.matter(&format!("REOPEN-{n}"), &user).await;
            app.set_matter_open(&m, false).await;
            Trial {
                user,
                object: m.clone(),
                method: Method::PATCH,
                path: format!("/api/v1/matters/{m}"),
                body: json!({"open_for_editing": true}),
            }
        }
        Change::RoutePrimaryApprover => {
            let r = app
                .post(
                    "/api/v1/approval-routes",
                    &app.admin,
                    json!({"name": format!("Route {n}"), "levels": [{"primary_approver_id": other}]}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let id = r.id();
            Trial {
                user: user.clone(),
                object: id.clone(),
                method: Method::PATCH,
                path: format!("/api/v1/approval-routes/{id}"),
                body: json!({"levels": [{"primary_approver_id": other}, {"primary_approver_id": user}]}),
            }
        }
        Change::OfficeCoordinator => {
            let o = app.office(&format!("Office {n}")).await;
            Trial {
                user: user.clone(),
                object: o.clone(),
                method: Method::PATCH,
                path: format!("/api/v1/offices/{o}"),
                body: json!({"coordinator_id": user}),
            }
        }
    }
}

/// Whether, in the final state, `user` holds the role the change gives.
async fn holds_role(app: &TestApp, kind: Change, t: &Trial) -> bool {
    match kind {
        Change::LeadOfOpenMatter | Change::ReopenLedMatter => {
            let m = app.get(&format!("/api/v1/matters/{}", t.object), &app.admin).await.body;
            m["lead_company_person_id"] == t.user.as_str() && m["open"] == true
        }
        Change::RoutePrimaryApprover => {
            let r = app.get(&format!("/api/v1/approval-routes/{}", t.object), &app.admin).await.body;
            r["levels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["primary_approver_id"] == t.user.as_str() || l["alternate_approver_id"] == t.user.as_str())
        }
        Change::OfficeCoordinator => {
            let o = app.get(&format!("/api/v1/offices/{}", t.object), &app.admin).await.body;
            o["coordinator_id"] == t.user.as_str() || o["backup_coordinator_id"] == t.user.as_str()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_and_a_change_making_the_user_a_blocker_never_both_succeed() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    for kind in [
        Change::LeadOfOpenMatter,
        Change::ReopenLedMatter,
        Change::RoutePrimaryApprover,
        Change::OfficeCoordinator,
    ] {
        // Both orders must really happen; a batch in which one side always
        // won proves nothing about the other, so run another.
        let (mut deactivation_won, mut change_won) = (0, 0);
        for batch in 0..BATCHES {
            if deactivation_won > 0 && change_won > 0 {
                break;
            }
            let mut trials = Vec::new();
            for n in batch * TRIALS..(batch + 1) * TRIALS {
                trials.push(setup(&app, kind, n, &other).await);
            }
            let pairs = trials
                .iter()
                .map(|t| {
                    (
                        (
                            Method::PATCH,
                            format!("/api/v1/users/{}", t.user),
                            app.admin.clone(),
                            json!({"active": false}),
                        ),
                        (t.method.clone(), t.path.clone(), app.admin.clone(), t.body.clone()),
                    )
                })
                .collect();
            let outcomes = fire(&app, pairs).await;
            for (t, ((ds, db), (cs, cb))) in trials.iter().zip(&outcomes) {
                let deactivated = ds == &StatusCode::OK;
                let changed = cs == &StatusCode::OK;
                assert!(!(deactivated && changed), "{kind:?}: both succeeded for {}: {db} / {cb}", t.user);
                assert!(
                    deactivated || changed,
                    "{kind:?}: neither succeeded for {}: {ds} {db} / {cs} {cb}",
                    t.user
                );
                if deactivated {
                    deactivation_won += 1;
                } else {
                    change_won += 1;
                }
                if deactivated {
                    assert_eq!(
                        (*cs, code(cb)),
                        (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
                        "{kind:?}: {cb}"
                    );
                } else {
                    assert_eq!((*ds, code(db)), (StatusCode::CONFLICT, "deactivation_blocked"), "{kind:?}: {db}");
                }
                // The final state agrees with who won, and never has an inactive
                // user in a blocking role.
                let active = app.get(&format!("/api/v1/users/{}", t.user), &app.admin).await.body["active"] == true;
                let holds = holds_role(&app, kind, t).await;
                assert_eq!((active, holds), (!deactivated, changed), "{kind:?}: final state of {}", t.user);
                if !active {
                    let c = app
                        .get(&format!("/api/v1/users/{}/deactivation-check", t.user), &app.admin)
                        .await
                        .body;
                    assert_eq!(c["blockers"], json!([]), "{kind:?}: an inactive user is a blocker: {c}");
                }
            }
        }
        eprintln!("{kind:?}: the deactivation won {deactivation_won}, the change won {change_won}");
        assert!(
            deactivation_won > 0 && change_won > 0,
            "{kind:?}: both orders must occur: the deactivation won {deactivation_won}, the change won {change_won}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_firm_colleagues_alone_on_a_matter_are_never_both_deactivated_by_their_firm_administrator() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (firm, fa) = app.firm("Race LLP", "admin@race.example").await;
    let fa_token = app.password_for(&fa, "admin@race.example").await;
    let mut trials = Vec::new();
    for n in 0..TRIALS {
        let a = app.firm_user(&format!("a{n}@race.example"), "firm_user", &firm).await;
        let b = app.firm_user(&format!("b{n}@race.example"), "firm_user", &firm).await;
        let m = app.matter(&format!("PAIR-{n}"), &lead).await;
        for u in [&a, &b] {
            let r = app
                .post(
                    &format!("/api/v1/matters/{m}/participants"),
                    &app.admin,
                    json!({"user_id": u, "role": "matter_editor"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        trials.push((a, b, m));
    }
    let pairs = trials
        .iter()
        .map(|(a, b, _)| {
            (
                (
                    Method::PATCH,
                    format!("/api/v1/users/{a}"),
                    fa_token.clone(),
                    json!({"active": false}),
                ),
                (
                    Method::PATCH,
                    format!("/api/v1/users/{b}"),
                    fa_token.clone(),
                    json!({"active": false}),
                ),
            )
        })
        .collect();
    let outcomes = fire(&app, pairs).await;
    let mut first_won = 0;
    for ((a, b, m), ((sa, ba), (sb, bb))) in trials.iter().zip(&outcomes) {
        let ok = [sa, sb].iter().filter(|s| ***s == StatusCode::OK).count();
        assert_eq!(ok, 1, "exactly one of {a} and {b} is deactivated: {ba} / {bb}");
        first_won += usize::from(*sa == StatusCode::OK);
        let loser = if *sa == StatusCode::OK { bb } else { ba };
        assert_eq!(code(loser), "deactivation_blocked", "{loser}");
        let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body;
        let active_firm_users = parts["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["side"] == "firm" && p["user_deactivated"] == false)
            .count();
        assert_eq!(active_firm_users, 1, "D4: the matter keeps one active user of the firm: {parts}");
    }
    eprintln!("the first colleague's deactivation won {first_won} of {TRIALS}");
    assert!(
        first_won > 0 && first_won < TRIALS,
        "both orders must occur: the first won {first_won} of {TRIALS}"
    );
}
