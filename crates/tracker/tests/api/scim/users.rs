//! DIR1 Users with RFC 7644's own examples, and bad input of every kind.

use super::*;

/// DIR1 with RFC 7644's own examples: create, read, filter, page, select
/// attributes, replace, delete.
#[tokio::test]
async fn scim_rfc_7644_user_lifecycle() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Directory").await;
    let legal = app.office("Legal").await;
    let mut body = bjensen();
    body["schemas"] = json!([USER, ENTERPRISE]);
    body[ENTERPRISE] = json!({"department": "legal"});
    let r = scim(&app, Method::POST, "/Users", &token, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/scim+json");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"], format!("{}/scim/v2/Users/{id}", app.url).as_str());
    assert_eq!(r.headers["etag"].to_str().unwrap(), r.body["meta"]["version"].as_str().unwrap());
    assert_eq!(r.body["userName"], "bjensen");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body[ENTERPRISE]["department"], "legal");

    // The Tracker user: a company user of the office named by department.
    let u = tracker_user(&app, &id).await;
    assert_eq!(u["email"], "bjensen@example.com");
    assert_eq!(u["side"], "company");
    assert_eq!(u["role"], "company_user");
    assert_eq!(u["office_id"], legal.as_str());
    assert_eq!(u["directory_managed"], true);
    let created = app.audit("action=user.created").await;
    assert_eq!(created[0]["actor"], "scim:Directory", "{}", created[0]);

    let r = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"]["givenName"], "Barbara");

    // Filters: userName is compared without case, externalId with it.
    for (filter, hits) in [
        (r#"userName eq "BJENSEN""#, 1),
        (r#"userName eq "nobody""#, 0),
        (r#"externalId eq "bjensen""#, 1),
        (r#"externalId eq "BJENSEN""#, 0),
        (r#"name.familyName co "ens""#, 1),
        (r#"userName sw "bj" and not (active eq false)"#, 1),
        (r#"emails[type eq "work" and value ew "@example.com"]"#, 1),
        (r#"title pr or userName ne "bjensen""#, 0),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Legal""#,
            1,
        ),
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#, 1),
    ] {
        let r = app
            .client
            .get(format!("{}/scim/v2/Users", app.url))
            .query(&[("filter", filter)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{filter}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["totalResults"], hits, "{filter}: {b}");
        assert_eq!(b["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    }

    // Paging and attribute selection.
    for n in 0..4 {
        let mut b = bjensen();
        b["userName"] = json!(format!("user{n}"));
        b["externalId"] = json!(format!("e{n}"));
        b["emails"] = json!([{"value": format!("user{n}@example.com"), "type": "work"}]);
        assert_eq!(
            scim(&app, Method::POST, "/Users", &token, Some(b)).await.status,
            StatusCode::CREATED
        );
    }
    let r = scim(&app, Method::GET, "/Users?startIndex=2&count=2&attributes=userName", &token, None).await;
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    let first = &r.body["Resources"][0];
    assert_eq!(first["userName"], "user0");
    assert!(
        first["id"].is_string() && first.get("name").is_none() && first.get("emails").is_none(),
        "{first}"
    );
    let r = scim(
        &app,
        Method::GET,
        &format!("/Users/{id}?excludedAttributes=emails,name.familyName"),
        &token,
        None,
    )
    .await;
    assert!(
        r.body.get("emails").is_none() && r.body["name"].get("familyName").is_none(),
        "{}",
        r.body
    );
    assert_eq!(r.body["name"]["givenName"], "Barbara");
    let r = scim(&app, Method::GET, "/Users?count=0", &token, None).await;
    assert_eq!(
        (r.body["totalResults"].as_i64(), r.body["itemsPerPage"].as_i64()),
        (Some(5), Some(0))
    );

    // PUT replaces, honouring If-Match; a stale version is 412 and changes nothing.
    let etag = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut put = bjensen();
    put["name"]["givenName"] = json!("Babs");
    let r = scim_if_match(&app, Method::PUT, &format!("/Users/{id}"), &token, &etag, Some(put.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Babs");
    assert_ne!(r.body["meta"]["version"].as_str().unwrap(), etag);
    put["name"]["givenName"] = json!("Stale");
    let r = scim_if_match(&app, Method::PUT, &format!("/Users/{id}"), &token, &etag, Some(put)).await;
    scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    assert_eq!(tracker_user(&app, &id).await["first_name"], "Babs");

    // DELETE deactivates (D1) and the resource is gone.
    let r = scim(&app, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    scim_error(
        &scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let r = scim(&app, Method::GET, r#"/Users?filter=userName%20eq%20"bjensen""#, &token, None).await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let u = tracker_user(&app, &id).await;
    assert_eq!(u["active"], false, "kept, deactivated: {u}");
    assert_eq!(app.audit("action=user.deprovisioned").await.len(), 1);
}

/// Bad input of every kind gets its SCIM error and changes nothing.
#[tokio::test]
async fn scim_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Directory").await;
    let r = scim(&app, Method::POST, "/Users", &token, Some(bjensen())).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let users = app.user_count().await;
    let before = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await.body;

    let bad = |f: fn(&mut Value)| {
        let mut b = bjensen();
        b["userName"] = json!("other");
        b["emails"] = json!([{"value": "other@example.com", "type": "work"}]);
        f(&mut b);
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            bad(|b| b["schemas"] = json!([USER, "urn:example:params:scim:schemas:Unknown"])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            bad(|b| b["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (bad(|b| b["userName"] = json!(42)), StatusCode::BAD_REQUEST, "invalidValue"),
        (bad(|b| b["active"] = json!("perhaps")), StatusCode::BAD_REQUEST, "invalidValue"),
        (
            bad(|b| b["emails"] = json!("other@example.com")),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (
            bad(|b| b["emails"] = json!([{"value": "not an address"}])),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (bad(|b| b["emails"] = json!([])), StatusCode::BAD_REQUEST, "invalidValue"),
        (
            bad(|b| b["name"] = json!({"givenName": "Only"})),
            StatusCode::BAD_REQUEST,
            "invalidValue",
        ),
        (bad(|b| b["userName"] = json!("BJENSEN")), StatusCode::CONFLICT, "uniqueness"),
        (
            bad(|b| b["emails"] = json!([{"value": "BJensen@example.com"}])),
            StatusCode::CONFLICT,
            "uniqueness",
        ),
    ];
    for (body, status, scim_type) in cases {
        let r = scim(&app, Method::POST, "/Users", &token, Some(body.clone())).await;
        scim_error(&r, status, Some(scim_type));
    }
    let r = app
        .raw(Method::POST, "/scim/v2/Users", &token, "application/scim+json", "{\"schemas\": [")
        .await;
    scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let r = app
        .raw(Method::POST, "/scim/v2/Users", &token, "text/plain", &bjensen().to_string())
        .await;
    scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    for filter in [
        "userName%20eq",
        "userName%20xx%20%22a%22",
        "(userName%20eq%20%22a%22",
        "active%20gt%20true",
    ] {
        let r = scim(&app, Method::GET, &format!("/Users?filter={filter}"), &token, None).await;
        scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    }
    let r = scim(&app, Method::GET, "/Users?count=many", &token, None).await;
    scim_error(&r, StatusCode::BAD_REQUEST, Some("invalidValue"));

    let patches: Vec<(Value, &str)> = vec![
        (
            json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "move", "path": "active"}]}),
            "invalidSyntax",
        ),
        (json!({"schemas": [PATCH], "Operations": [{"op": "remove"}]}), "noTarget"),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]}),
            "invalidPath",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "nope"}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "not-an-address"}
            ]}),
            "invalidValue",
        ),
    ];
    for (body, scim_type) in patches {
        let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(body.clone())).await;
        scim_error(&r, StatusCode::BAD_REQUEST, Some(scim_type));
    }
    let r = scim_if_match(&app, Method::DELETE, &format!("/Users/{id}"), &token, "W/\"0000\"", None).await;
    scim_error(&r, StatusCode::PRECONDITION_FAILED, None);
    scim_error(
        &scim(&app, Method::GET, "/Users/nope", &token, None).await,
        StatusCode::NOT_FOUND,
        None,
    );

    assert_eq!(app.user_count().await, users, "no user was made");
    let after = scim(&app, Method::GET, &format!("/Users/{id}"), &token, None).await.body;
    assert_eq!(after, before, "nothing changed");
}
