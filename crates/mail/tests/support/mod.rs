//! Shared set-up for the mail tests and the benchmark: a fresh SQLite file
//! database, a clock the test moves, users and outbox rows written through
//! the store API, and a parser for what the SMTP sink received.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use testkit::smtp_sink;

use domain::model::{EmailStatus, NewUserEmail, User};
use domain::{Millis, Role, Side, UserId};
use mail::{Clock, Transport, Worker, WorkerConfig};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::{Db, MailKind, OutboxMessage};
use tokio::sync::Notify;

pub const PUBLIC_URL: &str = "https://tracker.example.com";
pub const FROM: &str = "Tracker <tracker@legal.example.com>";
/// 2023-11-14 22:13:20 UTC: a fixed start so that dates in messages are
/// predictable.
pub const START: Millis = 1_700_000_000_000;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub db_url: String,
    now: Arc<AtomicI64>,
    pub wake: Arc<Notify>,
}

pub async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/t.db", dir.path().display());
    let db = Db::connect(&db_url).await.unwrap();
    db.migrate().await.unwrap();
    Env {
        dir,
        db,
        db_url,
        now: Arc::new(AtomicI64::new(START)),
        wake: Arc::new(Notify::new()),
    }
}

impl Env {
    pub fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }

    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.now);
        Arc::new(move || now.load(Ordering::SeqCst))
    }

    pub fn config(&self) -> WorkerConfig {
        WorkerConfig {
            clock: self.clock(),
            ..WorkerConfig::new(format!("{PUBLIC_URL}/"))
        }
    }

    /// A worker delivering to `smtp_url`, or to files in the data
    /// directory when `None`.
    pub fn worker(&self, smtp_url: Option<&str>, tweak: impl FnOnce(&mut WorkerConfig)) -> Worker {
        let transport = Transport::from_config(smtp_url, self.dir.path(), FROM).unwrap();
        let mut config = self.config();
        tweak(&mut config);
        Worker::new(self.db.clone(), transport, config, Arc::clone(&self.wake))
    }

    pub async fn add_user(&self, email: &str, first: &str, last: &str, active: bool) -> UserId {
        let now = self.now();
        let user = User {
            id: UserId::generate(),
            email: domain::Email::parse(email).unwrap(),
            first_name: domain::PersonName::parse("first_name", first).unwrap(),
            last_name: domain::PersonName::parse("last_name", last).unwrap(),
            side: Side::Company,
            firm_id: None,
            office_id: None,
            role: Role::CompanyUser,
            active,
            activated_at: None,
            last_sign_in_at: None,
            created_at: now,
            updated_at: now,
            deactivated_at: if active { None } else { Some(now) },
            new_user_email: NewUserEmail {
                status: EmailStatus::Queued,
                sent_at: None,
                send_count: 0,
                last_change_at: Some(now),
            },
            locked_until: None,
            lock_reason: None,
        };
        let mut tx = self.db.write().await.unwrap();
        tx.insert_user(&user).await.unwrap();
        tx.commit().await.unwrap();
        user.id
    }

    pub async fn set_company(&self, name: &str, coordinator: Option<&UserId>, link_ttl_hours: i64) {
        let mut tx = self.db.write().await.unwrap();
        let mut s = tx.settings().await.unwrap();
        s.company_name = domain::EntityName::parse("company_name", name).unwrap();
        s.tracker_coordinator_id = coordinator.cloned();
        s.link_ttl_hours = link_ttl_hours;
        tx.save_settings(&s, self.now()).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn enqueue(&self, kind: MailKind, user: Option<&UserId>, address: &str, payload: serde_json::Value) -> i64 {
        let mut tx = self.db.write().await.unwrap();
        // As given, so that tests can also store what the application never
        // would (a corrupt payload).
        let id = tx
            .enqueue_raw_mail(kind.as_str(), user, address, &payload.to_string(), self.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn outbox(&self, id: i64) -> OutboxMessage {
        self.db.read().await.unwrap().mail_message(id).await.unwrap().expect("outbox row")
    }

    pub async fn user(&self, id: &UserId) -> User {
        self.db.read().await.unwrap().user(id).await.unwrap().expect("user")
    }

    pub async fn deactivate(&self, id: &UserId) {
        let mut tx = self.db.write().await.unwrap();
        tx.set_user_active(id, false, self.now()).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[allow(unused_imports)]
pub use testkit::message::{parse, Parsed};

/// The token of the sign-in link in a message body.
pub fn link_token(body: &str) -> String {
    testkit::message::link_token(body, PUBLIC_URL)
}

pub const WAIT: Duration = Duration::from_secs(10);
