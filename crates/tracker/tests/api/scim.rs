//! SPEC §5a DIR1–DIR3: the SCIM server, its tokens and the directory's
//! ownership of the lifecycle, at the HTTP boundary. Request bodies follow
//! RFC 7644's examples and the shapes Microsoft Entra ID and Okta document
//! for their provisioning clients.

use crate::helpers::*;
use crate::onboarding::{app_with_sink, settle, to};
use app::hooks::Point;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A SCIM token made through the API by the system administrator.
pub(crate) async fn scim_token(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/scim-tokens", &app.admin, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["token"].as_str().expect("the token, once").to_owned()
}

pub(crate) async fn scim(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    app.call(method, &format!("/scim/v2{path}"), Some(token), body).await
}

async fn scim_if_match(app: &TestApp, method: Method, path: &str, token: &str, etag: &str, body: Option<Value>) -> Reply {
    let mut req = app
        .client
        .request(method, format!("{}/scim/v2{path}", app.url))
        .bearer_auth(token)
        .header("if-match", etag);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}

/// RFC 7644 §3.3's example user, with a work address.
fn bjensen() -> Value {
    json!({
        "schemas": [USER],
        "userName": "bjensen",
        "externalId": "bjensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work"}]
    })
}

/// The fields of a SCIM error body, or a panic naming what came instead.
fn scim_error(r: &Reply, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/scim+json", "{:?}", r.headers);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], json!(status.as_u16().to_string()), "{}", r.body);
    assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.body);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.body);
}

pub(crate) async fn tracker_user(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

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

/// DIR1: ServiceProviderConfig, ResourceTypes and Schemas describe what
/// we do, and `/Schemas` lists exactly the attributes we store.
#[tokio::test]
async fn scim_discovery_endpoints() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Okta").await;
    let r = scim(&app, Method::GET, "/ServiceProviderConfig", &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["etag"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], false);
    let r = scim(&app, Method::GET, "/ResourceTypes", &token, None).await;
    assert_eq!(r.body["Resources"][0]["schemaExtensions"][0]["schema"], ENTERPRISE);
    assert_eq!(
        (
            &r.body["totalResults"],
            &r.body["Resources"][1]["endpoint"],
            &r.body["Resources"][1]["schema"]
        ),
        (&json!(2), &json!("/Groups"), &json!(GROUP))
    );
    let r = scim(&app, Method::GET, "/Schemas", &token, None).await;
    let group = &r.body["Resources"][2];
    assert_eq!(group["id"], GROUP);
    let names: Vec<&str> = group["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["displayName", "externalId", "members"]);
    let user = &r.body["Resources"][0];
    let names: Vec<&str> = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["userName", "name", "emails", "active", "externalId"]);
    let emails = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "emails")
        .unwrap();
    assert_eq!(emails["required"], true);
    assert_eq!(r.body["Resources"][1]["attributes"][0]["name"], "department");
    scim_error(
        &scim(&app, Method::GET, "/Nothing", &token, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

/// DIR1: Microsoft Entra ID's requests: its create body, capitalised ops,
/// the work email by value filter, `"False"` as a string.
#[tokio::test]
async fn scim_entra_id_dialect() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Microsoft Entra ID").await;
    let create = json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    });
    let r = scim(&app, Method::POST, "/Users", &token, Some(create)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Entra first looks the user up by userName.
    let r = scim(
        &app,
        Method::GET,
        "/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40testuser.com%22",
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    let r = scim(
        &app,
        Method::GET,
        "/Users?filter=userName+eq+%22non-existent%20user%22",
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["totalResults"], 0);

    let ops = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tax"}
    ]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userName"], "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com");
    assert_eq!(r.body[ENTERPRISE]["department"], "Tax", "kept without an office of that name");
    let u = tracker_user(&app, &id).await;
    assert_eq!(
        (u["email"].as_str(), u["last_name"].as_str()),
        (Some("updatedEmail@microsoft.com"), Some("updatedFamilyName"))
    );
    assert!(u["office_id"].is_null());

    let disable = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(disable)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(tracker_user(&app, &id).await["active"], false);
    let enable = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(enable)).await;
    assert_eq!(r.body["active"], true, "{}", r.body);
    assert_eq!(tracker_user(&app, &id).await["active"], true);
}

