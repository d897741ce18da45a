//! S14: pages enforce exactly the authorization of the API. A world is
//! seeded through the API in which every user, office, firm, matter and
//! route carries a unique sentinel string. For every caller (each role and
//! anonymous) the test crawls every `GET` route of the served OpenAPI
//! document and records which sentinels the API lets that caller see; then
//! it fetches every page (and the error paths of the forms) and fails if a
//! page shows a sentinel the API did not, or answers a page where the API
//! answers 403/404. The navigation of every role links exactly the areas
//! whose API (and page) answer that role.

use crate::helpers::*;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

mod pages;
mod pickers;

/// Every entity's sentinel: unique, and no sentinel contains another.
fn s(key: &str) -> String {
    format!("kq{key}x")
}

struct World {
    users: BTreeMap<&'static str, String>,
    offices: BTreeMap<&'static str, String>,
    firms: BTreeMap<&'static str, String>,
    matters: BTreeMap<&'static str, String>,
    route: String,
    sentinels: Vec<String>,
    /// Signed-in callers of every role.
    tokens: BTreeMap<&'static str, String>,
}

/// The callers: one user of every role.
const CALLERS: [&str; 6] = ["csa", "coa", "cmc", "cu", "fa1", "fu1"];

async fn company(app: &TestApp, key: &str, role: &str, office: Option<&str>) -> String {
    let email = format!("{}@company.example", s(key));
    app.create_user(
        json!({"email": email, "first_name": "Pat", "last_name": s(key), "side": "company", "role": role,
                           "office_id": office, "hold_new_user_email": true}),
    )
    .await
}

async fn firm_member(app: &TestApp, key: &str, role: &str, firm: &str) -> String {
    let email = format!("{}@firm.example", s(key));
    app.create_user(
        json!({"email": email, "first_name": "Lee", "last_name": s(key), "side": "firm", "firm_id": firm, "role": role,
                           "hold_new_user_email": true}),
    )
    .await
}

fn email(key: &str) -> String {
    let domain = if key.starts_with('f') { "firm" } else { "company" };
    format!("{}@{domain}.example", s(key))
}

fn created(r: Reply, what: &str) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{what}: {}", r.body);
    r.id()
}

