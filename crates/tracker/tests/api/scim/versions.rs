//! S9 for SCIM: concurrent changes both apply, `If-Match` refuses a stale
//! version, and `meta` moves when a resource changes and only then.

use super::*;

/// Two PATCHes of one resource at once, both with `if_match` when given:
/// the first is held at the directory write until the second is on its
/// way, then released. Both answers, the first's first.
async fn patch_twice_at_once(
    app: &TestApp,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    first: Value,
    second: Value,
) -> (Reply, Reply) {
    let patch = move |body: Value| async move {
        match if_match {
            Some(etag) => scim_if_match(app, Method::PATCH, path, token, etag, Some(body)).await,
            None => scim(app, Method::PATCH, path, token, Some(body)).await,
        }
    };
    let hooks = app.running.as_ref().unwrap().app.hooks.clone();
    let mut paused = hooks.arm(Point::DirectoryWrite);
    let one = patch(first);
    let other = async {
        paused.reached().await;
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            paused.release();
        };
        tokio::join!(patch(second), release).0
    };
    tokio::join!(one, other)
}

/// S9 for SCIM: two PATCHes of one user at once both take effect; with
/// the same If-Match, the second is refused (412).
#[tokio::test]
async fn scim_two_concurrent_updates_of_one_user() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Directory").await;
    let r = scim(&app, Method::POST, "/Users", &token, Some(bjensen())).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let given = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "First"}]});
    let family = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.familyName", "value": "Second"}]});

    let (a, b) = patch_twice_at_once(&app, &path, &token, None, given, family).await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} {}", a.body, b.body);
    let now = scim(&app, Method::GET, &path, &token, None).await.body;
    assert_eq!(now["name"]["givenName"], "First", "{now}");
    assert_eq!(now["name"]["familyName"], "Second", "{now}");

    // Both sent with the version they read: the later one is refused.
    let etag_now = now["meta"]["version"].as_str().unwrap().to_owned();
    assert_ne!(etag, etag_now);
    let fourth = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Fourth"}]});
    let third = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Third"}]});
    let (a, b) = patch_twice_at_once(&app, &path, &token, Some(&etag_now), fourth, third).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    scim_error(&b, StatusCode::PRECONDITION_FAILED, None);
    assert_eq!(
        scim(&app, Method::GET, &path, &token, None).await.body["name"]["givenName"],
        "Fourth"
    );
}

/// DIR1: `meta.lastModified` and `meta.version` move when a resource
/// changes, and only then; two PATCHes of one group at once both apply.
#[tokio::test]
async fn scim_meta_moves_on_change_and_group_patches_race() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Okta").await;
    let bj = provision(&app, &token, "bjensen", "bjensen@example.com").await;
    let user = format!("/Users/{bj}");
    let meta = |b: &Value| {
        let at = b["meta"]["lastModified"].as_str().unwrap();
        (
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap(),
            b["meta"]["version"].as_str().unwrap().to_owned(),
        )
    };
    let r = scim(&app, Method::GET, &user, &token, None).await;
    let (modified, version) = meta(&r.body);
    assert_eq!(r.headers["etag"].to_str().unwrap(), version);
    app.advance_clock(5_000).await;
    assert_eq!(
        meta(&scim(&app, Method::GET, &user, &token, None).await.body),
        (modified, version.clone()),
        "reading changes nothing"
    );
    let r = scim_patch(
        &app,
        &user,
        &token,
        json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]),
    )
    .await;
    let (modified2, version2) = meta(&r.body);
    assert!(modified2 > modified, "{modified} → {modified2}");
    assert_ne!(version2, version);
    // The directory's own attributes count too.
    app.advance_clock(5_000).await;
    let r = scim_patch(
        &app,
        &user,
        &token,
        json!([{"op": "replace", "path": "externalId", "value": "e-9"}]),
    )
    .await;
    let (modified3, version3) = meta(&r.body);
    assert!(modified3 > modified2, "{modified2} → {modified3}");
    assert_ne!(version3, version2);

    let r = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({"schemas": [GROUP], "displayName": "Legal"})),
    )
    .await;
    let group = format!("/Groups/{}", r.body["id"].as_str().unwrap());
    let (g_modified, g_version) = meta(&r.body);
    app.advance_clock(5_000).await;
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": bj}]}]));
    let r = scim(&app, Method::PATCH, &group, &token, Some(add.clone())).await;
    let (g_modified2, g_version2) = meta(&r.body);
    assert!(g_modified2 > g_modified, "{g_modified} → {g_modified2}");
    assert_ne!(g_version2, g_version);
    app.advance_clock(5_000).await;
    let r = scim(&app, Method::PATCH, &group, &token, Some(add)).await;
    assert_eq!(meta(&r.body), (g_modified2, g_version2), "adding a member again changes nothing");

    // S9: two member changes of one group at once both take effect.
    let js = provision(&app, &token, "jsmith", "jsmith@example.com").await;
    let kd = provision(&app, &token, "kdoe", "kdoe@example.com").await;
    let add = |id: &str| ops(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]));
    let (a, b) = patch_twice_at_once(&app, &group, &token, None, add(&js), add(&kd)).await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} {}", a.body, b.body);
    let mut all = vec![bj, js, kd];
    all.sort();
    assert_eq!(members(&scim(&app, Method::GET, &group, &token, None).await.body), all);
}
