//! Issue 13 / DIR1: the request bodies Microsoft Entra ID and Okta send,
//! quoted verbatim from their public documentation (`fixtures/scim/*/`,
//! sources in each README), replayed in the vendors' order against the real
//! server. The documents name their own ids in URLs and member values; the
//! test maps those to the ids our server gave and changes nothing else.
//! Bodies go out byte for byte as the fixture file has them, with the
//! `application/scim+json` type the clients use.

use crate::helpers::*;
use crate::scim::{members, provision, scim, scim_raw, scim_token, scim_total, tracker_user, OKTA_LOOKUP};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A fixture's text with the documentation's ids swapped for ours.
fn fixture(text: &str, ids: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (theirs, ours) in ids {
        assert!(text.contains(theirs), "the fixture names {theirs}");
        text = text.replace(theirs, ours);
    }
    text
}

/// Sends a fixture body as the vendor would: raw bytes, SCIM media type.
async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: &str) -> Reply {
    scim_raw(app, method, path, token, None, Some(body)).await
}

/// A write succeeded: 2xx, and any body is a SCIM body.
fn ok(r: &Reply, what: &str) {
    assert!(r.status.is_success(), "{what}: {} {}", r.status, r.body);
    if r.status != StatusCode::NO_CONTENT {
        assert_eq!(r.headers["content-type"], "application/scim+json", "{what}");
        assert!(r.body["schemas"].is_array(), "{what}: {}", r.body);
    }
}

