//! SSO1 settings and matching: discovery runs when the settings are saved,
//! the secret is never shown, and a sign-in finds its user by subject or
//! verified email and creates nobody.

use super::*;

#[tokio::test]
async fn sso_settings_run_discovery_and_never_show_the_secret() {
    let app = spawn_app().await;
    let idp = start_idp(&app, &[]).await;
    let patch = |issuer: String, secret: Option<&str>| {
        let mut sso = json!({"issuer": issuer, "client_id": CLIENT_ID});
        if let Some(s) = secret {
            sso["client_secret"] = json!(s);
        }
        json!({"sso": sso})
    };
    // An issuer that does not answer.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let r = app.patch("/api/v1/settings", &app.admin, patch(dead, Some(CLIENT_SECRET))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "issuer_unreachable");
    // One whose discovery document names another issuer (same server,
    // spelled differently).
    let other = idp.issuer.replace("127.0.0.1", "localhost");
    let r = app.patch("/api/v1/settings", &app.admin, patch(other, Some(CLIENT_SECRET))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "issuer_mismatch");
    // Plain http to a host that is not loopback, and a missing secret.
    let r = app
        .patch("/api/v1/settings", &app.admin, patch("http://idp.example".into(), Some("x")))
        .await;
    assert_eq!(r.code(), "invalid_issuer", "{}", r.body);
    let r = app.patch("/api/v1/settings", &app.admin, patch(idp.issuer.clone(), None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "sso.client_secret", "{}", r.body);
    assert!(app.get("/api/v1/settings", &app.admin).await.body["sso"].is_null());

    configure(&app, &idp, false).await;
    let got = app.get("/api/v1/settings", &app.admin).await.body;
    assert_eq!(
        got["sso"],
        json!({"issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret_set": true, "only_sso_for_company_users": false})
    );
    // A change that leaves the secret out keeps it.
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"sso": {"only_sso_for_company_users": true}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sso"]["client_secret_set"], true);
    let audit = app.audit("action=settings.updated").await;
    assert!(!audit.is_empty());
    for text in [got.to_string(), r.body.to_string(), Value::Array(audit).to_string()] {
        assert!(!text.contains(CLIENT_SECRET), "the secret leaked: {text}");
    }
    // Off again.
    let r = app.patch("/api/v1/settings", &app.admin, json!({"sso": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["sso"].is_null());
    let r = Browser::new().client.get(format!("{}/sso/start", app.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Matching (SSO1): a verified email binds the subject on first use, the
/// subject alone finds the user afterwards, and unknown, unverified,
/// inactive and locked people get the S2 answer, no session, no account.
#[tokio::test]
async fn sso_sign_in_matches_by_subject_or_verified_email_and_creates_nobody() {
    let app = spawn_app().await;
    let alice = app.company_user("alice@company.example", "company_user", None).await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    let locked = app.company_user("locked@company.example", "company_user", None).await;
    app.company_user("unverified@company.example", "company_user", None).await;
    let entra = app.company_user("entra@company.example", "company_user", None).await;
    let person =
        |sub: &str, email: &str, verified: bool| json!({"sub": sub, "email": email, "email_verified": verified, "password": PASSWORD});
    let idp = start_idp_with(
        &app,
        vec![
            person("sub-alice", "alice@company.example", true),
            person("sub-stranger", "stranger@company.example", true),
            person("sub-unverified", "unverified@company.example", false),
            person("sub-gone", "gone@company.example", true),
            person("sub-locked", "locked@company.example", true),
            // As Microsoft Entra ID sends it: no email_verified, xms_edov.
            json!({"sub": "sub-entra", "email": "entra@company.example", "xms_edov": true, "password": PASSWORD}),
        ],
    )
    .await;
    configure(&app, &idp, false).await;

    // The sign-in page offers the provider.
    let html = Browser::new().page(&app, "/sign-in").await;
    assert!(html.contains("Sign in with The Company"), "{html}");

    // First sign-in: by verified email, which binds the subject.
    let mut browser = Browser::new();
    let landed = browser.sign_in(&app, &idp, "alice@company.example", PASSWORD).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some(format!("{}/users", app.url).as_str()));
    let token = landed.session.expect("a session cookie");
    let me = app.get(&format!("/api/v1/users/{alice}"), &token).await;
    assert_eq!(me.status, StatusCode::OK, "the session works: {}", me.body);
    let signed_in = &app.audit(&format!("action=user.signed_in&target_id={alice}")).await[0];
    assert_eq!(signed_in["after"], json!({"method": "oidc", "subject_bound": true}));
    assert!(!app.get(&format!("/api/v1/users/{alice}"), &app.admin).await.body["last_sign_in_at"].is_null());

    // Tracker's email changes; the bound subject still finds her.
    let r = app
        .patch(
            &format!("/api/v1/users/{alice}"),
            &app.admin,
            json!({"email": "alice.new@company.example"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let landed = Browser::new().sign_in(&app, &idp, "alice@company.example", PASSWORD).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert!(landed.session.is_some());
    let signed_in = &app.audit(&format!("action=user.signed_in&target_id={alice}")).await[0];
    assert_eq!(signed_in["after"]["subject_bound"], false);

    // Entra ID's verified-domain claim counts as a verified email.
    let landed = Browser::new().sign_in(&app, &idp, "entra@company.example", PASSWORD).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let signed_in = &app.audit(&format!("action=user.signed_in&target_id={entra}")).await[0];
    assert_eq!(signed_in["after"]["subject_bound"], true);

    // Everyone else: the same S2 answer as a page, and no session.
    app.sql(&[&format!(
        "UPDATE users SET locked_until = 9999999999999, lock_reason = 'failed_sign_ins' WHERE id = '{locked}'"
    )])
    .await
    .unwrap();
    let r = app
        .patch(&format!("/api/v1/users/{gone}"), &app.admin, json!({"active": false}))
        .await;
    assert!(r.status.is_success(), "deactivate: {}", r.body);
    let users_before = app.user_count().await;
    let mut reasons = Vec::new();
    for email in [
        "stranger@company.example",
        "unverified@company.example",
        "gone@company.example",
        "locked@company.example",
    ] {
        let landed = Browser::new().sign_in(&app, &idp, email, PASSWORD).await;
        assert_eq!(landed.status, StatusCode::UNAUTHORIZED, "{email}: {}", landed.body);
        assert!(landed.session.is_none(), "{email}");
        assert_eq!(alert(&landed.body), S2_MESSAGE, "{email}");
        reasons.push(last_oidc_failure(&app).await["after"]["reason"].as_str().unwrap().to_owned());
    }
    assert_eq!(reasons, ["unknown_user", "email_not_verified", "inactive", "locked"]);
    assert_eq!(app.user_count().await, users_before, "sign-in creates no account");
}
