//! SSO1: OpenID Connect sign-in against a real identity provider — npm's
//! `oidc-provider`, started per test (`testkit::oidc_idp`) from
//! `tests/oidc-idp/server.mjs` (installed by `scripts/lib/oidc-idp.sh`). A
//! plain HTTP client with a cookie store plays the browser: it follows the
//! redirects, fills the provider's login form, and comes back to Tracker's
//! callback. The provider's `/_control` makes it answer as a broken or
//! hostile provider would (other keys, another audience, an old token, a
//! wrong nonce, an error), so every failure is met for real.

use crate::helpers::{spawn_app, TestApp, PASSWORD};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use testkit::oidc_idp::Idp;

const CLIENT_ID: &str = "tracker-test";
const CLIENT_SECRET: &str = "idp-client-secret-never-shown-0123456789";
const S2_MESSAGE: &str = "The email or password is not correct.";

/// Starts the provider for `app`'s callback, with these people:
/// `(sub, email, email_verified)`, password [`PASSWORD`].
async fn start_idp(app: &TestApp, users: &[(&str, &str, bool)]) -> Idp {
    let users: Vec<Value> = users
        .iter()
        .map(|(sub, email, verified)| json!({"sub": sub, "email": email, "email_verified": verified, "password": PASSWORD}))
        .collect();
    start_idp_with(app, users).await
}

/// As [`start_idp`], with each person's claims as JSON (`sub`, `email`,
/// `password`, and any of `email_verified`, `xms_edov`).
async fn start_idp_with(app: &TestApp, users: Vec<Value>) -> Idp {
    Idp::start(&app.url, CLIENT_ID, CLIENT_SECRET, &Value::Array(users).to_string()).await
}

/// Makes the provider answer differently from now on (see server.mjs).
async fn control(idp: &Idp, mode: Value) {
    let r = Client::new()
        .post(format!("{}/_control", idp.issuer))
        .json(&mode)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// Configures single sign-on with `idp` as the admin.
async fn configure(app: &TestApp, idp: &Idp, only_sso: bool) {
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"sso": {"issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "only_sso_for_company_users": only_sso}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A browser: cookies kept, redirects followed one by one.
struct Browser {
    client: Client,
    /// The last callback URL Tracker was sent to.
    callback: Option<String>,
}

/// How a sign-in through the provider ended at Tracker.
struct Landed {
    status: StatusCode,
    location: Option<String>,
    /// Tracker's session token, when the answer set the session cookie.
    session: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Self {
        Self {
            client: Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap(),
            callback: None,
        }
    }

    /// Follows redirects from `resp` until an answer that is not one, or one
    /// that leaves Tracker's callback (the end of the sign-in).
    async fn follow(&mut self, mut resp: Response, app: &TestApp) -> Landed {
        for _ in 0..20 {
            let from_callback = resp.url().path() == "/sso/callback" && resp.url().as_str().starts_with(&app.url);
            let session = session_of(&resp);
            let location = resp
                .headers()
                .get("location")
                .map(|l| resp.url().join(l.to_str().unwrap()).unwrap().to_string());
            if from_callback || location.is_none() {
                let status = resp.status();
                return Landed {
                    status,
                    location,
                    session,
                    body: resp.text().await.unwrap(),
                };
            }
            let next = location.unwrap();
            if next.starts_with(&format!("{}/sso/callback", app.url)) {
                self.callback = Some(next.clone());
            }
            resp = self.client.get(&next).send().await.unwrap();
        }
        panic!("too many redirects");
    }

    /// From `/sso/start` to the provider's login form; returns the form's
    /// action URL.
    async fn open_login_form(&mut self, app: &TestApp) -> String {
        let r = self.client.get(format!("{}/sso/start?next=/users", app.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "start");
        let landed = self.follow(r, app).await;
        assert_eq!(landed.status, StatusCode::OK, "the login form: {}", landed.body);
        let action = landed
            .body
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a login form");
        action.to_owned()
    }

    /// Signs in at the provider with `email`/`password` and follows the
    /// answer back to Tracker.
    async fn sign_in(&mut self, app: &TestApp, idp: &Idp, email: &str, password: &str) -> Landed {
        let action = self.open_login_form(app).await;
        let r = self
            .client
            .post(format!("{}{action}", idp.issuer))
            .form(&[("login", email), ("password", password)])
            .send()
            .await
            .unwrap();
        self.follow(r, app).await
    }

    /// Pushes the login form's cancel button: the provider answers the
    /// callback with `error=access_denied`.
    async fn cancel(&mut self, app: &TestApp, idp: &Idp) -> Landed {
        let action = self.open_login_form(app).await.replace("/login", "/abort");
        let r = self.client.post(format!("{}{action}", idp.issuer)).send().await.unwrap();
        self.follow(r, app).await
    }

    /// Stops just before Tracker's callback: returns its URL, not visited.
    async fn up_to_callback(&mut self, app: &TestApp, idp: &Idp, email: &str) -> String {
        let action = self.open_login_form(app).await;
        let mut r = self
            .client
            .post(format!("{}{action}", idp.issuer))
            .form(&[("login", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        for _ in 0..20 {
            let next = r
                .headers()
                .get("location")
                .map(|l| r.url().join(l.to_str().unwrap()).unwrap().to_string())
                .expect("a redirect");
            if next.starts_with(&format!("{}/sso/callback", app.url)) {
                return next;
            }
            r = self.client.get(&next).send().await.unwrap();
        }
        panic!("never reached the callback");
    }
}

fn session_of(resp: &Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("tracker_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
        .filter(|t| !t.is_empty())
}

/// The newest `user.sign_in_failed` entry made through the provider.
async fn last_oidc_failure(app: &TestApp) -> Value {
    app.audit("action=user.sign_in_failed")
        .await
        .into_iter()
        .find(|e| e["after"]["method"] == "oidc")
        .expect("an oidc failure in the audit log")
}

/// The page message of a refused sign-in.
fn alert(body: &str) -> String {
    body.split("role=\"alert\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default()
        .to_owned()
}

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
    let page = Browser::new().client.get(format!("{}/sign-in", app.url)).send().await.unwrap();
    let html = page.text().await.unwrap();
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
        let mut req = Client::builder().redirect(Policy::none()).build().unwrap().get(&callback);
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
    let html = Browser::new()
        .client
        .get(format!("{}/sign-in", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"sso-only-note\""), "{html}");

    // Carol signs in through the provider, then out: Tracker's session
    // ends and the browser goes on to the provider's end_session_endpoint.
    let mut browser = Browser::new();
    let landed = browser.sign_in(&app, &idp, "carol@company.example", PASSWORD).await;
    let token = landed.session.expect("a session");
    let r = browser
        .client
        .post(format!("{}/sign-out", app.url))
        .header("cookie", format!("tracker_session={token}"))
        .form(&[("csrf", web::extract::csrf_token(&token))])
        .send()
        .await
        .unwrap();
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
    let r = browser
        .client
        .post(format!("{}/sign-out", app.url))
        .header("cookie", format!("tracker_session={admin}"))
        .form(&[("csrf", web::extract::csrf_token(&admin))])
        .send()
        .await
        .unwrap();
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
