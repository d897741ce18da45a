//! N8: the delivery worker that runs inside `tracker serve`.
//!
//! One loop turns mail fanouts (N3 at scale: one row naming many users)
//! into outbox rows a slice at a time, and claims due outbox rows (with a
//! lease, so a worker that dies mid-delivery loses nothing: its rows become
//! due again when the lease runs out), prepares them in one short
//! transaction, and starts their deliveries, at most `concurrency` at a
//! time. Each delivery's outcome is
//! recorded the moment the transport answers, in the next commit of a
//! recorder task that writes together the outcomes that arrived meanwhile
//! (group commit: with SQLite's single writer, one transaction per message
//! was the bottleneck of a bulk send). A delivery holds its slot until its
//! outcome is committed, so the messages accepted by the server but not
//! yet recorded, the only ones a crash can send twice, are never more than
//! `concurrency` (see the crate documentation). Several workers, in one
//! process or many sharing a database, never hold the same row at once.
//!
//! `record` holds the recording side: a delivery's outcome, the group
//! commit that records it, and what is logged and counted afterwards.

use crate::config::{Tally, WorkerConfig};
use crate::prepare::{Claim, Job, Settled};
use crate::transport::Transport;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{Db, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;

mod record;

use record::{count_mail, Recorder};

/// The outbox delivery worker; cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    transport: Transport,
    config: WorkerConfig,
    wake: Arc<Notify>,
    heartbeat: Heartbeat,
    /// Claims of deliveries in flight (row id → `claimed_until`), released
    /// at a stop that cannot wait for them (OP4).
    held: Mutex<HashMap<i64, domain::Millis>>,
}

/// OP1: when the worker's loop last went round, for the readiness check.
/// Cheap to clone; all clones see the same worker.
#[derive(Clone, Default)]
pub struct Heartbeat {
    /// Clock time of the last round; 0 before the first.
    last_tick: Arc<AtomicI64>,
    running: Arc<AtomicBool>,
}

impl Heartbeat {
    /// The clock time of the loop's last round, or `None` when the worker
    /// is not running (not started yet, or stopped).
    pub fn last_tick(&self) -> Option<domain::Millis> {
        self.running.load(Ordering::Acquire).then(|| self.last_tick.load(Ordering::Acquire))
    }

    fn tick(&self, now: domain::Millis) {
        self.last_tick.store(now, Ordering::Release);
        self.running.store(true, Ordering::Release);
    }

    fn stopped(&self) {
        self.running.store(false, Ordering::Release);
    }
}

/// A delivery that is never started with less than this much of its lease
/// left, so that its outcome is recorded before another worker may claim
/// the row.
const LEASE_MARGIN_MS: i64 = 5_000;

