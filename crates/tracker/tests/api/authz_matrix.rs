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
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

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

fn no_redirects() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn api_get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn page(app: &TestApp, path: &str, token: Option<&str>, form: Option<&str>) -> (StatusCode, String) {
    let url = format!("{}{path}", app.url);
    let mut req = match form {
        None => no_redirects().get(url),
        Some(body) => {
            let csrf = token.map(web::extract::csrf_token).unwrap_or_default();
            no_redirects()
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!("csrf={csrf}&{body}"))
        }
    };
    if let Some(t) = token {
        req = req.header(COOKIE, format!("tracker_session={t}"));
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The API's `GET` routes with their query variants: each picker purpose of
/// `/people`, for every matter where it takes one.
fn api_routes(world: &World, openapi: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (path, ops) in openapi["paths"].as_object().expect("paths") {
        if ops.get("get").is_none() {
            continue;
        }
        if path == "/api/v1/people" {
            for purpose in [
                "lead",
                "coordinator",
                "approver",
                "tracker_coordinator",
                "delegate",
                "route_delegate",
            ] {
                out.push(format!("{path}?for={purpose}"));
            }
            for id in world.matters.values() {
                for purpose in ["lead", "participant"] {
                    out.push(format!("{path}?for={purpose}&matter_id={id}"));
                }
            }
            continue;
        }
        out.extend(expand(world, &api_template(path)).into_iter().map(|(_, _, p)| p));
    }
    out.push("/api/v1/users?status=all&per_page=500".into());
    out
}

/// Pages, each with the API route that answers for the same thing; `{…}`
/// as in [`expand`].
const PAGES: &[(&str, Option<&str>)] = &[
    ("/", None),
    ("/users", Some("/api/v1/users")),
    ("/users?status=all", Some("/api/v1/users")),
    ("/users/new", Some("/api/v1/users")),
    ("/users/new?side=firm", Some("/api/v1/users")),
    ("/users/email-new-users", Some("/api/v1/new-user-emails/pending")),
    ("/users/{user}", Some("/api/v1/users/{user}")),
    ("/users/{user}/reset-password", Some("/api/v1/users/{user}")),
    ("/users/{user}/history", Some("/api/v1/users/{user}/history")),
    ("/users/{user}/deactivation-check", Some("/api/v1/users/{user}/deactivation-check")),
    ("/matters", Some("/api/v1/matters")),
    ("/matters/new", Some("/api/v1/people?for=lead")),
    ("/matters/new?q=kq", Some("/api/v1/people?for=lead")),
    ("/matters/{matter}", Some("/api/v1/matters/{matter}")),
    ("/matters/{matter}?q=kq", Some("/api/v1/matters/{matter}")),
    ("/matters/{matter}/edit", Some("/api/v1/matters/{matter}")),
    ("/bulk-update/lead-company-person", Some("/api/v1/people?for=lead")),
    ("/bulk-update/lead-company-person?from={user}", Some("/api/v1/people?for=lead")),
    ("/offices", Some("/api/v1/offices")),
    ("/offices/new", Some("/api/v1/people?for=coordinator")),
    ("/offices/{office}", Some("/api/v1/offices/{office}")),
    ("/firms", Some("/api/v1/firms")),
    ("/firms/new", None),
    ("/approval-routes", Some("/api/v1/approval-routes")),
    ("/approval-routes/new", Some("/api/v1/people?for=approver")),
    ("/approval-routes/{route}", Some("/api/v1/approval-routes/{route}")),
    ("/settings", Some("/api/v1/settings")),
    ("/audit", Some("/api/v1/audit")),
    ("/account/preferences", Some("/api/v1/me/delegates")),
];

/// Forms posted with invalid input: their error paths re-render the page.
const FORMS: &[(&str, &str, Option<&str>)] = &[
    (
        "/users/new",
        "side=company&first_name=&last_name=&email=bad&role=company_user",
        Some("/api/v1/users"),
    ),
    (
        "/users/new",
        "side=firm&first_name=&last_name=&email=bad&role=firm_user",
        Some("/api/v1/users"),
    ),
    (
        "/matters/new",
        "name=&number=&lead_company_person_id=",
        Some("/api/v1/people?for=lead"),
    ),
    (
        "/matters/{matter}/edit",
        "name=&number=&lead_company_person_id=",
        Some("/api/v1/matters/{matter}"),
    ),
    (
        "/bulk-update/lead-company-person",
        "from_user_id={user}&to_user_id=",
        Some("/api/v1/people?for=lead"),
    ),
    ("/offices/new", "name=", Some("/api/v1/people?for=coordinator")),
    ("/offices/{office}", "name=", Some("/api/v1/offices/{office}")),
    ("/firms/new", "name=", None),
    ("/approval-routes/new", "name=x&add_level=1", Some("/api/v1/people?for=approver")),
    (
        "/approval-routes/{route}",
        "name=&add_level=1",
        Some("/api/v1/approval-routes/{route}"),
    ),
    ("/settings", "company_name=x&min_length=abc", Some("/api/v1/settings")),
    ("/account/preferences", "delegate=nobody", Some("/api/v1/me/delegates")),
];

/// Every link the navigation can offer, with the API route that answers
/// for the same area (`None`: the area has no `GET` of its own; the page
/// answers for it).
const NAV: &[(&str, Option<&str>)] = &[
    ("/users", Some("/api/v1/users")),
    ("/scheduled-deactivations", Some("/api/v1/scheduled-deactivations")),
    ("/matters", Some("/api/v1/matters")),
    ("/bulk-update/lead-company-person", None),
    ("/offices", Some("/api/v1/offices")),
    ("/firms", Some("/api/v1/firms")),
    ("/approval-routes", Some("/api/v1/approval-routes")),
    ("/settings", Some("/api/v1/settings")),
    ("/audit", Some("/api/v1/audit")),
    ("/account/preferences", Some("/api/v1/me/delegates")),
];

/// The links of a page's main navigation.
fn nav_links(body: &str) -> BTreeSet<String> {
    let Some(start) = body.find(r#"<nav class="sidenav""#) else {
        return BTreeSet::new();
    };
    let nav = &body[start..start + body[start..].find("</nav>").unwrap_or(0)];
    nav.split(r#"href=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn shown(status: StatusCode) -> bool {
    status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY
}

#[tokio::test]
async fn authz_matrix_pages_show_nothing_the_api_hides() {
    let app = spawn_app().await;
    let world = seed(&app).await;
    let (status, doc) = api_get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let openapi: Value = serde_json::from_str(&doc).unwrap();
    let routes = api_routes(&world, &openapi);

    let mut callers: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    for key in CALLERS {
        callers.push((key, Some(world.tokens[key].clone())));
    }

    let mut problems = Vec::new();
    let (mut api_calls, mut page_calls) = (0, 0);
    for (who, token) in &callers {
        let token = token.as_deref();
        // (a) What the API lets this caller see, and how it answers.
        let mut visible = BTreeSet::new();
        let mut api_status = BTreeMap::new();
        for path in &routes {
            let (status, body) = api_get(&app, path, token).await;
            api_calls += 1;
            if status.is_success() {
                visible.extend(found(&world, &body));
            }
            api_status.insert(path.clone(), status);
        }
        // (b) The navigation offers exactly the areas the API (and the
        // area's page) answers for this caller.
        if let Some(token) = token {
            let (status, body) = page(&app, "/matters", Some(token), None).await;
            assert_eq!(status, StatusCode::OK, "{who}: /matters");
            let links = nav_links(&body);
            for (href, api) in NAV {
                let api_allows = match api {
                    Some(api) => api_get(&app, api, Some(token)).await.0.is_success(),
                    None => true,
                };
                let (page_status, _) = page(&app, href, Some(token), None).await;
                let allowed = api_allows && page_status == StatusCode::OK;
                if links.contains(*href) != allowed {
                    problems.push(format!(
                        "{who}: the navigation {} {href}, but the API answers it {} and the page {page_status}",
                        if links.contains(*href) { "links" } else { "does not link" },
                        if api_allows { "(2xx)" } else { "with a refusal" }
                    ));
                }
            }
            let unknown: Vec<&String> = links.iter().filter(|l| !NAV.iter().any(|(h, _)| h == l) && *l != "/").collect();
            assert!(unknown.is_empty(), "{who}: navigation links missing from NAV: {unknown:?}");
        }
        // (c) Every page and form error path.
        let requests = PAGES
            .iter()
            .map(|(t, a)| (*t, None, *a))
            .chain(FORMS.iter().filter(|_| token.is_some()).map(|(t, f, a)| (*t, Some(*f), *a)));
        for (template, form, api) in requests {
            for (placeholder, id, path) in expand(&world, template) {
                let form = form.map(|f| f.replace("{user}", &world.users["cu"]));
                let (status, body) = page(&app, &path, token, form.as_deref()).await;
                page_calls += 1;
                let what = format!("{} {path}", if form.is_some() { "POST" } else { "GET" });
                let leaked: Vec<String> = found(&world, &body).difference(&visible).cloned().collect();
                if !leaked.is_empty() {
                    problems.push(format!("{who}: {what} ({status}) shows {leaked:?}, which the API hides"));
                }
                let Some(api) = api else { continue };
                let api_path = if placeholder.is_empty() {
                    api.to_owned()
                } else {
                    api.replace(placeholder, &id)
                };
                let api = match api_status.get(&api_path) {
                    Some(s) => *s,
                    None => {
                        let (s, _) = api_get(&app, &api_path, token).await;
                        api_status.insert(api_path.clone(), s);
                        s
                    }
                };
                let refused = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
                if shown(status) && refused.contains(&api) {
                    problems.push(format!("{who}: {what} answers {status} where GET {api_path} answers {api}"));
                }
            }
        }
    }
    eprintln!(
        "authz matrix: {} callers, {} API GETs, {} page requests",
        callers.len(),
        api_calls,
        page_calls
    );
    assert!(problems.is_empty(), "S14 violations:\n{}", problems.join("\n"));
}

/// The picker endpoint answers each purpose as the use case that takes the
/// choice would: firm users never get company people, a firm administrator
/// gets their own firm only, and a participant who may not add anyone gets
/// 403 (404 for a matter they cannot reach).
#[tokio::test]
async fn authz_people_pickers_follow_their_consumers() {
    let app = spawn_app().await;
    let world = seed(&app).await;
    let tokens = &world.tokens;
    let (joined, hidden) = (&world.matters["join"], &world.matters["hide"]);
    let people = |r: &Reply| -> BTreeSet<String> {
        r.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items: {}", r.body))
            .iter()
            .map(|p| p["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let ask = |who: &str, query: String| {
        let t = tokens[who].clone();
        let app = &app;
        async move { app.get(&format!("/api/v1/people?{query}"), &t).await }
    };

    // Company people: system administrators choose coordinators, approvers
    // and the Tracker Coordinator; matter creators choose leads.
    for purpose in ["coordinator", "approver", "tracker_coordinator"] {
        let r = ask("csa", format!("for={purpose}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let got = people(&r);
        assert!(
            got.contains(&email("cub")) && !got.iter().any(|e| e.ends_with("@firm.example")),
            "{got:?}"
        );
        for who in ["coa", "cmc", "cu", "fa1", "fu1"] {
            assert_eq!(
                ask(who, format!("for={purpose}")).await.status,
                StatusCode::FORBIDDEN,
                "{who} {purpose}"
            );
        }
    }
    let r = ask("cmc", "for=lead&q=kqc".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(people(&r).iter().all(|e| e.starts_with("kqc") && e.ends_with("@company.example")));
    for who in ["cu", "coa", "fa1", "fu1"] {
        assert_eq!(ask(who, "for=lead".into()).await.status, StatusCode::FORBIDDEN, "{who}");
    }

    // Participants: only who may add them, and never beyond their firm.
    let r = ask("fa1", format!("for=participant&matter_id={joined}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = people(&r);
    assert_eq!(
        got,
        BTreeSet::from([email("fa1"), email("fu1")]),
        "a firm administrator's own firm only"
    );
    assert_eq!(
        ask("cu", format!("for=participant&matter_id={joined}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask("fu1", format!("for=participant&matter_id={joined}")).await.status,
        StatusCode::FORBIDDEN
    );
    for who in ["cu", "cmc", "fa1", "fu1", "coa"] {
        assert_eq!(
            ask(who, format!("for=participant&matter_id={hidden}")).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    assert_eq!(ask("cmc", "for=participant".into()).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Delegates: the caller's own organisation, without the caller.
    let r = ask("fu1", "for=delegate".into()).await;
    assert_eq!(people(&r), BTreeSet::from([email("fa1")]));
    let got = people(&ask("cu", "for=delegate".into()).await);
    assert!(!got.contains(&email("cu")) && got.iter().all(|e| e.ends_with("@company.example") || e == ADMIN_EMAIL));

    // Unreadable queries are 400s in the API's error format, a matter
    // missing or not taken is a 422 on `matter_id`; signed out is 401.
    for q in ["for=everyone", "for=lead&x=1"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.body);
    }
    for q in ["for=participant", "for=delegate&matter_id=x"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.body);
        assert_eq!(r.body["error"]["field"], "matter_id", "{q}");
    }
    for q in ["for=lead&limit=0", "for=lead&limit=501"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.body);
    }
    let r = ask("csa", "for=lead&limit=2".into()).await;
    assert!(
        r.body["items"].as_array().unwrap().len() == 2 && r.body["more"] == true,
        "{}",
        r.body
    );
    let r = app.call(reqwest::Method::GET, "/api/v1/people?for=lead", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
