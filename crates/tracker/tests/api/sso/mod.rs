//! SSO1: OpenID Connect sign-in against a real identity provider — npm's
//! `oidc-provider`, started per test (`testkit::oidc_idp`) from
//! `tests/oidc-idp/server.mjs` (installed by `scripts/lib/oidc-idp.sh`). A
//! plain HTTP client with a cookie store plays the browser: it follows the
//! redirects, fills the provider's login form, and comes back to Tracker's
//! callback. The provider's `/_control` makes it answer as a broken or
//! hostile provider would (other keys, another audience, an old token, a
//! wrong nonce, an error), so every failure is met for real.

use crate::helpers::{no_redirects, spawn_app, TestApp, PASSWORD};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use testkit::oidc_idp::Idp;

mod failures;
mod sign_in;

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

    /// A page of Tracker, as text.
    async fn page(&self, app: &TestApp, path: &str) -> String {
        self.client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Posts the sign-out form with a session, as the page would.
    async fn sign_out(&self, app: &TestApp, session: &str) -> Response {
        self.client
            .post(format!("{}/sign-out", app.url))
            .header("cookie", format!("tracker_session={session}"))
            .form(&[("csrf", web::extract::csrf_token(session))])
            .send()
            .await
            .unwrap()
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
