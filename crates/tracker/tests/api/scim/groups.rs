//! DIR1 Groups: membership mapped to roles, and every refusal a SCIM error.

use super::*;

async fn role_of(app: &TestApp, id: &str) -> String {
    tracker_user(app, id).await["role"].as_str().unwrap().to_owned()
}

/// DIR1 Groups: RFC 7643 §8.4's group, then membership changes in the
/// spellings Microsoft Entra ID (capitalised ops, removal by a value list)
/// and Okta (removal by a value filter, rename without a path) send. The
/// mapping in settings turns membership into roles, at once and audited
/// with the token's name; a change of the mapping re-sets the members'
/// roles; deleting the group takes its role away.
#[tokio::test]
async fn scim_groups_map_membership_to_roles() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Entra ID").await;
    let mapping = json!([
        {"group": "Tracker Admins", "role": "company_system_administrator"},
        {"group": "Matter Openers", "role": "company_matter_creator"}
    ]);
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"directory_group_roles": mapping}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["directory_group_roles"], mapping);
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"directory_group_roles": [{"group": "Counsel", "role": "firm_user"}, {"group": "  ", "role": "company_user"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        app.get("/api/v1/settings", &app.admin).await.body["directory_group_roles"],
        mapping,
        "a refused mapping changes nothing"
    );

    let bj = provision(&app, &token, "bjensen", "bjensen@example.com").await;
    let js = provision(&app, &token, "jsmith", "jsmith@example.com").await;
    assert_eq!(role_of(&app, &bj).await, "company_user");

    // RFC 7643 §8.4, with our user as the member.
    let r = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({
            "schemas": [GROUP],
            "id": "ignored",
            "displayName": "Tracker Admins",
            "externalId": "g-1",
            "members": [{"value": bj, "$ref": format!("{}/scim/v2/Users/{bj}", app.url), "display": "Babs Jensen"}]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    assert_ne!(gid, "ignored");
    let path = format!("/Groups/{gid}");
    assert!(r.headers["location"].to_str().unwrap().ends_with(&format!("/scim/v2{path}")));
    assert_eq!(r.headers["etag"].to_str().unwrap(), r.body["meta"]["version"].as_str().unwrap());
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(
        r.body["members"],
        json!([{"value": bj, "display": "Given bjensen", "type": "User"}])
    );
    assert_eq!(role_of(&app, &bj).await, "company_system_administrator");
    let changed = app.audit("action=user.updated").await;
    assert_eq!(changed[0]["actor"], "scim:Entra ID", "{:?}", changed[0]);
    assert_eq!(app.audit("action=directory_group.created").await[0]["actor"], "scim:Entra ID");

    // Entra ID: add, then remove by a list of values.
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "Add", "path": "members", "value": [{"value": js}]}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_system_administrator");
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "Remove", "path": "members", "value": [{"value": bj}]}]),
    )
    .await;
    assert_eq!(members(&r.body), vec![js.as_str()]);
    assert_eq!(role_of(&app, &bj).await, "company_user");
    assert_eq!(role_of(&app, &js).await, "company_system_administrator");
    // A rename moves the group to another line of the mapping.
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "Replace", "path": "displayName", "value": "Matter Openers"}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_matter_creator");

    // Okta: remove by a value filter, add with display, rename without a path.
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "remove", "path": format!("members[value eq \"{js}\"]")}]),
    )
    .await;
    assert_eq!((r.status, members(&r.body)), (StatusCode::OK, vec![]), "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_user");
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "add", "path": "members", "value": [{"value": bj, "display": "bjensen"}]}]),
    )
    .await;
    assert_eq!(members(&r.body), vec![bj.as_str()]);
    assert_eq!(role_of(&app, &bj).await, "company_matter_creator");
    let r = scim_patch(
        &app,
        &path,
        &token,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Tracker Admins"}}]),
    )
    .await;
    assert_eq!(r.body["displayName"], "Tracker Admins", "{}", r.body);
    assert_eq!(role_of(&app, &bj).await, "company_system_administrator");

    // Filters: the two equalities directories send (by index), and others.
    for (filter, hits) in [
        ("displayName eq \"tracker admins\"", 1),
        ("externalId eq \"g-1\"", 1),
        ("externalId eq \"G-1\"", 0),
        ("displayName sw \"Track\"", 1),
        (&format!("members[value eq \"{bj}\"]"), 1),
        (&format!("members[value eq \"{js}\"]"), 0),
    ] {
        let r = app
            .client
            .get(format!("{}/scim/v2/Groups", app.url))
            .query(&[("filter", filter)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["totalResults"], hits, "{filter}: {b}");
    }
    let r = scim(&app, Method::GET, "/Groups?excludedAttributes=members", &token, None).await;
    assert_eq!(r.body["Resources"][0]["displayName"], "Tracker Admins", "{}", r.body);
    assert!(r.body["Resources"][0].get("members").is_none(), "{}", r.body);

    // A change of the mapping re-sets the members' roles at once.
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"directory_group_roles": [{"group": "TRACKER ADMINS", "role": "company_office_administrator"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(role_of(&app, &bj).await, "company_office_administrator");

    // DELETE: gone, and so is the role it gave.
    assert_eq!(scim(&app, Method::DELETE, &path, &token, None).await.status, StatusCode::NO_CONTENT);
    scim_error(&scim(&app, Method::GET, &path, &token, None).await, StatusCode::NOT_FOUND, None);
    assert_eq!(role_of(&app, &bj).await, "company_user");
    assert_eq!(app.audit("action=directory_group.deleted").await[0]["actor"], "scim:Entra ID");
}

/// DIR1 Groups: every refusal is a SCIM error with its scimType, and
/// changes nothing — including a membership change that would take the
/// role of the last system administrator away.
#[tokio::test]
async fn scim_group_refusals_are_scim_errors() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Okta").await;
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"directory_group_roles": [{"group": "Admins", "role": "company_system_administrator"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bj = provision(&app, &token, "bjensen", "bjensen@example.com").await;
    // The directory links the administrator (the only system administrator).
    let admin = provision(&app, &token, "admin", ADMIN_EMAIL).await;
    let group = |name: &str, members: Value| json!({"schemas": [GROUP], "displayName": name, "members": members});
    let r = scim(
        &app,
        Method::POST,
        "/Groups",
        &token,
        Some(group("Admins", json!([{"value": admin}]))),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let path = format!("/Groups/{}", r.body["id"].as_str().unwrap());
    let etag = r.body["meta"]["version"].as_str().unwrap().to_owned();

    let bad = app
        .raw(Method::POST, "/scim/v2/Groups", &token, "application/scim+json", "{\"schemas\": [")
        .await;
    scim_error(&bad, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    for (body, status, scim_type) in [
        (json!([]), StatusCode::BAD_REQUEST, "invalidSyntax"),
        (
            json!({"schemas": [USER], "displayName": "X"}),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            json!({"schemas": [GROUP, "urn:example:x"], "displayName": "X"}),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (json!({"schemas": [GROUP]}), StatusCode::BAD_REQUEST, "invalidValue"),
        (
            json!({"schemas": [GROUP], "displayName": 7}),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (group("X", json!({"value": bj})), StatusCode::BAD_REQUEST, "invalidValue"),
        (
            group("X", json!([{"value": "no-such-user"}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            group("X", json!([{"value": bj, "type": "Group"}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (group("admins", json!([])), StatusCode::CONFLICT, "uniqueness"),
    ] {
        let r = scim(&app, Method::POST, "/Groups", &token, Some(body)).await;
        scim_error(&r, status, Some(scim_type));
    }
    for (patch, status, scim_type) in [
        (json!({"Operations": []}), StatusCode::BAD_REQUEST, "invalidSyntax"),
        (
            ops(json!([{"op": "move", "path": "members"}])),
            StatusCode::BAD_REQUEST,
            "invalidSyntax",
        ),
        (ops(json!([{"op": "remove"}])), StatusCode::BAD_REQUEST, "noTarget"),
        (
            ops(json!([{"op": "add", "path": "members[value", "value": []}])),
            StatusCode::BAD_REQUEST,
            "invalidPath",
        ),
        (
            ops(json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            ops(json!([{"op": "replace", "path": "displayName", "value": ""}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        // The last system administrator keeps the role their group gives.
        (
            ops(json!([{"op": "remove", "path": "members"}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
    ] {
        let r = scim(&app, Method::PATCH, &path, &token, Some(patch)).await;
        scim_error(&r, status, Some(scim_type));
    }
    let r = scim(&app, Method::POST, "/Groups", &token, Some(group("Readers", json!([])))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let readers = format!("/Groups/{}", r.body["id"].as_str().unwrap());
    let rename = ops(json!([{"op": "Replace", "path": "displayName", "value": "ADMINS"}]));
    scim_error(
        &scim(&app, Method::PATCH, &readers, &token, Some(rename)).await,
        StatusCode::CONFLICT,
        Some("uniqueness"),
    );
    scim_error(
        &scim(&app, Method::GET, "/Groups?filter=displayName%20eq", &token, None).await,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    scim_error(
        &scim(&app, Method::DELETE, &path, &token, None).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    scim_error(
        &scim(&app, Method::GET, "/Groups/no-such-group", &token, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    // A stale version: 412.
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": bj}]}]));
    let r = scim_if_match(&app, Method::PATCH, &path, &token, &etag, Some(add.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    scim_error(
        &scim_if_match(&app, Method::PATCH, &path, &token, &etag, Some(add)).await,
        StatusCode::PRECONDITION_FAILED,
        None,
    );

    // Nothing the refusals carried was kept.
    assert_eq!(scim_total(&app, &token, "/Groups").await, 2);
    let admins = scim(&app, Method::GET, &path, &token, None).await.body;
    assert_eq!(admins["displayName"], "Admins");
    let mut both = vec![admin.clone(), bj.clone()];
    both.sort();
    assert_eq!(members(&admins), both);
    assert_eq!(role_of(&app, &admin).await, "company_system_administrator");
}
