//! Tracker's use cases. Each public method of [`App`] is one thing a person
//! or an operator does: it checks the caller's scope, validates the input
//! into domain types, applies the rules, and writes the change, its audit
//! entry and any outbox message in one store transaction. The JSON API, the
//! web pages and the command line all call these; none of them decides a
//! rule on its own.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod ctx;
pub mod delegates;
pub mod demo;
pub mod directory;
pub mod error;
pub mod exchange;
pub mod firms;
pub mod hooks;
pub mod lifecycle;
pub mod limits;
pub mod matters;
pub mod offboarding;
pub mod offices;
pub mod onboarding;
pub mod operator;
pub mod password;
pub mod routes;
pub mod settings;
pub mod sso;
pub mod ui_support;
pub mod users;
pub mod views;

#[cfg(feature = "test-hooks")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use ctx::Ctx;
pub use error::{AppError, AppResult, ErrorKind};

use std::sync::Arc;
use store::Db;

/// Settings of the running service that are not company settings.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Base of links in emails and pages, without a trailing slash.
    pub public_url: String,
    /// Attempts a minute on sign-in and set-password.
    pub limits: limits::LimitConfig,
    /// S12: proxies whose `X-Forwarded-For` is believed
    /// (`TRACKER_TRUSTED_PROXIES`); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            limits: limits::LimitConfig::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The application: a database, a clock and a way to wake the mail worker.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<AppConfig>,
    /// Signalled after a commit that queued mail, so delivery starts at once.
    pub mail_waker: Arc<tokio::sync::Notify>,
    pub limits: Arc<limits::Limits>,
    /// S12: the bound on requests waiting to hash a password.
    pub hashing: Arc<password::HashGate>,
    /// Pause points; inert outside test builds.
    pub hooks: Arc<hooks::Hooks>,
    /// The key that signs one-time notices, read once a process.
    flash_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// SSO1: the relying party's cached provider metadata and keys.
    pub sso: Arc<sso::Rp>,
    /// A3: imports a page follows with a progress bar.
    pub imports: Arc<exchange::ImportTracker>,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        let limits = Arc::new(limits::Limits::new(config.limits));
        Self {
            db,
            clock,
            config: Arc::new(config),
            mail_waker: Arc::new(tokio::sync::Notify::new()),
            limits,
            hashing: Arc::new(password::HashGate::default()),
            hooks: Arc::new(hooks::Hooks::default()),
            flash_key: Arc::default(),
            sso: Arc::new(sso::Rp::default()),
            imports: Arc::new(exchange::ImportTracker::default()),
        }
    }

    /// The key that signs the one-time notices pages carry across a
    /// redirect: made by the first process that needs it and kept in the
    /// database, so every process of a deployment shares it.
    pub async fn flash_key(&self) -> AppResult<&[u8]> {
        let key = self
            .flash_key
            .get_or_try_init(|| async {
                let (fresh, _) = domain::secret::new_token();
                let key = self.db.server_key("flash", &fresh, self.now()).await?;
                Ok::<_, AppError>(key.into_bytes())
            })
            .await?;
        Ok(key)
    }

    pub fn now(&self) -> domain::Millis {
        self.clock.now()
    }

    /// Commits `tx` and, if it queued mail, wakes the delivery worker.
    pub(crate) async fn commit(&self, tx: store::Tx, queued_mail: bool) -> AppResult<()> {
        tx.commit().await?;
        if queued_mail {
            self.mail_waker.notify_one();
        }
        Ok(())
    }
}

/// A requested page of a list (SPEC §8: `page` from 1, `per_page` ≤ 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    pub const MAX_PER_PAGE: i64 = 500;
    pub const DEFAULT_PER_PAGE: i64 = 50;

    pub fn new(page: Option<i64>, per_page: Option<i64>) -> AppResult<Self> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(1..=1_000_000).contains(&page) {
            return Err(domain::Invalid::new("page", "out_of_range", "page starts at 1").into());
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(domain::Invalid::new(
                "per_page",
                "out_of_range",
                format!("per_page must be between 1 and {}", Self::MAX_PER_PAGE),
            )
            .into());
        }
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

/// One page of results and the total that match.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: Page,
}
