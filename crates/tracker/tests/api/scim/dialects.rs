//! DIR1 as clients speak it: discovery, Microsoft Entra ID's and Okta's
//! requests, and a real SCIM client's whole provisioning cycle.

use super::*;

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
    assert_eq!(
        scim_total(
            &app,
            &token,
            "/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40testuser.com%22"
        )
        .await,
        1
    );
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
    assert_eq!(scim_total(&app, &token, OKTA_LOOKUP).await, 0);
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
