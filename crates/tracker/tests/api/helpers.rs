//! One way to start Tracker for a test: the real server on a random port
//! with a fresh SQLite file, and typed helpers to talk to it over HTTP.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tracker::config::{ServeConfig, Storage};

pub const ADMIN_EMAIL: &str = "root@company.example";
pub const PASSWORD: &str = "Str0ng-Passw0rd!";

pub struct TestApp {
    pub url: String,
    pub client: Client,
    pub running: Option<tracker::Running>,
    pub dir: TempDir,
    /// The PostgreSQL database of this test, or `None` for the SQLite file
    /// in `dir`.
    pub database_url: Option<String>,
    /// A signed-in company system administrator.
    pub admin: String,
    pub admin_id: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("an id").to_owned()
    }
}

/// One request; every argument owned, so that the future can be spawned on
/// any worker thread (the race tests fire many at once). A body that is not
/// JSON comes back as a JSON string, an empty one as `null`.
pub async fn send(client: Client, url: String, method: Method, token: Option<String>, body: Option<Value>) -> Reply {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply { status, body, headers }
}

/// A client that shows redirects instead of following them, as the page
/// tests need.
pub fn no_redirects() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The wall clock, in milliseconds since the epoch.
/// A user list query of the first 50 by name: a test sets what it varies
/// on it (`UserQuery { sort, ..user_query(…) }`).
/// The `key` text of each of a list answer's `items`, in order.
pub fn item_texts(list: &Value, key: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

pub fn user_query(scope: domain::access::UserScope, org: store::Org, status: store::Status) -> store::UserQuery {
    store::UserQuery {
        scope,
        org,
        status,
        q: None,
        sort: store::SortKey::Name,
        descending: false,
        limit: 50,
        offset: 0,
        after: None,
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A moment in milliseconds since the epoch as RFC 3339 text.
pub fn rfc3339(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// With `TRACKER_TEST_DATABASE_URL` (a PostgreSQL server URL without a
/// database, as `scripts/with-postgres.sh` exports) every test gets a fresh
/// PostgreSQL database; without it, a fresh SQLite file.
pub async fn test_database_url() -> Option<String> {
    let server = std::env::var("TRACKER_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
    let name = format!("t_{}", uuid_like());
    Some(
        store::Db::create_postgres_database(&server, &name)
            .await
            .expect("create a test database"),
    )
}

fn uuid_like() -> String {
    let (token, _) = domain::secret::new_token();
    token
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts Tracker with a changed configuration, e.g. an SMTP URL pointing
/// at a `testkit::smtp_sink::SmtpSink`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut ServeConfig)) -> TestApp {
    // Logs show with a failing test's output only.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,tracker=info")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServeConfig {
        storage: Storage {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        listen: "127.0.0.1:0".into(),
        public_url: None,
        smtp_url: None,
        mail_from: "Tracker <tracker@test.example>".into(),
        demo: false,
        test_clock: true,
        http: Default::default(),
        ops: Default::default(),
    };
    cfg.storage.database_url = test_database_url().await;
    tweak(&mut cfg);
    let running = tracker::start(&cfg).await.expect("server starts");
    let url = format!("http://{}", running.addr);
    // A database copied from another test already has its administrator.
    let admin_id = match running.app.create_admin(ADMIN_EMAIL, "Root", "Admin", Some(PASSWORD.into())).await {
        Ok(created) => created.user.id.to_string(),
        Err(e) if e.code() == "email_taken" => {
            let mut tx = running.app.db.read().await.unwrap();
            tx.user_by_email(ADMIN_EMAIL)
                .await
                .unwrap()
                .expect("the administrator")
                .id
                .to_string()
        }
        Err(e) => panic!("admin: {e:?}"),
    };
    let client = Client::builder().build().unwrap();
    let database_url = cfg.storage.database_url.clone();
    let mut app = TestApp {
        url,
        client,
        running: Some(running),
        dir,
        database_url,
        admin: String::new(),
        admin_id,
    };
    app.admin = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    app
}

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        send(
            self.client.clone(),
            format!("{}{}", self.url, path),
            method,
            token.map(str::to_owned),
            body,
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends a raw body with a content type, for malformed-input tests.
    pub async fn raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: &str) -> Reply {
        self.raw_with(method, path, token, &[("content-type", content_type)], Some(body))
            .await
    }

    /// Sends a raw body, if any, with the headers given (a content type,
    /// `If-Match`, …). An answer that is not JSON reads as `null`.
    pub async fn raw_with(&self, method: Method, path: &str, token: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
        let mut req = self.client.request(method, format!("{}{}", self.url, path)).bearer_auth(token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.json().await.unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "sign in {email}: {}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Creates a user through the API as the admin; returns its id.
    pub async fn create_user(&self, body: Value) -> String {
        let r = self.post("/api/v1/users", &self.admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create user: {}", r.body);
        r.id()
    }

    /// Waits (up to 10 s) until the mail worker has taken the user's
    /// queued new user email on (sent, or failed), so that a test can ask
    /// for it again without racing the worker (N4 refuses while queued).
    pub async fn new_user_email_left_the_queue(&self, id: &str) {
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let r = self.get(&format!("/api/v1/users/{id}"), &self.admin).await;
            assert_eq!(r.status, StatusCode::OK, "user {id}: {}", r.body);
            if r.body["new_user_email"]["status"] != "queued" {
                return;
            }
            assert!(
                std::time::Instant::now() < limit,
                "the new user email of {id} is still queued after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn company_user(&self, email: &str, role: &str, office: Option<&str>) -> String {
        self.create_user(json!({"email": email, "first_name": "Test", "last_name": email.split('@').next().unwrap(), "side": "company", "role": role, "office_id": office, "hold_new_user_email": true})).await
    }

    /// A company user (plain role, no office) who has set a password and
    /// signed in: their id and session token.
    pub async fn signed_in_company_user(&self, email: &str) -> (String, String) {
        let id = self.company_user(email, "company_user", None).await;
        let token = self.password_for(&id, email).await;
        (id, token)
    }

    pub async fn firm_user(&self, email: &str, role: &str, firm: &str) -> String {
        self.create_user(json!({"email": email, "first_name": "Firm", "last_name": email.split('@').next().unwrap(), "side": "firm", "firm_id": firm, "role": role, "hold_new_user_email": true})).await
    }

    /// `POST /sessions`, whatever it answers.
    /// From now on, requests say they come from `address` through a proxy
    /// (the server must trust 127.0.0.1 as one: S12). A test that signs in
    /// many times moves to a fresh address instead of meeting the
    /// per-address rate limits.
    pub fn come_from(&mut self, address: &str) {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().expect("an address"));
        self.client = Client::builder().default_headers(headers).build().unwrap();
    }

    pub async fn try_sign_in(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// `POST /password/set` with a link's token, whatever it answers.
    pub async fn set_password(&self, token: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/password/set",
            None,
            Some(json!({"token": token, "password": password})),
        )
        .await
    }

    /// A one-time sign-in link's token for the user's current address, made
    /// directly (as the mail worker would) so no mail is needed.
    pub async fn link_for(&self, user_id: &str) -> String {
        let app = &self.running.as_ref().unwrap().app;
        let mut tx = app.db.write().await.unwrap();
        let id = domain::UserId::from(user_id);
        let email = tx.user(&id).await.unwrap().expect("user").email;
        let (token, hash) = domain::secret::new_token();
        tx.insert_link(
            &hash,
            &id,
            &email,
            domain::links::LinkPurpose::PasswordReset,
            app.now(),
            app.now() + 3_600_000,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        token
    }

    /// Gives a user a password directly (as an emailed link would) and signs in.
    pub async fn password_for(&self, user_id: &str, email: &str) -> String {
        let token = self.link_for(user_id).await;
        let r = self
            .call(
                Method::POST,
                "/api/v1/password/set",
                None,
                Some(json!({"token": token, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "set password: {}", r.body);
        self.sign_in(email, PASSWORD).await
    }

    pub async fn office(&self, name: &str) -> String {
        let r = self.post("/api/v1/offices", &self.admin, json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.id()
    }

    /// Creates a firm with its administrator; returns (firm id, admin id).
    pub async fn firm(&self, name: &str, admin_email: &str) -> (String, String) {
        let r = self.post("/api/v1/firms", &self.admin, json!({"name": name, "administrator": {"email": admin_email, "first_name": "Firm", "last_name": "Admin", "hold_new_user_email": true}})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (r.id(), r.body["administrator"]["id"].as_str().unwrap().to_owned())
    }

    pub async fn matter(&self, number: &str, lead: &str) -> String {
        let r = self
            .post(
                "/api/v1/matters",
                &self.admin,
                json!({"name": format!("Matter {number}"), "number": number, "lead_company_person_id": lead}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.id()
    }

    /// Adds a participant as the administrator, which must succeed.
    pub async fn add_participant(&self, matter: &str, user: &str, role: &str, notified: bool) {
        let body = json!({"user_id": user, "role": role, "receives_notifications": notified});
        let r = self
            .post(&format!("/api/v1/matters/{matter}/participants"), &self.admin, body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    /// Opens or closes a matter for editing and invoicing alike, as the
    /// administrator; it must succeed.
    pub async fn set_matter_open(&self, matter: &str, open: bool) {
        let body = json!({"open_for_editing": open, "open_for_invoicing": open});
        let r = self.patch(&format!("/api/v1/matters/{matter}"), &self.admin, body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    /// A user's row in a matter's participant list, as the administrator sees it.
    pub async fn participant_row(&self, matter: &str, user: &str) -> Value {
        let parts = self.get(&format!("/api/v1/matters/{matter}/participants"), &self.admin).await.body;
        let rows = parts["items"].as_array().unwrap_or_else(|| panic!("items: {parts}"));
        rows.iter()
            .find(|p| p["user_id"] == user)
            .unwrap_or_else(|| panic!("{user} in {parts}"))
            .clone()
    }

    pub async fn user_count(&self) -> i64 {
        let app = &self.running.as_ref().unwrap().app;
        let mut tx = app.db.read().await.unwrap();
        tx.count_users().await.unwrap()
    }

    /// Audit entries, newest first, with optional filters as a query string.
    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/audit?{query}"), &self.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["items"].as_array().unwrap().clone()
    }

    /// A new system administrator created by the operator now, signed in:
    /// for tests that move the clock past every session and the inactivity
    /// limit of the first administrator.
    pub async fn fresh_admin(&self, email: &str) -> String {
        let app = &self.running.as_ref().unwrap().app;
        app.create_admin(email, "Fresh", "Admin", Some(PASSWORD.into()))
            .await
            .expect("admin");
        self.sign_in(email, PASSWORD).await
    }

    /// Runs the `tracker` binary against this test's database.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracker"));
        cmd.args(args)
            .env("TRACKER_DATA_DIR", self.dir.path())
            .env_remove("TRACKER_DATABASE_URL")
            .env("RUST_LOG", "error");
        if let Some(url) = &self.database_url {
            cmd.env("TRACKER_DATABASE_URL", url);
        }
        cmd.output().await.expect("run the tracker binary")
    }

    /// Runs SQL statements on this test's database over a connection of
    /// their own, bypassing Tracker (as someone with database access could).
    pub async fn sql(&self, statements: &[&str]) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        match &self.database_url {
            Some(url) => {
                let mut c = sqlx::PgConnection::connect(url).await?;
                for s in statements {
                    sqlx::query(s).execute(&mut c).await?;
                }
            }
            None => {
                let url = format!("sqlite://{}/tracker.db", self.dir.path().display());
                let mut c = sqlx::SqliteConnection::connect(&url).await?;
                for s in statements {
                    sqlx::query(s).execute(&mut c).await?;
                }
            }
        }
        Ok(())
    }

    pub async fn advance_clock(&self, ms: i64) {
        let r = self
            .call(Method::POST, "/api/v1/_test/clock", None, Some(json!({"advance_ms": ms})))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

/// The running server's application, for what a test calls directly (the
/// minute sweeps, the store).
pub fn app_of(app: &TestApp) -> &app::App {
    &app.running.as_ref().unwrap().app
}
