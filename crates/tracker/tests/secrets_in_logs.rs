//! S1/OP3: no password, session token or sign-in link reaches the log, at
//! any level. The real binary runs with `RUST_LOG=trace`; the test follows
//! an emailed link, sets a password, signs in, uses the session, and then
//! searches everything the process wrote.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tracker");
const PASSWORD: &str = "Log-Secret-Passw0rd!";
const SSO_CLIENT_SECRET: &str = "sso-client-secret-never-logged-0123456789";
const IDP_PASSWORD: &str = "Idp-Secret-Passw0rd-for-logs";

/// The token of the first `…/set-password?token=…` link in `text`.
fn link_token(text: &str) -> String {
    let at = text.find("set-password?token=").expect("a sign-in link") + "set-password?token=".len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn emailed_token(outbox: &Path) -> Option<String> {
    let file = std::fs::read_dir(outbox)
        .ok()?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "eml"))?;
    let raw = std::fs::read_to_string(file.path()).ok()?;
    Some(link_token(&testkit::message::parse(&raw).text))
}

#[tokio::test]
async fn no_secret_reaches_the_log_at_trace_level() {
    no_secret_in("text").await;
}

/// OP3: the JSON lines carry span fields as well; none of them a secret.
#[tokio::test]
async fn no_secret_reaches_the_json_log_at_trace_level() {
    no_secret_in("json").await;
}

async fn no_secret_in(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // The operator's one-time link is printed for the operator: that is
    // the command's output, not a log line.
    let created = Command::new(BIN)
        .args([
            "create-admin",
            "--email",
            "root@company.example",
            "--first-name",
            "Root",
            "--last-name",
            "Admin",
        ])
        .env("TRACKER_DATA_DIR", data)
        .env_remove("TRACKER_DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let admin_link = link_token(&String::from_utf8_lossy(&created.stdout));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log_path = data.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("TRACKER_DATA_DIR", data)
        .env("TRACKER_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("TRACKER_DATABASE_URL")
        .env_remove("TRACKER_PUBLIC_URL")
        .env("RUST_LOG", "trace")
        .env("TRACKER_LOG_FORMAT", format)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{url}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "tracker serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Follow the link as a browser would, then set the password.
    let page = client.get(format!("{url}/set-password?token={admin_link}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let r = client
        .post(format!("{url}/api/v1/password/set"))
        .json(&json!({"token": admin_link, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(format!("{url}/api/v1/sessions"))
        .json(&json!({"email": "root@company.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let session: Value = r.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{url}/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"email": "new@company.example", "first_name": "New", "last_name": "User",
            "side": "company", "role": "company_user", "hold_new_user_email": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The mail worker writes the new user email with its own fresh link.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mailed = loop {
        if let Some(t) = emailed_token(&data.join("outbox")) {
            break t;
        }
        assert!(Instant::now() < deadline, "no email was written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let page = client.get(format!("{url}/set-password?token={mailed}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let r = client
        .post(format!("{url}/api/v1/sessions"))
        .json(&json!({"email": "root@company.example", "password": "Wrong-Passw0rd-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let _ = client.get(format!("{url}/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    let sso = sign_in_through_the_provider(&client, &url, &token).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let written = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        written.contains("/set-password"),
        "requests were logged at all:\n{}",
        &written[..written.len().min(2000)]
    );
    if format == "json" {
        assert!(
            written
                .lines()
                .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["fields"]["message"] == "request finished")),
            "the log was written as JSON lines"
        );
    }
    for (what, secret) in [
        ("the operator's link", admin_link.as_str()),
        ("the emailed link", mailed.as_str()),
        ("the session token", token.as_str()),
        ("the CSRF token", csrf.as_str()),
        ("the password", PASSWORD),
        ("a wrong password", "Wrong-Passw0rd-42"),
        ("the SSO client secret", SSO_CLIENT_SECRET),
        ("the password at the identity provider", IDP_PASSWORD),
        ("the authorization code", sso.code.as_str()),
        ("the SSO state", sso.state.as_str()),
        ("the SSO session token", sso.session.as_str()),
    ] {
        assert!(secret.len() >= 16, "{what} is a real secret");
        assert!(!written.contains(secret), "{what} is in the log");
    }
}

/// The secrets of a sign-in through the identity provider (SSO1).
struct SsoSecrets {
    code: String,
    state: String,
    session: String,
}

/// Registers a real OpenID provider (`testkit::oidc_idp`) with the client
/// secret, signs the administrator in through its login form, and returns
/// the secrets the sign-in carried.
async fn sign_in_through_the_provider(api: &Client, url: &str, admin_token: &str) -> SsoSecrets {
    let people = json!([{"sub": "sub-root", "email": "root@company.example", "email_verified": true, "password": IDP_PASSWORD}]);
    let idp = testkit::oidc_idp::Idp::start(url, "tracker-logs", SSO_CLIENT_SECRET, &people.to_string()).await;
    let r = api
        .patch(format!("{url}/api/v1/settings"))
        .bearer_auth(admin_token)
        .json(&json!({"sso": {"issuer": idp.issuer, "client_id": "tracker-logs", "client_secret": SSO_CLIENT_SECRET}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let browser = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let follow = |mut r: reqwest::Response| {
        let browser = browser.clone();
        async move {
            let mut callback = None;
            for _ in 0..20 {
                let Some(next) = r.headers().get("location").map(|l| r.url().join(l.to_str().unwrap()).unwrap()) else {
                    return (r, callback);
                };
                if next.path() == "/sso/callback" {
                    callback = Some(next.clone());
                }
                if r.url().path() == "/sso/callback" {
                    return (r, callback);
                }
                r = browser.get(next).send().await.unwrap();
            }
            panic!("too many redirects");
        }
    };
    let start = browser.get(format!("{url}/sso/start")).send().await.unwrap();
    let (form, _) = follow(start).await;
    let html = form.text().await.unwrap();
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the provider's login form");
    let posted = browser
        .post(format!("{}{action}", idp.issuer))
        .form(&[("login", "root@company.example"), ("password", IDP_PASSWORD)])
        .send()
        .await
        .unwrap();
    let (landed, callback) = follow(posted).await;
    let callback = callback.expect("sent back to Tracker's callback");
    let session = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("tracker_session="))
        .and_then(|c| c.split(';').next())
        .filter(|t| !t.is_empty())
        .expect("the provider's sign-in opened a session")
        .to_owned();
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} in {callback}"))
    };
    SsoSecrets {
        code: param("code"),
        state: param("state"),
        session,
    }
}
