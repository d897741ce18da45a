//! SSO1 failures and limits: a broken or hostile provider gives a page, no
//! session and an audit reason; SSO is for company users only, and signing
//! out ends the provider's session too.

use super::*;

/// Every failure of the provider or of its answer: a clear page, no
/// session, and the reason in the audit log. Key rotation is no failure.
#[tokio::test]
async fn sso_failures_give_a_page_no_session_and_an_audit_reason() {
    let app = spawn_app().await;
    app.company_user("bob@company.example", "company_user", None).await;
    let mut idp = start_idp(&app, &[("sub-bob", "bob@company.example", true)]).await;
    configure(&app, &idp, false).await;
    let email = "bob@company.example";

    async fn refused(app: &TestApp, landed: &Landed, status: StatusCode, reason: &str, says: &str) {
        assert_eq!(landed.status, status, "{reason}: {}", landed.body);
        assert!(landed.session.is_none(), "{reason}: no session");
        let message = alert(&landed.body);
        assert!(message.contains(says), "{reason}: {message}");
        assert_eq!(last_oidc_failure(app).await["after"]["reason"], reason);
    }

    // The person cancels at the provider: it answers with an error.
    let landed = Browser::new().cancel(&app, &idp).await;
    refused(
        &app,
        &landed,
        StatusCode::UNAUTHORIZED,
        "idp_error",
        "did not sign you in (access_denied)",
    )
    .await;

    // Tokens tampered with on the way.
    let not_verified = "could not be verified";
    for (mode, reason) in [
        (json!({"sign_with": "rogue"}), "bad_signature"),
        (json!({"claims": {"aud": "someone-else"}}), "wrong_audience"),
        (json!({"claims": {"iss": "http://127.0.0.1:1"}}), "wrong_issuer"),
        (json!({"claims": {"nonce": "not-the-one-we-sent"}}), "wrong_nonce"),
        (json!({"claims": {"exp": 1_000_000_000, "iat": 999_990_000}}), "token_expired"),
    ] {
        control(&idp, mode).await;
        let landed = Browser::new().sign_in(&app, &idp, email, PASSWORD).await;
        refused(&app, &landed, StatusCode::UNAUTHORIZED, reason, not_verified).await;
    }
    // The token endpoint refuses the code.
    control(&idp, json!({"token_error": "invalid_grant"})).await;
    let landed = Browser::new().sign_in(&app, &idp, email, PASSWORD).await;
    refused(&app, &landed, StatusCode::UNAUTHORIZED, "idp_error", "(invalid_grant)").await;

    // Key rotation: a new key, published after our keys were cached, is
    // found by fetching the keys once more.
    control(&idp, json!({"sign_with": "rotated"})).await;
    let mut browser = Browser::new();
    let landed = browser.sign_in(&app, &idp, email, PASSWORD).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "rotation: {}", landed.body);
    assert!(landed.session.is_some());
    control(&idp, json!({})).await;

    // The same callback again, with the state cookie put back: a replay.
    let callback = browser.callback.clone().expect("the callback URL");
    let state = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let replay = |cookie: Option<String>| {
        let mut req = no_redirects().get(&callback);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let r = replay(Some(format!("tracker_sso_state={state}"))).await.unwrap();
    let landed = Browser::new().follow(r, &app).await;
    refused(&app, &landed, StatusCode::BAD_REQUEST, "replayed_state", "already completed").await;
    // Without the cookie (another browser): not bound to it.
    let r = replay(None).await.unwrap();
    let landed = Browser::new().follow(r, &app).await;
    refused(&app, &landed, StatusCode::BAD_REQUEST, "state_mismatch", "another browser").await;

    // The provider goes down between the login and the code's redemption.
    let mut browser = Browser::new();
    let callback = browser.up_to_callback(&app, &idp, email).await;
    idp.stop().await;
    let r = browser.client.get(&callback).send().await.unwrap();
    let landed = browser.follow(r, &app).await;
    refused(
        &app,
        &landed,
        StatusCode::SERVICE_UNAVAILABLE,
        "idp_unreachable",
        "could not be reached",
    )
    .await;
}

/// `only_sso_for_company_users`: company users lose password sign-in (the
/// S2 answer, the form says so); firm users and system administrators keep
/// it. Sign-out of a session made through the provider ends it there too.
#[tokio::test]
async fn sso_only_for_company_users_and_sign_out_at_the_provider() {
    let app = spawn_app().await;
    let carol = app.company_user("carol@company.example", "company_user", None).await;
    app.password_for(&carol, "carol@company.example").await;
    let (_, counsel) = app.firm("Outside LLP", "counsel@firm.example").await;
    app.password_for(&counsel, "counsel@firm.example").await;
    let idp = start_idp(&app, &[("sub-carol", "carol@company.example", true)]).await;
    configure(&app, &idp, true).await;

    let r = app.try_sign_in("carol@company.example", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.code(), "invalid_credentials");
    let failure = &app.audit(&format!("action=user.sign_in_failed&target_id={carol}")).await[0];
    assert_eq!(failure["after"]["reason"], "sso_only");
    assert_eq!(app.try_sign_in("counsel@firm.example", PASSWORD).await.status, StatusCode::CREATED);
    assert_eq!(
        app.try_sign_in(crate::helpers::ADMIN_EMAIL, PASSWORD).await.status,
        StatusCode::CREATED
    );
    let html = Browser::new().page(&app, "/sign-in").await;
    assert!(html.contains("id=\"sso-only-note\""), "{html}");

    // Carol signs in through the provider, then out: Tracker's session
    // ends and the browser goes on to the provider's end_session_endpoint.
    let mut browser = Browser::new();
    let landed = browser.sign_in(&app, &idp, "carol@company.example", PASSWORD).await;
    let token = landed.session.expect("a session");
    let r = browser.sign_out(&app, &token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("{}/session/end?", idp.issuer)), "{to}");
    assert!(to.contains(&format!("client_id={CLIENT_ID}")), "{to}");
    assert_eq!(
        app.get(&format!("/api/v1/users/{carol}"), &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let end = browser.client.get(&to).send().await.unwrap();
    assert_eq!(end.status(), StatusCode::OK, "the provider's sign-out page");

    // A password session signs out to the sign-in page as before.
    let admin = app.sign_in(crate::helpers::ADMIN_EMAIL, PASSWORD).await;
    let r = browser.sign_out(&app, &admin).await;
    assert_eq!(r.headers()["location"], "/sign-in");

    // The way in when the provider fails: the operator prints a one-time
    // link for a system administrator, who sets a new password with it.
    let out = app.cli(&["users", "link", crate::helpers::ADMIN_EMAIL]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = printed
        .split("set-password?token=")
        .nth(1)
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| panic!("a link: {printed}"));
    let new_password = "Break-Glass-Passw0rd-2026";
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/v1/password/set",
            None,
            Some(json!({"token": token, "password": new_password})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The new password ended the administrator's other sessions.
    let admin = app.sign_in(crate::helpers::ADMIN_EMAIL, new_password).await;
    let audit = app
        .get(
            &format!("/api/v1/audit?action=user.password_reset&target_id={}", app.admin_id),
            &admin,
        )
        .await;
    let reset = &audit.body["items"][0];
    assert_eq!(reset["after"]["link"], "printed for the operator");
    // Only for system administrators: Carol's way back is through an administrator.
    let out = app.cli(&["users", "link", "carol@company.example"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a company system administrator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
