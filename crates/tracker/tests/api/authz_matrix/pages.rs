//! Every page, and the error paths of the forms, against what the API lets
//! each caller see.

use super::*;

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