impl Worker {
    /// `wake` is the application's signal that it committed new mail
    /// (`notify_one` after the commit); a stored permit is never lost.
    pub fn new(db: Db, transport: Transport, mut config: WorkerConfig, wake: Arc<Notify>) -> Self {
        config.public_url = config.public_url.trim().trim_end_matches('/').to_owned();
        config.concurrency = config.concurrency.max(1);
        config.batch = config.batch.max(1);
        config.max_attempts = config.max_attempts.max(1);
        config.lease_ms = config.lease_ms.max(2 * LEASE_MARGIN_MS);
        let longest = Duration::from_millis(((config.lease_ms - LEASE_MARGIN_MS) / 2) as u64);
        config.send_timeout = config.send_timeout.min(longest).max(Duration::from_millis(100));
        Self {
            inner: Arc::new(Inner {
                db,
                transport,
                config,
                wake,
                heartbeat: Heartbeat::default(),
                held: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// OP1: the worker's heartbeat, for the readiness check.
    pub fn heartbeat(&self) -> Heartbeat {
        self.inner.heartbeat.clone()
    }

    /// Delivers until `shutdown` completes, then stops claiming, lets the
    /// deliveries in flight finish and record their outcome within
    /// `stop_grace`, releases the claims of those that could not (OP4: the
    /// rows are due again at once, for another process to send), and closes
    /// the SMTP connections. Database errors are logged and retried after a
    /// pause that grows from the poll interval to 30 s; they never end the
    /// loop. Spawn it (`tokio::spawn(worker.run(…))`) and await the handle
    /// after signalling `shutdown`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let config = &self.inner.config;
        let mut in_flight = JoinSet::new();
        let (recorder, recording) = self.start_recorder();
        let mut pause_after_error = config.poll_interval;
        tracing::info!(transport = %self.inner.transport.describe(), concurrency = config.concurrency, "mail worker started");
        loop {
            self.inner.heartbeat.tick((config.clock)());
            if self.room(&in_flight) {
                match self.claim(&mut in_flight, &recorder).await {
                    Ok((n, _)) => {
                        pause_after_error = config.poll_interval;
                        if n > 0 {
                            continue;
                        }
                    }
                    Err(e) => {
                        // A database that is down would otherwise log every
                        // poll; the pause doubles up to half a minute.
                        tracing::error!(error = %e, retry_in_ms = pause_after_error.as_millis() as u64, "mail worker cannot claim messages");
                        tokio::select! {
                            biased;
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(pause_after_error) => {}
                        }
                        pause_after_error = (pause_after_error * 2).min(Duration::from_secs(30));
                        continue;
                    }
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                        absorb(done);
                    }
                    () = self.inner.wake.notified() => {}
                    () = tokio::time::sleep(config.poll_interval) => {}
                }
            } else {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    Some(done) = in_flight.join_next() => {
                        absorb(done);
                    }
                    // Still alive while every slot is busy (OP1).
                    () = tokio::time::sleep(config.poll_interval) => {}
                }
            }
        }
        tracing::info!(in_flight = in_flight.len(), "mail worker stopping");
        let drained = tokio::time::timeout(config.stop_grace, async {
            while let Some(done) = in_flight.join_next().await {
                absorb(done);
            }
        })
        .await;
        if drained.is_err() {
            in_flight.abort_all();
            while in_flight.join_next().await.is_some() {}
            self.release_held().await;
        }
        self.inner.heartbeat.stopped();
        drop(recorder);
        let _ = recording.await;
        self.inner.transport.shutdown().await;
        tracing::info!("mail worker stopped");
    }

    /// Delivers every message that is due now, and returns when each has an
    /// outcome. Retries it schedules are not waited for.
    pub async fn run_once(&self) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let mut in_flight = JoinSet::new();
        let (recorder, _recording) = self.start_recorder();
        loop {
            if self.room(&in_flight) {
                match self.claim(&mut in_flight, &recorder).await {
                    Ok((n, settled)) if n > 0 => {
                        tally.add(settled);
                        continue;
                    }
                    Ok(_) if in_flight.is_empty() => return Ok(tally),
                    Ok(_) => {}
                    Err(e) => {
                        while let Some(done) = in_flight.join_next().await {
                            tally.add(absorb(done));
                        }
                        return Err(e);
                    }
                }
            }
            if let Some(done) = in_flight.join_next().await {
                tally.add(absorb(done));
            }
        }
    }

    /// Whether to claim more now: the loop waits until half the slots are
    /// free, so that claims come in batches rather than one row at a time.
    fn room(&self, in_flight: &JoinSet<Tally>) -> bool {
        let c = self.inner.config.concurrency;
        in_flight.is_empty() || c - in_flight.len() >= c.div_ceil(2)
    }