async fn group_members(app: &TestApp, token: &str, gid: &str) -> Vec<String> {
    let r = scim(app, Method::GET, &format!("/Groups/{gid}"), token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    members(&r.body)
}

async fn group_name(app: &TestApp, token: &str, gid: &str) -> String {
    let r = scim(app, Method::GET, &format!("/Groups/{gid}"), token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["displayName"].as_str().unwrap().to_owned()
}

/// (first name, last name, email, active) as Tracker's own API shows them.
async fn person(app: &TestApp, id: &str) -> (String, String, String, bool) {
    let u = tracker_user(app, id).await;
    (
        u["first_name"].as_str().unwrap().to_owned(),
        u["last_name"].as_str().unwrap().to_owned(),
        u["email"].as_str().unwrap().to_owned(),
        u["active"].as_bool().unwrap(),
    )
}

macro_rules! entra {
    ($f:literal) => {
        include_str!(concat!("fixtures/scim/entra/", $f))
    };
}
macro_rules! okta {
    ($f:literal) => {
        include_str!(concat!("fixtures/scim/okta/", $f))
    };
}

/// Microsoft Entra ID: "SCIM protocol requests and responses" and the
/// compatibility page's samples with and without `aadOptscim062020`.
#[tokio::test]
async fn scim_fixtures_entra_id_documented_requests() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Microsoft Entra ID").await;

    // Create User.
    let r = send(&app, Method::POST, "/Users", &token, entra!("create-user.json")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ok(&r, "create user");
    let uid = r.body["id"].as_str().unwrap().to_owned();
    let user = format!("/Users/{uid}");
    assert_eq!(r.body["userName"], "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee");
    assert_eq!(r.body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(r.body["active"], true);
    assert_eq!(
        person(&app, &uid).await,
        (
            "givenName".into(),
            "familyName".into(),
            "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com".into(),
            true
        )
    );

    // Get User by query, and with zero results.
    let r = scim(
        &app,
        Method::GET,
        "/Users?filter=userName%20eq%20%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22",
        &token,
        None,
    )
    .await;
    assert_eq!(
        (r.body["totalResults"].as_u64(), r.body["Resources"][0]["id"].as_str()),
        (Some(1), Some(uid.as_str())),
        "{}",
        r.body
    );
    assert_eq!(
        scim_total(&app, &token, "/Users?filter=userName%20eq%20%22non-existent%20user%22").await,
        0
    );

    // Update User [Multi-valued properties], then [Single-valued properties].
    let r = send(&app, Method::PATCH, &user, &token, entra!("update-user-multi-valued.json")).await;
    ok(&r, "multi-valued update");
    let (first, last, email, _) = person(&app, &uid).await;
    assert_eq!(
        (first.as_str(), last.as_str(), email.as_str()),
        ("givenName", "updatedFamilyName", "updatedEmail@microsoft.com")
    );
    let r = send(&app, Method::PATCH, &user, &token, entra!("update-user-single-valued.json")).await;
    ok(&r, "single-valued update");
    let r = scim(&app, Method::GET, &user, &token, None).await;
    assert_eq!(
        r.body["userName"], "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
        "{}",
        r.body
    );

    // Replacing several attributes, as sent without and with the flag.
    let r = send(
        &app,
        Method::PATCH,
        &user,
        &token,
        entra!("compat-replace-multiple-attributes-without-flag.json"),
    )
    .await;
    ok(&r, "replace several (without flag)");
    assert_eq!(
        person(&app, &uid).await,
        ("Gtfd".into(), "Pkqf".into(), "TestBcwqnm@test.microsoft.com".into(), true)
    );
    let r = scim(&app, Method::GET, &user, &token, None).await;
    assert_eq!(r.body["externalId"], "Eqpj", "{}", r.body);
    let r = send(
        &app,
        Method::PATCH,
        &user,
        &token,
        entra!("compat-replace-multiple-attributes-with-flag.json"),
    )
    .await;
    ok(&r, "replace several (with flag)");
    assert_eq!(
        person(&app, &uid).await,
        ("Kkom".into(), "Unua".into(), "TestMhvaes@test.microsoft.com".into(), true)
    );

    // Disable User: boolean `false`, the older `"False"` string, and the
    // flagged lower-case spelling each deactivate. (Re-enabling between
    // them is our own request; the documents show none.)
    let enable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": true}]});
    for (name, body) in [
        ("disable-user.json", entra!("disable-user.json")),
        (
            "compat-disable-user-without-flag.json",
            entra!("compat-disable-user-without-flag.json"),
        ),
        ("compat-disable-user-with-flag.json", entra!("compat-disable-user-with-flag.json")),
    ] {
        let r = scim(&app, Method::PATCH, &user, &token, Some(enable.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(person(&app, &uid).await.3, "active again before {name}");
        let r = send(&app, Method::PATCH, &user, &token, body).await;
        ok(&r, name);
        assert!(!person(&app, &uid).await.3, "{name} deactivates");
        let r = scim(&app, Method::GET, &user, &token, None).await;
        assert_eq!(r.body["active"], false, "{name}: {}", r.body);
    }

    // Groups: created empty, renamed, members added and removed.
    let r = send(&app, Method::POST, "/Groups", &token, entra!("create-group.json")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ok(&r, "create group");
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let group = format!("/Groups/{gid}");
    assert_eq!(
        (r.body["displayName"].as_str(), r.body["externalId"].as_str()),
        (Some("displayName"), Some("8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"))
    );
    assert!(group_members(&app, &token, &gid).await.is_empty());
    let r = send(
        &app,
        Method::PATCH,
        &group,
        &token,
        entra!("update-group-non-member-attributes.json"),
    )
    .await;
    ok(&r, "rename group");
    assert_eq!(
        group_name(&app, &token, &gid).await,
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );

    let member = [("f648f8d5ea4e4cd38e9c", uid.as_str())];
    let add = fixture(entra!("update-group-add-members.json"), &member);
    let r = send(&app, Method::PATCH, &group, &token, &add).await;
    ok(&r, "add members");
    assert_eq!(group_members(&app, &token, &gid).await, vec![uid.clone()]);
    let r = send(
        &app,
        Method::PATCH,
        &group,
        &token,
        &fixture(entra!("update-group-remove-members.json"), &member),
    )
    .await;
    ok(&r, "remove members");
    assert!(group_members(&app, &token, &gid).await.is_empty());

    for (name, body, theirs) in [
        (
            "compat-remove-member-without-flag.json",
            entra!("compat-remove-member-without-flag.json"),
            "u1091",
        ),
        (
            "compat-remove-member-with-flag.json",
            entra!("compat-remove-member-with-flag.json"),
            "7f4bc1a3-285e-48ae-8202-5accb43efb0e",
        ),
    ] {
        ok(&send(&app, Method::PATCH, &group, &token, &add).await, "add again");
        assert_eq!(group_members(&app, &token, &gid).await, vec![uid.clone()]);
        let r = send(&app, Method::PATCH, &group, &token, &fixture(body, &[(theirs, &uid)])).await;
        ok(&r, name);
        assert!(group_members(&app, &token, &gid).await.is_empty(), "{name} removes the member");
    }

    // Delete Group, Delete User.
    let r = scim(&app, Method::DELETE, &group, &token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(scim(&app, Method::GET, &group, &token, None).await.status, StatusCode::NOT_FOUND);
    let r = scim(&app, Method::DELETE, &user, &token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(scim(&app, Method::GET, &user, &token, None).await.status, StatusCode::NOT_FOUND);
}

/// Okta: "SCIM 2.0 Protocol Reference", users then groups.
#[tokio::test]
async fn scim_fixtures_okta_documented_requests() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Okta").await;

    // Determine if the User already exists, then create it.
    assert_eq!(scim_total(&app, &token, OKTA_LOOKUP).await, 0);
    let r = send(&app, Method::POST, "/Users", &token, okta!("create-user.json")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ok(&r, "create user");
    let uid = r.body["id"].as_str().unwrap().to_owned();
    let user = format!("/Users/{uid}");
    assert_eq!(
        (r.body["userName"].as_str(), r.body["externalId"].as_str()),
        (Some("test.user@okta.local"), Some("00ujl29u0le5T6Aj10h7"))
    );
    assert!(r.body.get("password").is_none(), "{}", r.body);
    assert_eq!(
        person(&app, &uid).await,
        ("Test".into(), "User".into(), "test.user@okta.local".into(), true)
    );

    // Update a specific User (PATCH): deactivation.
    let r = send(&app, Method::PATCH, &user, &token, okta!("deactivate-user-patch.json")).await;
    ok(&r, "deactivate");
    assert_eq!(r.body["active"], false, "{}", r.body);
    assert!(!person(&app, &uid).await.3);

    // Update a specific User (PUT): the whole user, active again.
    let ids = [("23a35c27-23d3-4c03-b4c5-6443c09e7173", uid.as_str())];
    let r = send(&app, Method::PUT, &user, &token, &fixture(okta!("update-user-put.json"), &ids)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    ok(&r, "put");
    assert_eq!(r.body["id"], uid.as_str());
    assert_eq!(
        person(&app, &uid).await,
        ("Another".into(), "User".into(), "test.user@okta.local".into(), true)
    );

    // Groups: pushed empty, a full push of two members, then Okta's
    // remove-by-filter plus add, and the rename it sends after each.
    let other = provision(&app, &token, "other.user@okta.local", "other.user@okta.local").await;
    let r = send(&app, Method::POST, "/Groups", &token, okta!("create-group.json")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ok(&r, "create group");
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let group = format!("/Groups/{gid}");
    assert_eq!(r.body["displayName"], "Test SCIMv2");
    assert!(group_members(&app, &token, &gid).await.is_empty());
    let ids = [
        ("abf4dd94-a4c0-4f67-89c9-76b03340cb9b", gid.as_str()),
        ("23a35c27-23d3-4c03-b4c5-6443c09e7173", uid.as_str()),
        ("89bb1940-b905-4575-9e7f-6f887cfb368e", other.as_str()),
    ];
    let mut both = vec![uid.clone(), other.clone()];
    both.sort();

    let r = send(
        &app,
        Method::PATCH,
        &group,
        &token,
        &fixture(okta!("replace-group-membership-patch.json"), &ids[1..]),
    )
    .await;
    ok(&r, "replace members");
    assert_eq!(group_members(&app, &token, &gid).await, both);
    let r = send(
        &app,
        Method::PATCH,
        &group,
        &token,
        &fixture(okta!("update-group-membership-patch.json"), &ids[1..]),
    )
    .await;
    ok(&r, "remove and add members");
    assert_eq!(
        group_members(&app, &token, &gid).await,
        vec![uid.clone()],
        "the filtered remove took the other user out"
    );
    let r = send(
        &app,
        Method::PATCH,
        &group,
        &token,
        &fixture(okta!("update-group-name-patch.json"), &ids[..1]),
    )
    .await;
    ok(&r, "rename");
    assert_eq!(group_name(&app, &token, &gid).await, "Test SCIMv2");
    assert_eq!(
        group_members(&app, &token, &gid).await,
        vec![uid.clone()],
        "a rename keeps the members"
    );

    // Delete a specific Group.
    let r = scim(&app, Method::DELETE, &group, &token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(scim(&app, Method::GET, &group, &token, None).await.status, StatusCode::NOT_FOUND);
    assert!(person(&app, &uid).await.3, "deleting a group deletes no user");
}
