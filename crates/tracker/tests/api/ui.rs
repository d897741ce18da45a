//! The web pages over plain HTTP, for what a browser test cannot see well:
//! redirects to sign-in, the CSRF check of every form (S5), 404 outside an
//! administrator's scope (S7), the pages' security headers, the
//! Offboard… page's paging of a large group (O4), and the user list's
//! leaving dates (O3).

use crate::helpers::{now_ms, rfc3339, spawn_app, TestApp, PASSWORD};
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};

/// A client that shows redirects instead of following them.
fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn session_cookie(token: &str) -> String {
    format!("tracker_session={token}")
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    let mut req = client().get(format!("{}{path}", app.url));
    if let Some(t) = token {
        req = req.header(COOKIE, session_cookie(t));
    }
    req.send().await.unwrap()
}

async fn post_form(app: &TestApp, path: &str, cookie: Option<String>, body: &str) -> Response {
    let mut req = client()
        .post(format!("{}{path}", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_page_that_needs_sign_in_sends_there_and_back() {
    let app = spawn_app().await;
    let r = get(&app, "/users?status=inactive", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/sign-in?next=%2Fusers%3Fstatus%3Dinactive");
    let r = get(&app, "/users", Some(&app.admin)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("User list") && html.contains("Change view") && html.contains("Admin Profile"));
}

#[tokio::test]
async fn forms_are_refused_without_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let cookie = Some(session_cookie(&app.admin));
    let fields = "side=company&first_name=Cara&last_name=Csrf&email=cara%40company.example&role=company_user";
    let before = app.user_count().await;
    for body in [
        fields.to_owned(),
        format!("{fields}&csrf=wrong"),
        format!("{fields}&csrf={}", web::extract::csrf_token("another-session")),
    ] {
        let r = post_form(&app, "/users/new", cookie.clone(), &body).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(app.user_count().await, before, "nothing was created");
    let r = post_form(
        &app,
        "/users/new",
        cookie,
        &format!("{fields}&csrf={}", web::extract::csrf_token(&app.admin)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/users");
    assert_eq!(app.user_count().await, before + 1);
}

#[tokio::test]
async fn the_sign_in_form_is_csrf_checked_too() {
    let app = spawn_app().await;
    let body = format!("email=root%40company.example&password={PASSWORD}");
    let r = post_form(&app, "/sign-in", None, &body).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no pre-session cookie, no sign-in");
    // The page sets the pre-session cookie its form's token comes from.
    let page = get(&app, "/sign-in", None).await;
    let set = page.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let pre = set.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = post_form(&app, "/sign-in", Some(pre), &format!("{body}&csrf={csrf}&next=%2Fusers")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/users");
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tracker_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn outside_an_administrators_scope_pages_answer_404() {
    let app = spawn_app().await;
    let (_, firm_admin) = app.firm("Dewey & Partners", "boss@dewey.example").await;
    let token = app.password_for(&firm_admin, "boss@dewey.example").await;
    let r = get(&app, &format!("/users/{}", app.admin_id), Some(&token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Page not found"));
    // What the role may not use at all is not in its navigation either.
    let html = get(&app, "/users", Some(&token)).await.text().await.unwrap();
    assert!(!html.contains("href=\"/settings\"") && !html.contains("href=\"/audit\""));
}

#[tokio::test]
async fn a_signed_out_session_no_longer_opens_pages() {
    let app = spawn_app().await;
    let token = app.sign_in("root@company.example", PASSWORD).await;
    let cookie = session_cookie(&token);
    let r = post_form(
        &app,
        "/sign-out",
        Some(cookie),
        &format!("csrf={}", web::extract::csrf_token(&token)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = get(&app, "/users", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "S6: the session is re-checked on every page");
}

/// A notice crosses a redirect in a cookie the server signs: the page shows
/// its own notice once, and never one whose cookie another site or a shared
/// parent domain planted or edited.
#[tokio::test]
async fn only_the_servers_own_signed_notice_is_shown() {
    let app = spawn_app().await;
    let session = session_cookie(&app.admin);
    let fields = "side=company&first_name=Nora&last_name=Notice&email=nora%40company.example&role=company_user";
    let r = post_form(
        &app,
        "/users/new",
        Some(session.clone()),
        &format!("{fields}&csrf={}", web::extract::csrf_token(&app.admin)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let flash = set
        .iter()
        .find_map(|c| c.strip_prefix("tracker_flash="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("a notice cookie: {set:?}"))
        .to_owned();
    assert!(flash.contains('.'), "the cookie carries its signature: {flash}");

    let page = |cookie: String| {
        let app = &app;
        async move {
            client()
                .get(format!("{}/users", app.url))
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(format!("{session}; tracker_flash={flash}")).await;
    assert!(html.contains("Nora Notice was added"), "the server's notice is shown");

    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let (text, tag) = flash.rsplit_once('.').unwrap();
    let planted = [
        // The format of a notice, unsigned.
        b64("ok:Your account is suspended: call +1 555 0100"),
        // Signed with a key that is not the server's.
        domain::secret::sign(b"another key", &b64("ok:Your account is suspended: call +1 555 0100")),
        // The server's own notice with its text changed.
        format!("{}.{tag}", b64("ok:Your account is suspended: call +1 555 0100")),
        // Its signature moved onto nothing.
        format!(".{tag}"),
        format!("{text}."),
    ];
    for cookie in planted {
        let html = page(format!("{session}; tracker_flash={cookie}")).await;
        assert!(!html.contains("suspended"), "a planted notice is not shown: {cookie}");
        assert!(!html.contains("Nora Notice was added"), "nor a mangled one: {cookie}");
        assert!(html.contains("User list"), "the page itself answers");
    }
}

/// O4: a group of more items than a page shows pickers for every item,
/// a page at a time; choices made on one page are kept on the others; an
/// item past the first page gets its own successor.
#[tokio::test]
async fn offboard_page_every_item_has_a_picker_beyond_the_first_page() {
    let app = spawn_app().await;
    let leaving = app.company_user("many@company.example", "company_user", None).await;
    let group_heir = app.company_user("group-heir@company.example", "company_user", None).await;
    let item_heir = app.company_user("item-heir@company.example", "company_user", None).await;
    app.company_user("bystander@company.example", "company_user", None).await;
    for n in 0..30 {
        app.matter(&format!("MANY-{n:02}"), &leaving).await;
    }
    let plan = app.get(&format!("/api/v1/users/{leaving}/offboarding-plan"), &app.admin).await.body;
    let keys: Vec<String> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 30);
    let (first, late) = (&keys[0], &keys[27]);
    let client = client();
    let cookie = format!("tracker_session={}", app.admin);
    let csrf = web::extract::csrf_token(&app.admin);
    let picker = |key: &str| format!("name=\"s.{key}\"");

    let html = client
        .get(format!("{}/users/{leaving}/offboard", app.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&picker(first)), "the first page has the first item's picker");
    assert!(!html.contains(&picker(late)), "the 28th item is on the next page");
    assert!(html.contains("Items 1–25 of 30"), "the group says what it shows");
    assert!(html.contains("bystander@company.example"), "without a search, everyone is offered");
    assert_eq!(html.matches("name=\"s.lead_company_person:").count(), 25);

    // Next page, with a choice for the first item made on page one.
    let post =
        |path: String, form: Vec<(String, String)>| client.post(format!("{}{path}", app.url)).header(COOKIE, &cookie).form(&form).send();
    let choice = (format!("s.{first}"), item_heir.clone());
    let r = post(
        format!("/users/{leaving}/offboard/items"),
        vec![
            ("csrf".into(), csrf.clone()),
            ("at.lead_company_person".into(), "0".into()),
            ("show".into(), "lead_company_person:25".into()),
            choice.clone(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(&picker(late)), "the second page has the 28th item's picker");
    assert!(
        !html.contains(&format!("<select {}", picker(first))),
        "the first item is not shown…"
    );
    assert!(
        html.contains(&format!("type=\"hidden\" name=\"s.{first}\" value=\"{item_heir}\"")),
        "…but its choice is kept"
    );
    assert!(html.contains("Items 26–30 of 30"));

    // A search from the form keeps what was chosen: the group's successor
    // stays selected though the search for another person leaves them out.
    let r = post(
        format!("/users/{leaving}/offboard/items"),
        vec![
            ("csrf".into(), csrf.clone()),
            ("q".into(), "item-heir".into()),
            ("s.lead_company_person".into(), group_heir.clone()),
            choice.clone(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"item-heir\""), "the search is shown: {html}");
    assert!(
        html.contains(&format!("<option value=\"{group_heir}\" selected>")),
        "the group's choice is kept though the search does not list them"
    );
    assert!(
        html.contains(&format!("<option value=\"{item_heir}\" selected>")),
        "the first item's choice is kept"
    );
    assert!(!html.contains("bystander@company.example"), "the search narrows the pickers");

    // A refused choice for item 28 brings the form back at its page.
    let r = post(
        format!("/users/{leaving}/offboard"),
        vec![
            ("csrf".into(), csrf.clone()),
            ("s.lead_company_person".into(), group_heir.clone()),
            (format!("s.{late}"), leaving.clone()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&picker(late)) && html.contains("Items 26–30 of 30"), "{html}");
    assert!(
        html.contains("someone else than the user who leaves"),
        "the item's problem is shown"
    );

    // Confirm: the group's successor for all, another for item 28 alone.
    let r = post(
        format!("/users/{leaving}/offboard"),
        vec![
            ("csrf".into(), csrf.clone()),
            ("s.lead_company_person".into(), group_heir.clone()),
            (format!("s.{late}"), item_heir.clone()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()[LOCATION], format!("/users/{leaving}").as_str());
    let matter = |key: &str| key.trim_start_matches("lead_company_person:").to_owned();
    let lead = |m: String| {
        let app = &app;
        async move { app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"].clone() }
    };
    assert_eq!(lead(matter(late)).await, item_heir.as_str(), "item 28 went to its own successor");
    assert_eq!(lead(matter(first)).await, group_heir.as_str());
    assert_eq!(lead(matter(&keys[29])).await, group_heir.as_str());
}

/// The row of the user list page `html` that shows `email`.
fn row_of<'h>(html: &'h str, email: &str) -> &'h str {
    html.split("<tr")
        .find(|row| row.contains(email))
        .unwrap_or_else(|| panic!("no row for {email}"))
}

/// O3: the user list shows, on that user's row only, the date a scheduled
/// deactivation takes effect (read with the page), and no longer once it
/// is cancelled.
#[tokio::test]
async fn the_user_list_shows_a_scheduled_leaving_date_on_its_row() {
    let app = spawn_app().await;
    let leaving = app.company_user("leaving@company.example", "company_user", None).await;
    app.company_user("staying@company.example", "company_user", None).await;
    let successor = app.company_user("successor@company.example", "company_user", None).await;
    let at = now_ms() + 3 * 86_400_000;
    let r = app
        .post(
            &format!("/api/v1/users/{leaving}/offboard"),
            &app.admin,
            serde_json::json!({"effective_at": rfc3339(at), "default_successor_id": successor}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let day = &rfc3339(at)[..10];

    let html = get(&app, "/users?sort=email", Some(&app.admin)).await.text().await.unwrap();
    let row = row_of(&html, "leaving@company.example");
    assert!(row.contains(&format!("Leaves on {day}")), "{row}");
    for other in ["staying@company.example", "successor@company.example"] {
        assert!(!row_of(&html, other).contains("Leaves on"), "{}", row_of(&html, other));
    }

    let r = app
        .delete(&format!("/api/v1/users/{leaving}/scheduled-deactivation"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let html = get(&app, "/users?sort=email", Some(&app.admin)).await.text().await.unwrap();
    assert!(!html.contains("Leaves on"), "{}", row_of(&html, "leaving@company.example"));
}
