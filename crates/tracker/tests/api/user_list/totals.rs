//! P1: every kept total equals `COUNT(*)` of the same filters after
//! random changes.

use super::MIN;
use crate::helpers::{spawn_app, user_query, TestApp};
use domain::access::UserScope;
use domain::{FirmId, OfficeId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::json;
use store::{Org, Status};

struct World {
    offices: Vec<String>,
    firms: Vec<String>,
    /// (id, email, side) of every user made by the test.
    users: Vec<(String, String, &'static str)>,
    with_password: Vec<(String, String)>,
    made: usize,
}

/// Every kept total (scope × organisation × status, N3's never-emailed
/// users included) equals `COUNT(*)` of the same filters, read in one
/// snapshot; and the API answers the same totals.
async fn check_totals(app: &TestApp, w: &World, step: &str) {
    let running = app.running.as_ref().unwrap();
    let now = running.app.now();
    let mut scopes = vec![UserScope::All, UserScope::Nothing];
    scopes.extend(w.offices.iter().map(|o| UserScope::Office(OfficeId::from(o.as_str()))));
    scopes.extend(w.firms.iter().map(|f| UserScope::Firm(FirmId::from(f.as_str()))));
    let mut orgs = vec![Org::All, Org::Company, Org::Firms];
    orgs.extend(w.firms.iter().map(|f| Org::Firm(FirmId::from(f.as_str()))));
    let statuses = super::statuses(now);
    let mut tx = running.app.db.read().await.unwrap();
    // SQLite's search documents are an exact copy of what they copy.
    let drift = tx.search_copy_drift().await.unwrap();
    if tx.dialect() == store::Dialect::Sqlite {
        assert_eq!(drift, Some(0), "{step}: search documents differ from their users");
    }
    for scope in &scopes {
        for org in &orgs {
            for status in statuses {
                let q = user_query(scope.clone(), org.clone(), status);
                let kept = tx.user_total(&q).await.unwrap();
                let counted = tx.count_matching_users(&q).await.unwrap();
                assert_eq!(kept, counted, "{step}: {scope:?} {org:?} {status:?}");
            }
        }
    }
    drop(tx);
    // A search counts and pages its matches through those documents; the
    // count through `users` must agree, for every selector.
    for text in ["wilson", "last", "example"] {
        for org in &orgs {
            for status in statuses {
                let mut q = user_query(UserScope::All, org.clone(), status);
                q.q = Some(text.into());
                let page = running.app.db.list_users(&q).await.unwrap();
                let mut tx = running.app.db.read().await.unwrap();
                let counted = tx.count_matching_users(&q).await.unwrap();
                assert_eq!(page.total, counted, "{step}: search {text} {org:?} {status:?}");
                assert_eq!(
                    page.items.len() as i64,
                    counted.min(q.limit),
                    "{step}: search {text} {org:?} {status:?}"
                );
            }
        }
    }
    for (org, status) in [("all", "active"), ("company", "inactive"), ("firms", "all"), ("all", "locked")] {
        let r = app
            .get(&format!("/api/v1/users?org={org}&status={status}&per_page=1"), &app.admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut tx = running.app.db.read().await.unwrap();
        let s = match status {
            "active" => Status::Active,
            "inactive" => Status::Inactive,
            "all" => Status::All,
            _ => Status::Locked(running.app.now()),
        };
        let o = match org {
            "company" => Org::Company,
            "firms" => Org::Firms,
            _ => Org::All,
        };
        let counted = tx.count_matching_users(&user_query(UserScope::All, o, s)).await.unwrap();
        assert_eq!(r.body["total"], counted, "{step}: API total of {org}/{status}");
    }
    let pending = app.get("/api/v1/new-user-emails/pending", &app.admin).await;
    let mut tx = running.app.db.read().await.unwrap();
    let counted = tx
        .count_matching_users(&user_query(UserScope::All, Org::All, Status::NeverEmailed))
        .await
        .unwrap();
    assert_eq!(pending.body["total"], counted, "{step}: N3 total");
}

async fn random_change(app: &TestApp, w: &mut World, rng: &mut StdRng) -> String {
    let pick = |rng: &mut StdRng, w: &World| w.users[rng.gen_range(0..w.users.len())].clone();
    match rng.gen_range(0..12) {
        0..=2 => {
            w.made += 1;
            let hold = rng.gen_bool(0.5);
            if rng.gen_bool(0.6) {
                let email = format!("c{}@company.example", w.made);
                let office = rng.gen_bool(0.7).then(|| w.offices[rng.gen_range(0..w.offices.len())].clone());
                let role = ["company_user", "company_matter_creator", "company_office_administrator"][rng.gen_range(0..3)];
                let office = if role == "company_office_administrator" && office.is_none() {
                    Some(w.offices[0].clone())
                } else {
                    office
                };
                let id = app
                    .create_user(json!({"email": email, "first_name": "Cee", "last_name": format!("Last{}", w.made % 7), "side": "company", "role": role, "office_id": office, "hold_new_user_email": hold}))
                    .await;
                w.users.push((id, email, "company"));
                format!("create company {role}")
            } else {
                let email = format!("f{}@firm.example", w.made);
                let firm = w.firms[rng.gen_range(0..w.firms.len())].clone();
                let id = app
                    .create_user(json!({"email": email, "first_name": "Eff", "last_name": format!("Last{}", w.made % 5), "side": "firm", "firm_id": firm, "role": "firm_user", "hold_new_user_email": hold}))
                    .await;
                w.users.push((id, email, "firm"));
                "create firm user".into()
            }
        }
        3 => {
            let (id, _, _) = pick(rng, w);
            let active = rng.gen_bool(0.5);
            let r = app
                .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": active}))
                .await;
            assert!(r.status.is_success() || r.status == StatusCode::CONFLICT, "{}", r.body);
            format!("active={active}")
        }
        4 => {
            let (id, _, side) = pick(rng, w);
            if side != "company" {
                return "skip".into();
            }
            let office = rng.gen_bool(0.8).then(|| w.offices[rng.gen_range(0..w.offices.len())].clone());
            let change = json!({"office_id": office, "role": "company_user"});
            let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin, change).await;
            assert!(r.status.is_success(), "{}", r.body);
            "office and role".into()
        }
        5 => {
            let (id, email, _) = pick(rng, w);
            let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
            if r.body["active"] == true && r.body["activated"] != true {
                app.password_for(&id, &email).await;
                w.with_password.push((id, email));
            }
            "activate".into()
        }
        6 => {
            let (id, _, _) = pick(rng, w);
            let r = app.post(&format!("/api/v1/users/{id}/new-user-email"), &app.admin, json!({})).await;
            assert!(r.status.is_success() || r.status == StatusCode::CONFLICT, "{}", r.body);
            "send one".into()
        }
        7 => {
            let r = app.post("/api/v1/new-user-emails/send", &app.admin, json!({})).await;
            assert!(r.status.is_success(), "{}", r.body);
            "send all".into()
        }
        8 => {
            if w.with_password.is_empty() {
                return "skip".into();
            }
            let (_, email) = w.with_password[rng.gen_range(0..w.with_password.len())].clone();
            for _ in 0..5 {
                app.call(
                    reqwest::Method::POST,
                    "/api/v1/sessions",
                    None,
                    Some(json!({"email": email, "password": "Wrong-password-1"})),
                )
                .await;
            }
            "lock".into()
        }
        9 => {
            // Names and email: the search index and its copy of them.
            let (id, _, _) = pick(rng, w);
            let n = rng.gen_range(0..1000);
            let r = app
                .patch(
                    &format!("/api/v1/users/{id}"),
                    &app.admin,
                    json!({"first_name": format!("Renamed{n}"), "last_name": format!("Wilson{}", n % 3)}),
                )
                .await;
            assert!(r.status.is_success() || r.status == StatusCode::CONFLICT, "{}", r.body);
            "rename".into()
        }
        10 => {
            // A sign-in moves the user in the last sign-in order.
            if w.with_password.is_empty() {
                return "skip".into();
            }
            let (_, email) = w.with_password[rng.gen_range(0..w.with_password.len())].clone();
            app.call(
                reqwest::Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": email, "password": crate::helpers::PASSWORD})),
            )
            .await;
            "sign in".into()
        }
        _ => {
            // Less than the idle limit of the admin's session; locks last 30 minutes.
            app.advance_clock(rng.gen_range(1..20) * MIN).await;
            "time passes".into()
        }
    }
}

#[tokio::test]
async fn kept_totals_equal_a_count_after_random_changes() {
    let app = spawn_app().await;
    let seed: u64 = std::env::var("TRACKER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("TRACKER_TEST_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let offices = vec![app.office("North").await, app.office("South").await];
    let (f1, a1) = app.firm("Firm One", "one@firm.example").await;
    let (f2, a2) = app.firm("Firm Two", "two@firm.example").await;
    let mut w = World {
        offices,
        firms: vec![f1, f2],
        users: vec![(a1, "one@firm.example".into(), "firm"), (a2, "two@firm.example".into(), "firm")],
        with_password: Vec::new(),
        made: 0,
    };
    check_totals(&app, &w, "start").await;
    for i in 0..60 {
        let what = random_change(&app, &mut w, &mut rng).await;
        check_totals(&app, &w, &format!("step {i} ({what}), seed {seed}")).await;
    }
    // D7: the operator's purge moves the counts too.
    app.company_user("purged@company.example", "company_user", None).await;
    let out = app.cli(&["users", "purge", "purged@company.example"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_totals(&app, &w, "purge").await;
}