/// DIR1: Okta's requests: its create body (with attributes we do not
/// store), lookup with paging, no-path replace, full PUT.
#[tokio::test]
async fn scim_okta_dialect() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Okta").await;
    let create = json!({
        "schemas": [USER],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    });
    let r = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = scim(&app, Method::POST, "/Users", &token, Some(create.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body.get("password").is_none(), "not stored, not returned");

    let deactivate = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(deactivate)).await;
    assert_eq!(r.body["active"], false, "{}", r.body);
    let mut put = create.clone();
    put["id"] = json!(id);
    put["name"]["givenName"] = json!("Tess");
    put["active"] = json!(true);
    let r = scim(&app, Method::PUT, &format!("/Users/{id}"), &token, Some(put)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = tracker_user(&app, &id).await;
    assert_eq!((u["first_name"].as_str(), u["active"].as_bool()), (Some("Tess"), Some(true)));
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

    let hooks = app.running.as_ref().unwrap().app.hooks.clone();
    let mut paused = hooks.arm(Point::DirectoryWrite);
    let one = scim(&app, Method::PATCH, &path, &token, Some(given.clone()));
    let other = async {
        paused.reached().await;
        let second = scim(&app, Method::PATCH, &path, &token, Some(family.clone()));
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            paused.release();
        };
        tokio::join!(second, release).0
    };
    let (a, b) = tokio::join!(one, other);
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} {}", a.body, b.body);
    let now = scim(&app, Method::GET, &path, &token, None).await.body;
    assert_eq!(now["name"]["givenName"], "First", "{now}");
    assert_eq!(now["name"]["familyName"], "Second", "{now}");

    // Both sent with the version they read: the later one is refused.
    let etag_now = now["meta"]["version"].as_str().unwrap().to_owned();
    assert_ne!(etag, etag_now);
    let mut paused = hooks.arm(Point::DirectoryWrite);
    let fourth = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Fourth"}]});
    let one = scim_if_match(&app, Method::PATCH, &path, &token, &etag_now, Some(fourth));
    let other = async {
        paused.reached().await;
        let second = scim_if_match(
            &app,
            Method::PATCH,
            &path,
            &token,
            &etag_now,
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Third"}]})),
        );
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            paused.release();
        };
        tokio::join!(second, release).0
    };
    let (a, b) = tokio::join!(one, other);
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    scim_error(&b, StatusCode::PRECONDITION_FAILED, None);
    assert_eq!(
        scim(&app, Method::GET, &path, &token, None).await.body["name"]["givenName"],
        "Fourth"
    );
}