    /// Claims what fits in the free slots and starts those deliveries,
    /// after writing the due rows of one slice of a mail fanout, if any.
    /// Returns how many rows it claimed or users it fanned out, and the
    /// tally of those settled without sending.
    async fn claim(&self, in_flight: &mut JoinSet<Tally>, recorder: &Recorder) -> Result<(usize, Tally), StoreError> {
        let config = &self.inner.config;
        let limit = (config.concurrency - in_flight.len()).min(config.batch);
        let claim = Claim {
            transport: &self.inner.transport,
            public_url: &config.public_url,
            lease_ms: config.lease_ms,
        };
        let mut tx = self.inner.db.write().await?;
        let now = (config.clock)();
        // A slice of a fanout (N3 at scale) becomes due rows first, to be
        // claimed with the rest. A fanout that cannot be read must not stop
        // every other message: its work is undone and logged.
        tx.savepoint("fanout").await?;
        let expanded = match tx.expand_mail_fanout(now).await {
            Ok(n) => n,
            Err(e @ StoreError::Corrupt(_)) => {
                tracing::error!(error = %e, "mail worker cannot write out a mail fanout; other mail goes on");
                tx.rollback_to("fanout").await?;
                0
            }
            Err(e) => return Err(e),
        };
        let (jobs, settled) = claim.run(&mut tx, now, limit).await?;
        tx.commit().await?;
        let claimed = jobs.len() + settled.len() + expanded as usize;
        let mut tally = Tally::default();
        for s in settled {
            tally.add(log_settled(s));
        }
        for job in jobs {
            self.held().insert(job.row.id, job.claimed_until);
            in_flight.spawn(self.clone().deliver(job, recorder.clone()));
        }
        Ok((claimed, tally))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<i64, domain::Millis>> {
        self.inner.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// OP4: puts the rows of deliveries stopped half-way back in the queue,
    /// due now, so that another process sends them at once instead of
    /// after the lease. A row whose outcome was recorded meanwhile, or that
    /// passed to another worker, is left alone (`defer_claimed_mail` checks
    /// the claim). The message may have reached the server already: the
    /// same at-most-`concurrency` duplicates as a crash.
    async fn release_held(&self) {
        let held: Vec<(i64, domain::Millis)> = self.held().drain().collect();
        if held.is_empty() {
            return;
        }
        let released = async {
            let mut tx = self.inner.db.write().await?;
            let now = (self.inner.config.clock)();
            let mut n = 0;
            for (id, claimed_until) in &held {
                n += usize::from(tx.defer_claimed_mail(*id, *claimed_until, now, "released at shutdown").await?);
            }
            tx.commit().await?;
            Ok::<_, StoreError>(n)
        };
        match released.await {
            Ok(n) => tracing::info!(released = n, "mail claims released for another process"),
            Err(e) => tracing::warn!(error = %e, claims = held.len(), "cannot release mail claims; they end with their lease"),
        }
    }

    /// Sends one message and records the outcome.
    async fn deliver(self, job: Job, recorder: Recorder) -> Tally {
        let id = job.row.id;
        let tally = self.deliver_and_record(job, recorder).await;
        self.held().remove(&id);
        tally
    }
}

fn log_settled(s: Settled) -> Tally {
    match s {
        Settled::Cancelled { row, reason } => {
            count_mail(&row.kind, "cancelled");
            tracing::info!(outbox_id = row.id, kind = row.kind, attempt = row.attempts, reason, "mail not sent");
            Tally {
                cancelled: 1,
                ..Tally::default()
            }
        }
        Settled::Failed { row, error } => {
            count_mail(&row.kind, "failed");
            tracing::error!(
                outbox_id = row.id,
                kind = row.kind,
                attempt = row.attempts,
                error,
                "mail cannot be sent"
            );
            Tally {
                failed: 1,
                ..Tally::default()
            }
        }
        Settled::Skipped { row } => {
            tracing::info!(
                outbox_id = row.id,
                kind = row.kind,
                "mail changed by someone else while claimed; left as it is"
            );
            Tally {
                skipped: 1,
                ..Tally::default()
            }
        }
    }
}

/// A delivery task's tally; a panic in one is logged and its row retried
/// after its lease.
fn absorb(done: Result<Tally, tokio::task::JoinError>) -> Tally {
    done.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a mail delivery task failed; its message will be attempted again after its lease");
        Tally {
            skipped: 1,
            ..Tally::default()
        }
    })
}
