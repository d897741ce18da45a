//! SPEC §5a DIR1–DIR3: the SCIM server, its tokens and the directory's
//! ownership of the lifecycle, at the HTTP boundary. Request bodies follow
//! RFC 7644's examples and the shapes Microsoft Entra ID and Okta document
//! for their provisioning clients.

use crate::helpers::*;
use crate::onboarding::{app_with_sink, settle, to};
use app::hooks::Point;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod dialects;
mod groups;
mod lifecycle;
mod tokens;
mod users;
mod versions;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Okta's documented lookup of its test user before creating it.
pub(crate) const OKTA_LOOKUP: &str = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100";

/// A SCIM token made through the API by the system administrator.
pub(crate) async fn scim_token(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/scim-tokens", &app.admin, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["token"].as_str().expect("the token, once").to_owned()
}

pub(crate) async fn scim(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    app.call(method, &format!("/scim/v2{path}"), Some(token), body).await
}

/// A SCIM request as the clients send it: the body as raw text with the
/// SCIM media type, and `If-Match` when given. An answer that is not JSON
/// reads as `null`.
pub(crate) async fn scim_raw(app: &TestApp, method: Method, path: &str, token: &str, if_match: Option<&str>, body: Option<&str>) -> Reply {
    let mut headers = Vec::new();
    if let Some(etag) = if_match {
        headers.push(("if-match", etag));
    }
    if body.is_some() {
        headers.push(("content-type", "application/scim+json"));
    }
    app.raw_with(method, &format!("/scim/v2{path}"), token, &headers, body).await
}

async fn scim_if_match(app: &TestApp, method: Method, path: &str, token: &str, etag: &str, body: Option<Value>) -> Reply {
    scim_raw(app, method, path, token, Some(etag), body.map(|b| b.to_string()).as_deref()).await
}

/// `totalResults` of a SCIM list (`path` with its filter), which must
/// answer 200.
pub(crate) async fn scim_total(app: &TestApp, token: &str, path: &str) -> i64 {
    let r = scim(app, Method::GET, path, token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["totalResults"]
        .as_i64()
        .unwrap_or_else(|| panic!("totalResults: {}", r.body))
}

/// A PATCH of the operations in `list` (RFC 7644 §3.5.2).
async fn scim_patch(app: &TestApp, path: &str, token: &str, list: Value) -> Reply {
    scim(app, Method::PATCH, path, token, Some(ops(list))).await
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
