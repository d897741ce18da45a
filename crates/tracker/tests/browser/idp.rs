//! The test identity provider of SSO1 (npm's oidc-provider, see
//! `tests/oidc-idp/server.mjs`), started for the browser scenario.

use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const CLIENT_ID: &str = "tracker-browser";
pub const CLIENT_SECRET: &str = "browser-idp-secret-0123456789";

pub struct Idp {
    pub issuer: String,
    _child: tokio::process::Child,
}

impl Idp {
    /// Installs (once) and starts the provider for Tracker at `tracker_url`
    /// with these people `(sub, email)`, each with `password`.
    pub async fn start(tracker_url: &str, users: &[(&str, &str)], password: &str) -> Idp {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let setup = tokio::process::Command::new("bash")
            .current_dir(&root)
            .arg("scripts/lib/oidc-idp.sh")
            .output()
            .await
            .expect("run bash");
        assert!(
            setup.status.success(),
            "install oidc-provider: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let users: Vec<serde_json::Value> = users
            .iter()
            .map(|(sub, email)| serde_json::json!({"sub": sub, "email": email, "email_verified": true, "password": password}))
            .collect();
        let mut child = tokio::process::Command::new("node")
            .current_dir(root.join("crates/tracker/tests/oidc-idp"))
            .arg("server.mjs")
            .env("IDP_CLIENT_ID", CLIENT_ID)
            .env("IDP_CLIENT_SECRET", CLIENT_SECRET)
            .env("IDP_REDIRECT_URI", format!("{tracker_url}/sso/callback"))
            .env("IDP_POST_LOGOUT_REDIRECT_URI", format!("{tracker_url}/sign-in"))
            .env("IDP_USERS", serde_json::Value::Array(users).to_string())
            .stdout(Stdio::piped())
            // Its messages show with a failing test's output.
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the provider starts")
            .unwrap()
            .expect("a first line");
        // Keep reading what it prints, so it never writes to a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port = line.strip_prefix("listening ").expect("listening <port>").to_owned();
        Idp {
            issuer: format!("http://127.0.0.1:{port}"),
            _child: child,
        }
    }
}