/// DIR3: with sync on, the API refuses to change what the directory owns;
/// a directory deactivation of someone with D3 responsibilities happens
/// at once, leaves open offboarding items and one digest email to the
/// system administrators; a reactivation gives everything back (R1).
#[tokio::test]
async fn scim_dir3_directory_deactivation_with_blockers() {
    let (app, sink) = app_with_sink().await;
    let token = scim_token(&app, "Entra ID").await;
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = scim(&app, Method::POST, "/Users", &token, Some(bjensen())).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let session = app.password_for(&id, "bjensen@example.com").await;

    // The API and the page refuse name, email and active; the role is Tracker's.
    for body in [
        json!({"first_name": "X"}),
        json!({"email": "x@example.com"}),
        json!({"active": false}),
    ] {
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin, body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.code(), "managed_by_directory");
    }
    let r = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &app.admin,
            json!({"role": "company_matter_creator"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Responsibilities D3 would refuse a deactivation for.
    let matter = app.matter("M-1", &id).await;
    let office = app.office("Paris").await;
    let r = app
        .patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"coordinator_id": id}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    settle(&app).await;
    let before = sink.messages().len();

    let disable = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(disable)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(tracker_user(&app, &id).await["active"], false);
    assert_eq!(
        app.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    assert_eq!(
        app.try_sign_in("bjensen@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    let items = app.get("/api/v1/offboarding-items", &app.admin).await;
    assert_eq!(items.status, StatusCode::OK, "{}", items.body);
    assert_eq!(items.body["total"], 2, "{}", items.body);
    let mut kinds: Vec<(String, String)> = items.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["target"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("lead_company_person".to_owned(), matter.clone()),
            ("office_coordinator".to_owned(), office.clone())
        ]
    );
    assert!(items.body["items"].as_array().unwrap().iter().all(|i| i["user_id"] == id.as_str()));

    settle(&app).await;
    let digest: Vec<_> = to(&sink, ADMIN_EMAIL).into_iter().collect();
    let digests: Vec<_> = digest.iter().filter(|m| m.subject.contains("open offboarding item")).collect();
    assert_eq!(
        digests.len(),
        1,
        "one digest: {:?}",
        digest.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(
        digests[0].text.contains("Matter M-1") && digests[0].text.contains("Paris"),
        "{}",
        digests[0].text
    );
    assert!(sink.messages().len() == before + 1, "nothing else was sent");
    let deactivated = app.audit("action=user.deactivated").await;
    assert_eq!(deactivated[0]["actor"], "scim:Entra ID");

    // R1: the directory brings them back; the items are settled.
    let enable = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]});
    let r = scim(&app, Method::PATCH, &format!("/Users/{id}"), &token, Some(enable)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/offboarding-items", &app.admin).await.body["total"], 0);
    let m = app.get(&format!("/api/v1/matters/{matter}"), &app.admin).await;
    assert_eq!(m.body["lead_company_person_id"], id.as_str(), "still the lead");
    assert_eq!(app.try_sign_in("bjensen@example.com", PASSWORD).await.status, StatusCode::CREATED);

    // Only system administrators read the items.
    let oa_id = app.company_user("oa@company.example", "company_office_administrator", None).await;
    let oa = app.password_for(&oa_id, "oa@company.example").await;
    assert_eq!(app.get("/api/v1/offboarding-items", &oa).await.status, StatusCode::FORBIDDEN);
}

/// DIR3 "linked": the directory takes over an existing company user by
/// address instead of making a second one.
#[tokio::test]
async fn scim_links_an_existing_company_user() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Directory").await;
    let existing = app.company_user("bjensen@example.com", "company_matter_creator", None).await;
    let r = scim(&app, Method::POST, "/Users", &token, Some(bjensen())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], existing.as_str());
    let u = tracker_user(&app, &existing).await;
    assert_eq!(
        (u["first_name"].as_str(), u["role"].as_str()),
        (Some("Barbara"), Some("company_matter_creator"))
    );
    assert_eq!(app.audit("action=user.directory_linked").await.len(), 1);
    // A firm user's address is not the directory's.
    let (firm, _) = app.firm("Smith LLP", "fa@smith.example").await;
    app.firm_user("lawyer@smith.example", "firm_user", &firm).await;
    let mut b = bjensen();
    b["userName"] = json!("lawyer");
    b["emails"] = json!([{"value": "lawyer@smith.example"}]);
    scim_error(
        &scim(&app, Method::POST, "/Users", &token, Some(b)).await,
        StatusCode::CONFLICT,
        Some("uniqueness"),
    );
}

