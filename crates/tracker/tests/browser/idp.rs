//! The browser scenario's client at the test identity provider of SSO1
//! (`testkit::oidc_idp`).

pub const CLIENT_ID: &str = "tracker-browser";
pub const CLIENT_SECRET: &str = "browser-idp-secret-0123456789";

/// Starts the provider for Tracker at `tracker_url` with these people
/// `(sub, email)`, each with `password`.
pub async fn start(tracker_url: &str, users: &[(&str, &str)], password: &str) -> testkit::oidc_idp::Idp {
    let people: Vec<serde_json::Value> = users
        .iter()
        .map(|(sub, email)| serde_json::json!({"sub": sub, "email": email, "email_verified": true, "password": password}))
        .collect();
    testkit::oidc_idp::Idp::start(tracker_url, CLIENT_ID, CLIENT_SECRET, &serde_json::Value::Array(people).to_string()).await
}
