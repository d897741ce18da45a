//! A real OpenID provider for the single sign-on tests (SSO1): npm's
//! `oidc-provider`, run with node by `crates/tracker/tests/oidc-idp/server.mjs`
//! on a free loopback port, installed once by `scripts/lib/oidc-idp.sh` from
//! its committed lock file. It has one client, for the Tracker under test,
//! and signs people in through its own plain HTML login form; its
//! `POST /_control` makes it answer as a broken or hostile provider would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running provider; stopped when dropped.
pub struct Idp {
    /// `http://127.0.0.1:<port>`, the issuer to configure in Tracker.
    pub issuer: String,
    child: tokio::process::Child,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Idp {
    /// Installs (once) and starts the provider with the client
    /// `client_id`/`client_secret` of the Tracker at `tracker_url`, and
    /// `people`: a JSON array of objects with `sub`, `email`, `password`
    /// and any of `email_verified`, `xms_edov`.
    pub async fn start(tracker_url: &str, client_id: &str, client_secret: &str, people: &str) -> Idp {
        let root = repo_root();
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
        let mut child = tokio::process::Command::new("node")
            .current_dir(root.join("crates/tracker/tests/oidc-idp"))
            .arg("server.mjs")
            .env("IDP_CLIENT_ID", client_id)
            .env("IDP_CLIENT_SECRET", client_secret)
            .env("IDP_REDIRECT_URI", format!("{tracker_url}/sso/callback"))
            .env("IDP_POST_LOGOUT_REDIRECT_URI", format!("{tracker_url}/sign-in"))
            .env("IDP_USERS", people)
            .stdout(Stdio::piped())
            // Its messages show with a failing test's output.
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the provider starts")
            .expect("read its output")
            .expect("a first line");
        // Keep reading what it prints, so it never writes to a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port = line.strip_prefix("listening ").expect("listening <port>");
        Idp {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// Stops the provider now (an identity provider that is down).
    pub async fn stop(&mut self) {
        self.child.kill().await.expect("stop node");
    }
}