/// DIR1 with a real SCIM client: PyPI's scim2-client (pinned, in its own
/// virtual environment under test-output/) discovers the server, validates
/// every answer against the schemas we publish, and runs a whole
/// provisioning cycle (scripts/scim_client_cycle.py).
#[tokio::test]
async fn scim_full_cycle_with_the_scim2_client() {
    let app = spawn_app().await;
    let token = scim_token(&app, "scim2-client").await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = "test-output/scim2-venv";
    let setup = tokio::process::Command::new("bash")
        .current_dir(&root)
        .arg("-c")
        .arg(format!(
            "source scripts/lib/python-venv.sh && python_venv {venv} 'scim2-client[httpx2]==0.13.2' 'httpx2==2.16.2' >&2"
        ))
        .output()
        .await
        .expect("run bash");
    assert!(
        setup.status.success(),
        "install scim2-client: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let run = tokio::process::Command::new(root.join(venv).join("bin/python"))
        .current_dir(&root)
        .arg("scripts/scim_client_cycle.py")
        .env("TRACKER_SCIM_URL", format!("{}/scim/v2", app.url))
        .env("TRACKER_SCIM_TOKEN", &token)
        .output()
        .await
        .expect("run the client");
    let out = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    assert!(
        run.status.success(),
        "the cycle failed:\n{out}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // What the client did is what Tracker holds.
    let u = tracker_user(&app, &out).await;
    assert_eq!(
        (u["first_name"].as_str(), u["last_name"].as_str()),
        (Some("Cyclist"), Some("Rider"))
    );
    assert_eq!(u["active"], false);
    assert_eq!(app.audit("action=user.deprovisioned").await[0]["actor"], "scim:scim2-client");
    assert_eq!(app.audit("action=directory_group.deleted").await[0]["actor"], "scim:scim2-client");
}

/// DIR2/DIR3 pages: the Directory section of Settings makes a token and
/// shows it once, lists it with its last use, revokes it; the Open
/// offboarding items page lists what a directory deactivation left. Only
/// system administrators get either.
#[tokio::test]
async fn scim_directory_pages() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
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

/// A user of the directory, made over SCIM; their id.
pub(crate) async fn provision(app: &TestApp, token: &str, user_name: &str, email: &str) -> String {
    let body = json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": user_name},
        "emails": [{"value": email, "type": "work", "primary": true}]
    });
    let r = scim(app, Method::POST, "/Users", token, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn role_of(app: &TestApp, id: &str) -> String {
    tracker_user(app, id).await["role"].as_str().unwrap().to_owned()
}

pub(crate) fn members(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": list})
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
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(json!([{"op": "Add", "path": "members", "value": [{"value": js}]}]))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_system_administrator");
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(json!([{"op": "Remove", "path": "members", "value": [{"value": bj}]}]))),
    )
    .await;
    assert_eq!(members(&r.body), vec![js.as_str()]);
    assert_eq!(role_of(&app, &bj).await, "company_user");
    assert_eq!(role_of(&app, &js).await, "company_system_administrator");
    // A rename moves the group to another line of the mapping.
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(json!([{"op": "Replace", "path": "displayName", "value": "Matter Openers"}]))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_matter_creator");

    // Okta: remove by a value filter, add with display, rename without a path.
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(json!([{"op": "remove", "path": format!("members[value eq \"{js}\"]")}]))),
    )
    .await;
    assert_eq!((r.status, members(&r.body)), (StatusCode::OK, vec![]), "{}", r.body);
    assert_eq!(role_of(&app, &js).await, "company_user");
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(
            json!([{"op": "add", "path": "members", "value": [{"value": bj, "display": "bjensen"}]}]),
        )),
    )
    .await;
    assert_eq!(members(&r.body), vec![bj.as_str()]);
    assert_eq!(role_of(&app, &bj).await, "company_matter_creator");
    let r = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(ops(
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Tracker Admins"}}]),
        )),
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
    let r = scim(&app, Method::GET, "/Groups", &token, None).await;
    assert_eq!(r.body["totalResults"], 2, "{}", r.body);
    let admins = scim(&app, Method::GET, &path, &token, None).await.body;
    assert_eq!(admins["displayName"], "Admins");
    let mut both = vec![admin.clone(), bj.clone()];
    both.sort();
    assert_eq!(members(&admins), both);
    assert_eq!(role_of(&app, &admin).await, "company_system_administrator");
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
    let r = scim(
        &app,
        Method::PATCH,
        &user,
        &token,
        Some(ops(json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]))),
    )
    .await;
    let (modified2, version2) = meta(&r.body);
    assert!(modified2 > modified, "{modified} → {modified2}");
    assert_ne!(version2, version);
    // The directory's own attributes count too.
    app.advance_clock(5_000).await;
    let r = scim(
        &app,
        Method::PATCH,
        &user,
        &token,
        Some(ops(json!([{"op": "replace", "path": "externalId", "value": "e-9"}]))),
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
    let hooks = app.running.as_ref().unwrap().app.hooks.clone();
    let mut paused = hooks.arm(Point::DirectoryWrite);
    let one = scim(&app, Method::PATCH, &group, &token, Some(add(&js)));
    let other = async {
        paused.reached().await;
        let second = scim(&app, Method::PATCH, &group, &token, Some(add(&kd)));
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            paused.release();
        };
        tokio::join!(second, release).0
    };
    let (a, b) = tokio::join!(one, other);
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} {}", a.body, b.body);
    let mut all = vec![bj, js, kd];
    all.sort();
    assert_eq!(members(&scim(&app, Method::GET, &group, &token, None).await.body), all);
}
