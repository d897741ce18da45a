//! What the application chooses about the worker, and what a run reports.

use domain::Millis;
use std::sync::Arc;
use std::time::Duration;

/// The current time in milliseconds since the epoch. The application passes
/// its own clock (e.g. `Arc::new(move || app.clock.now())`), so tests that
/// move time see links expire and retries fall due.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// How the worker behaves. [`WorkerConfig::new`] gives the defaults.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Base of links in messages (`TRACKER_PUBLIC_URL`).
    pub public_url: String,
    /// Deliveries in flight at once, hence also SMTP connections, and the
    /// most messages a crash can send twice (accepted by the server, not
    /// yet recorded). One connection carries several hundred messages a
    /// second to a local server (Nagle is off, see `smtp_pool.rs`); the
    /// default 8 reach over 2,000 a second (`benches/delivery.rs`).
    pub concurrency: usize,
    /// Most rows claimed in one transaction.
    pub batch: usize,
    /// Attempts before a message that keeps failing for now is given up.
    pub max_attempts: i64,
    /// How long a claim holds a row. Must comfortably exceed `send_timeout`.
    pub lease_ms: i64,
    /// The longest one delivery may take before it counts as a transient
    /// failure.
    pub send_timeout: Duration,
    /// How often to look for due rows when nobody signalled: retries
    /// falling due, and mail queued by another process.
    pub poll_interval: Duration,
    /// At a stop, how long deliveries in flight may take to finish before
    /// they are cut off and their claims released (OP4,
    /// `TRACKER_SHUTDOWN_GRACE`).
    pub stop_grace: Duration,
    pub clock: Clock,
}

impl WorkerConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            concurrency: 8,
            batch: 32,
            max_attempts: 10,
            lease_ms: 60_000,
            send_timeout: Duration::from_secs(20),
            poll_interval: Duration::from_secs(1),
            stop_grace: Duration::from_secs(20),
            clock: system_clock(),
        }
    }
}

/// What a run did with the messages it claimed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Accepted by the mail server (or written to a file).
    pub sent: usize,
    /// Failed for now; queued again with a delay.
    pub retried: usize,
    /// Given up for good.
    pub failed: usize,
    /// Not sent because the recipient is inactive (N7).
    pub cancelled: usize,
    /// Changed by someone else meanwhile (cancelled by the application, or
    /// re-claimed after the lease ran out); left as they were.
    pub skipped: usize,
}

impl Tally {
    pub fn handled(&self) -> usize {
        self.sent + self.retried + self.failed + self.cancelled + self.skipped
    }

    pub(crate) fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
        self.skipped += other.skipped;
    }
}
