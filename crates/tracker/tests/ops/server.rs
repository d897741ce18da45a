//! One running `tracker serve` child process and what the tests do to it.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_tracker");
pub const ADMIN: &str = "root@company.example";
pub const PASSWORD: &str = "Str0ng-Passw0rd!";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub addr: String,
    pub dir: TempDir,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// Creates the administrator in a fresh data directory with the command
/// line, then starts `serve` with `env` added, and waits until it answers.
pub async fn start(env: &[(&str, String)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, env).await
}

pub async fn start_in(dir: TempDir, env: &[(&str, String)]) -> Server {
    if !dir.path().join("tracker.db").exists() {
        let mut tracker = Command::new(BIN);
        tracker
            .env("TRACKER_DATA_DIR", dir.path())
            .env_remove("TRACKER_DATABASE_URL")
            .env("RUST_LOG", "error");
        testkit::cli::create_admin(tracker, ADMIN, PASSWORD);
    }
    let port = free_port();
    let stdout = dir.path().join("serve.out");
    let stderr = dir.path().join("serve.err");
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("TRACKER_DATA_DIR", dir.path())
        .env("TRACKER_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info,sqlx=warn")
        .env_remove("TRACKER_DATABASE_URL")
        .env_remove("TRACKER_PUBLIC_URL")
        .env_remove("TRACKER_LOG_FORMAT")
        .env_remove("TRACKER_METRICS_LISTEN")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start tracker serve");
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        addr: format!("127.0.0.1:{port}"),
        dir,
        stdout,
        stderr,
    };
    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "tracker serve did not come up:\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

impl Server {
    pub fn logs(&self) -> String {
        format!(
            "{}{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits for the process to end, at most `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {limit:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        Client::new()
            .post(format!("{}/api/v1/sessions", self.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_token(&self) -> (String, String) {
        let r = self.sign_in(ADMIN, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.unwrap();
        (
            body["token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON body of a new company user.
pub fn new_user(email: &str, hold: bool) -> Value {
    json!({"email": email, "first_name": "Test", "last_name": "User", "side": "company",
        "role": "company_user", "hold_new_user_email": hold})
}