async fn seed(app: &TestApp) -> World {
    let mut sentinels = Vec::new();
    let mut offices = BTreeMap::new();
    for key in ["offa", "offb"] {
        offices.insert(key, app.office(&format!("Office {}", s(key))).await);
        sentinels.push(s(key));
    }
    let mut firms = BTreeMap::new();
    let mut users = BTreeMap::new();
    for (key, admin) in [("firm1", "fa1"), ("firm2", "fa2")] {
        let r = app
            .post(
                "/api/v1/firms",
                &app.admin,
                json!({"name": format!("Firm {}", s(key)), "administrator": {"email": email(admin), "first_name": "Lee", "last_name": s(admin), "hold_new_user_email": true}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        firms.insert(key, r.id());
        users.insert(admin, r.body["administrator"]["id"].as_str().unwrap().to_owned());
        sentinels.extend([s(key), s(admin)]);
    }
    let (oa, ob) = (offices["offa"].clone(), offices["offb"].clone());
    for (key, role, office) in [
        ("csa", "company_system_administrator", None),
        ("coa", "company_office_administrator", Some(&oa)),
        ("coab", "company_office_administrator", Some(&ob)),
        ("cmc", "company_matter_creator", Some(&oa)),
        ("cu", "company_user", Some(&oa)),
        ("cub", "company_user", Some(&ob)),
    ] {
        users.insert(key, company(app, key, role, office.map(String::as_str)).await);
        sentinels.push(s(key));
    }
    for (key, firm) in [("fu1", "firm1"), ("fu2", "firm2")] {
        users.insert(key, firm_member(app, key, "firm_user", &firms[firm]).await);
        sentinels.push(s(key));
    }
    let u = |k: &str| users[k].clone();
    // Offices' coordinators, the Tracker Coordinator.
    for (office, c, b) in [(&oa, "cmc", None), (&ob, "cub", Some("coab"))] {
        let r = app
            .patch(
                &format!("/api/v1/offices/{office}"),
                &app.admin,
                json!({"coordinator_id": u(c), "backup_coordinator_id": b.map(u)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"tracker_coordinator_id": u("cub")}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A matter the matter creator made and the company user takes part in;
    // the firm administrator administers it too.
    let mut tokens = BTreeMap::new();
    for key in CALLERS {
        tokens.insert(key, app.password_for(&u(key), &email(key)).await);
    }
    let cmc = tokens["cmc"].clone();
    let joined = created(
        app.post(
            "/api/v1/matters",
            &cmc,
            json!({"name": format!("Matter {}", s("mjoin")), "number": s("njoin"), "lead_company_person_id": u("cmc")}),
        )
        .await,
        "joined matter",
    );
    for (who, role) in [("cu", "matter_reader"), ("fu1", "matter_reader"), ("fa1", "matter_administrator")] {
        let r = app
            .post(
                &format!("/api/v1/matters/{joined}/participants"),
                &cmc,
                json!({"user_id": u(who), "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // A matter of office B's people and firm 2 only.
    let hidden = created(
        app.post(
            "/api/v1/matters",
            &app.admin,
            json!({"name": format!("Matter {}", s("mhide")), "number": s("nhide"), "lead_company_person_id": u("cub")}),
        )
        .await,
        "hidden matter",
    );
    let r = app
        .post(
            &format!("/api/v1/matters/{hidden}/participants"),
            &app.admin,
            json!({"user_id": u("fu2"), "role": "matter_reader"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    sentinels.extend([s("mjoin"), s("njoin"), s("mhide"), s("nhide"), s("route")]);
    let route = created(
        app.post(
            "/api/v1/approval-routes",
            &app.admin,
            json!({"name": format!("Route {}", s("route")), "levels": [{"primary_approver_id": u("cub"), "alternate_approver_id": u("coab"), "delegate_ids": [u("fu2")]}]}),
        )
        .await,
        "route",
    );
    let matters = BTreeMap::from([("join", joined), ("hide", hidden)]);
    World {
        users,
        offices,
        firms,
        matters,
        route,
        sentinels,
        tokens,
    }
}

/// What a body reveals: the sentinels it contains.
fn found(world: &World, body: &str) -> BTreeSet<String> {
    let lower = body.to_lowercase();
    world.sentinels.iter().filter(|s| lower.contains(s.as_str())).cloned().collect()
}

/// A path template's concrete paths: `{user}`, `{matter}`, `{office}`,
/// `{firm}` and `{route}` stand for every seeded id of that kind.
fn expand(world: &World, template: &str) -> Vec<(&'static str, String, String)> {
    let kinds: [(&str, Vec<String>); 5] = [
        ("{user}", world.users.values().cloned().collect()),
        ("{matter}", world.matters.values().cloned().collect()),
        ("{office}", world.offices.values().cloned().collect()),
        ("{firm}", world.firms.values().cloned().collect()),
        ("{route}", vec![world.route.clone()]),
    ];
    for (token, ids) in kinds {
        if template.contains(token) {
            return ids.iter().map(|id| (token, id.clone(), template.replace(token, id))).collect();
        }
    }
    vec![("", String::new(), template.to_owned())]
}

/// The OpenAPI path of a route, in the placeholders of [`expand`].
fn api_template(path: &str) -> String {
    let kind = if path.starts_with("/api/v1/users") {
        "{user}"
    } else if path.starts_with("/api/v1/matters") {
        "{matter}"
    } else if path.starts_with("/api/v1/offices") {
        "{office}"
    } else if path.starts_with("/api/v1/firms") {
        "{firm}"
    } else {
        "{route}"
    };
    path.replace("{id}", kind)
}
