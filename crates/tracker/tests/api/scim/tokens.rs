//! DIR2: SCIM tokens, and the Directory pages of Settings and the Open
//! offboarding items page.

use super::*;

/// DIR2: made, listed and revoked by a system administrator; shown once;
/// good only under /scim/v2, where no session token works.
#[tokio::test]
async fn scim_tokens_are_shown_once_and_work_only_for_scim() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Entra ID").await;
    let r = scim(&app, Method::GET, "/Users", &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/scim+json");

    let list = app.get("/api/v1/scim-tokens", &app.admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let item = &list.body["items"][0];
    assert_eq!(item["name"], "Entra ID");
    assert!(item.get("token").is_none(), "never shown again: {item}");
    assert!(item["last_used_at"].is_i64(), "the use is recorded: {item}");

    // A session token is no SCIM token, and a SCIM token opens no API.
    scim_error(
        &scim(&app, Method::GET, "/Users", &app.admin, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_eq!(app.get("/api/v1/users", &token).await.status, StatusCode::UNAUTHORIZED);
    scim_error(
        &scim(&app, Method::GET, "/Users", "garbage", None).await,
        StatusCode::UNAUTHORIZED,
        None,
    );

    // Only system administrators manage tokens.
    let office_admin_id = app.company_user("oa@company.example", "company_office_administrator", None).await;
    let oa = app.password_for(&office_admin_id, "oa@company.example").await;
    assert_eq!(
        app.post("/api/v1/scim-tokens", &oa, json!({"name": "x"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get("/api/v1/scim-tokens", &oa).await.status, StatusCode::FORBIDDEN);

    let id = item["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/scim-tokens/{id}"), &app.admin).await.status,
        StatusCode::NO_CONTENT
    );
    scim_error(
        &scim(&app, Method::GET, "/Users", &token, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_eq!(
        app.delete(&format!("/api/v1/scim-tokens/{id}"), &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    let actions: Vec<String> = app
        .audit("")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"scim_token.created".into()) && actions.contains(&"scim_token.revoked".into()),
        "{actions:?}"
    );
}

/// DIR2/DIR3 pages: the Directory section of Settings makes a token and
/// shows it once, lists it with its last use, revokes it; the Open
/// offboarding items page lists what a directory deactivation left. Only
/// system administrators get either.
#[tokio::test]
async fn scim_directory_pages() {
    let app = spawn_app().await;
    let client = no_redirects();
    let cookie = format!("tracker_session={}", app.admin);
    let csrf = web::extract::csrf_token(&app.admin);
    let page = |path: &str, cookie: &str| client.get(format!("{}{path}", app.url)).header("cookie", cookie.to_owned()).send();
    let r = client
        .post(format!("{}/settings/directory/tokens", app.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name=Okta+production&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.unwrap();
    let token = html
        .split("<code>")
        .nth(2)
        .and_then(|s| s.split("</code>").next())
        .expect("the new token on the page")
        .to_owned();
    assert_eq!(
        scim(&app, Method::GET, "/Users", &token, None).await.status,
        StatusCode::OK,
        "the shown token works"
    );
    let html = page("/settings/directory", &cookie).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Okta production") && !html.contains(&token),
        "listed, never shown again"
    );
    let id = app.get("/api/v1/scim-tokens", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = client
        .post(format!("{}/settings/directory/tokens/{id}/revoke", app.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        scim(&app, Method::GET, "/Users", &token, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // DIR1: the group → role mapping, saved from the page like PATCH /settings.
    let post_mapping = |body: String| {
        client
            .post(format!("{}/settings/directory/group-roles", app.url))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{body}&csrf={csrf}"))
            .send()
    };
    let r = post_mapping("group=Tracker+Admins&role=company_system_administrator&group=&role=company_user".into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/settings", &app.admin).await.body["directory_group_roles"],
        json!([{"group": "Tracker Admins", "role": "company_system_administrator"}])
    );
    let html = page("/settings/directory", &cookie).await.unwrap().text().await.unwrap();
    assert!(html.contains("value=\"Tracker Admins\""), "{html}");
    let r = post_mapping("group=Counsel&role=firm_user".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("firm role") && html.contains("value=\"Counsel\""), "{html}");
    assert_eq!(
        app.get("/api/v1/settings", &app.admin).await.body["directory_group_roles"][0]["group"],
        "Tracker Admins"
    );

    // An item to show: the directory deactivates the lead of an open matter.
    let token = scim_token(&app, "Directory").await;
    let r = scim(&app, Method::POST, "/Users", &token, Some(bjensen())).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    app.matter("M-7", &id).await;
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
    assert_eq!(
        scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(off)).await.status,
        StatusCode::OK
    );
    let r = page("/offboarding-items", &cookie).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("lead company person") && html.contains("Matter M-7"), "{html}");

    let oa_id = app.company_user("oa@company.example", "company_office_administrator", None).await;
    let oa = app.password_for(&oa_id, "oa@company.example").await;
    for path in ["/settings/directory", "/offboarding-items"] {
        let r = page(path, &format!("tracker_session={oa}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
}
