//! Tracker's outgoing mail (SPEC N5, N6, N8, M1, M2): rendering each kind of
//! message from its outbox row, and delivering the outbox over SMTP or into
//! `.eml` files.
//!
//! The application never sends mail itself. It writes a row into the outbox
//! in the same transaction as the change that causes it, and signals the
//! [`Worker`] through a [`tokio::sync::Notify`]. The worker claims due rows
//! with a lease, prepares them (fresh sign-in link, rendering), hands them to
//! the [`Transport`] and records the outcome. Nothing here knows HTTP.
//!
//! ```no_run
//! # async fn serve(db: store::Db, data_dir: &std::path::Path, wake: std::sync::Arc<tokio::sync::Notify>) -> Result<(), mail::ConfigError> {
//! let transport = mail::Transport::from_config(std::env::var("TRACKER_SMTP_URL").ok().as_deref(), data_dir, "tracker@example.com")?;
//! let worker = mail::Worker::new(db, transport, mail::WorkerConfig::new("https://tracker.example.com"), wake);
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(worker.run(async move { let _ = stopped.await; }));
//! // … serve until asked to stop, then:
//! let _ = stop.send(());
//! let _ = running.await; // in-flight deliveries are finished and recorded
//! # Ok(()) }
//! ```
//!
//! # Delivery guarantee
//!
//! At least once, with the duplicate window as small as SMTP allows. A
//! message is marked sent in its own transaction right after the server
//! accepted it, so the only message that can arrive twice is one whose
//! acceptance happened but whose `sent` commit did not (the process died in
//! between, or the server accepted after our timeout gave up on its
//! answer). Every such copy carries the same `Message-ID`, derived from the
//! outbox row, so mail clients show it once.

mod backoff;
mod config;
mod error;
mod message;
mod prepare;
mod render;
mod smtp_pool;
mod smtp_url;
mod transport;
mod worker;

pub use config::{system_clock, Clock, Tally, WorkerConfig};
pub use error::ConfigError;
pub use smtp_url::{Security, SmtpUrl};
pub use transport::Transport;
pub use worker::{Heartbeat, Worker};
