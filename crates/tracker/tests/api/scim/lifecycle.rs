//! DIR3: the directory owns the lifecycle of the company users it manages.

use super::*;

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

/// The `directory_managed` of `id` in every answer that shows a user: the
/// user, the list (a page, a search by a long word and by a short one),
/// N3's pending list if `pending` (a user whose new user email is held),
/// the deactivation check and the scheduled deactivations. Each must list
/// the user.
async fn managed_everywhere(app: &TestApp, id: &str, pending: bool) -> Vec<(&'static str, Value)> {
    let in_items = |body: &Value, path: &[&str]| -> Value {
        let items = body["items"].as_array().unwrap_or_else(|| panic!("no items in {body}"));
        let item = items
            .iter()
            .find(|i| path.iter().fold(*i, |v, k| &v[*k])["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not listed in {body}"));
        path.iter().fold(item, |v, k| &v[*k])["directory_managed"].clone()
    };
    let get = |path: String| async move {
        let r = app.get(&path, &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        r.body
    };
    let user = get(format!("/api/v1/users/{id}")).await;
    // A word under 3 characters matches the start of a name or email.
    let start = &user["email"].as_str().unwrap()[..2];
    let mut answers = vec![
        ("user", user["directory_managed"].clone()),
        ("list", in_items(&get("/api/v1/users?status=all&per_page=100".into()).await, &[])),
        ("search", in_items(&get("/api/v1/users?status=all&q=person".into()).await, &[])),
        (
            "short search",
            in_items(&get(format!("/api/v1/users?status=all&q={start}")).await, &[]),
        ),
        (
            "deactivation check",
            get(format!("/api/v1/users/{id}/deactivation-check")).await["directory_managed"].clone(),
        ),
        (
            "scheduled",
            in_items(&get("/api/v1/scheduled-deactivations".into()).await, &["user"]),
        ),
    ];
    if pending {
        let listed = get("/api/v1/new-user-emails/pending?per_page=100".into()).await;
        answers.push(("pending", in_items(&listed, &[])));
    }
    answers
}

/// D6/DIR3: every answer that shows a user reports the same
/// `directory_managed`. A user the directory made is managed with sync
/// off; with sync on every company user is too, and a firm user never is.
/// The deactivation check allows what a deactivation does: Tracker
/// refuses only while sync is on.
#[tokio::test]
async fn scim_dir3_every_answer_reports_the_same_directory_managed() {
    let app = spawn_app().await;
    let token = scim_token(&app, "Entra ID").await;
    let linked = provision(&app, &token, "linked.person", "linked.person@example.com").await;
    let plain = app.company_user("plain.person@example.com", "company_user", None).await;
    let (firm, _) = app.firm("Managed Test LLP", "admin.person@firm.example").await;
    let firm_user = app.firm_user("firm.person@firm.example", "firm_user", &firm).await;
    // Each will leave in a week, so that the scheduled deactivations list them.
    for id in [&linked, &plain, &firm_user] {
        let r = app
            .post(
                &format!("/api/v1/users/{id}/offboard"),
                &app.admin,
                json!({"effective_at": rfc3339(now_ms() + 7 * 24 * 3_600_000)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // The directory's user was emailed at once; the others are held (N3).
    let pending = |id: &str| id != linked;
    for (sync, expected) in [
        (false, [(&linked, true), (&plain, false), (&firm_user, false)]),
        (true, [(&linked, true), (&plain, true), (&firm_user, false)]),
    ] {
        let r = app
            .patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": sync}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for (id, managed) in expected {
            for (answer, reported) in managed_everywhere(&app, id, pending(id)).await {
                assert_eq!(reported, json!(managed), "{answer} of {id} with sync {sync}");
            }
            let check = app.get(&format!("/api/v1/users/{id}/deactivation-check"), &app.admin).await;
            assert_eq!(
                check.body["can_deactivate"],
                json!(!(sync && managed)),
                "{id} with sync {sync}: {}",
                check.body
            );
        }
    }
    // Sync is on: the directory's user cannot be deactivated here...
    let r = app
        .patch(&format!("/api/v1/users/{linked}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.code(), "managed_by_directory");
    // ...and with sync off they can, as the check said.
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch(&format!("/api/v1/users/{linked}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["directory_managed"], true);
}
