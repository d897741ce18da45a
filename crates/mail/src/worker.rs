//! N8: the delivery worker that runs inside `tracker serve`.
//!
//! One loop claims due outbox rows (with a lease, so a worker that dies
//! mid-delivery loses nothing: its rows become due again when the lease
//! runs out), prepares them in one short transaction, and starts their
//! deliveries, at most `concurrency` at a time. Each delivery records its
//! own outcome in its own transaction the moment the transport answers,
//! which keeps the window in which a message could be sent twice as small
//! as it can be (see the crate documentation). Several workers, in one
//! process or many sharing a database, never hold the same row at once.

use crate::backoff::retry_delay_ms;
use crate::config::{Tally, WorkerConfig};
use crate::error::Failure;
use crate::message::OutboxRef;
use crate::prepare::{Claim, Job, Settled};
use crate::transport::Transport;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::{Db, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;

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
        config.send_timeout = config
            .send_timeout
            .min(longest)
            .max(Duration::from_millis(100));
        Self {
            inner: Arc::new(Inner {
                db,
                transport,
                config,
                wake,
            }),
        }
    }

    /// Delivers until `shutdown` completes, then stops claiming, lets the
    /// deliveries in flight finish and record their outcome, and closes the
    /// SMTP connections. Database errors are logged and retried after a
    /// pause that grows from the poll interval to 30 s; they never end the
    /// loop. Spawn it (`tokio::spawn(worker.run(…))`) and await the handle
    /// after signalling `shutdown`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let config = &self.inner.config;
        let mut in_flight = JoinSet::new();
        let mut pause_after_error = config.poll_interval;
        tracing::info!(transport = %self.inner.transport.describe(), concurrency = config.concurrency, "mail worker started");
        loop {
            if self.room(&in_flight) {
                match self.claim(&mut in_flight).await {
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
                }
            }
        }
        tracing::info!(in_flight = in_flight.len(), "mail worker stopping");
        while let Some(done) = in_flight.join_next().await {
            absorb(done);
        }
        self.inner.transport.shutdown().await;
        tracing::info!("mail worker stopped");
    }

    /// Delivers every message that is due now, and returns when each has an
    /// outcome. Retries it schedules are not waited for.
    pub async fn run_once(&self) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let mut in_flight = JoinSet::new();
        loop {
            if self.room(&in_flight) {
                match self.claim(&mut in_flight).await {
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

    /// Claims what fits in the free slots and starts those deliveries.
    /// Returns how many rows it claimed, and the tally of those settled
    /// without sending.
    async fn claim(&self, in_flight: &mut JoinSet<Tally>) -> Result<(usize, Tally), StoreError> {
        let config = &self.inner.config;
        let limit = (config.concurrency - in_flight.len()).min(config.batch);
        let claim = Claim {
            transport: &self.inner.transport,
            public_url: &config.public_url,
            lease_ms: config.lease_ms,
        };
        let mut tx = self.inner.db.write().await?;
        let now = (config.clock)();
        let (jobs, settled) = claim.run(&mut tx, now, limit).await?;
        tx.commit().await?;
        let claimed = jobs.len() + settled.len();
        let mut tally = Tally::default();
        for s in settled {
            tally.add(log_settled(s));
        }
        for job in jobs {
            in_flight.spawn(self.clone().deliver(job));
        }
        Ok((claimed, tally))
    }

    /// Sends one message and records the outcome.
    async fn deliver(self, job: Job) -> Tally {
        let config = &self.inner.config;
        let left = job.claimed_until - (config.clock)() - LEASE_MARGIN_MS;
        if left <= 0 {
            // Prepared too long ago (the database was very slow): leave the
            // row to be claimed again when its lease ends.
            tracing::warn!(
                outbox_id = job.row.id,
                kind = job.kind.as_str(),
                attempt = job.row.attempts,
                "mail claim expired before sending; it will be retried"
            );
            return Tally {
                skipped: 1,
                ..Tally::default()
            };
        }
        let limit = config.send_timeout.min(Duration::from_millis(left as u64));
        let outbox = OutboxRef {
            id: job.row.id,
            created_at: job.row.created_at,
        };
        let sent = tokio::time::timeout(
            limit,
            self.inner
                .transport
                .deliver(outbox, job.kind.as_str(), &job.message),
        )
        .await;
        let result = sent.unwrap_or_else(|_| {
            Err(Failure::Transient(format!(
                "no answer within {} ms",
                limit.as_millis()
            )))
        });
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.record(&job, &result).await {
                Ok(tally) => return tally,
                Err(e) if attempt < 5 => {
                    tracing::warn!(outbox_id = job.row.id, error = %e, "cannot record a mail outcome yet; trying again");
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(e) => {
                    // The row stays claimed until its lease ends and is then
                    // attempted again: for a message that was sent, this is
                    // the one way it can arrive twice.
                    tracing::error!(outbox_id = job.row.id, kind = job.kind.as_str(), attempt = job.row.attempts, error = %e,
                        delivered = result.is_ok(), "cannot record a mail outcome; the message will be attempted again");
                    return Tally {
                        skipped: 1,
                        ..Tally::default()
                    };
                }
            }
        }
    }

    /// Records one attempt's outcome and logs it once.
    async fn record(&self, job: &Job, result: &Result<(), Failure>) -> Result<Tally, StoreError> {
        let config = &self.inner.config;
        let (id, kind, attempt) = (job.row.id, job.kind.as_str(), job.row.attempts);
        let mut tx = self.inner.db.write().await?;
        let now = (config.clock)();
        let failure = match result {
            Ok(()) => {
                tx.mark_mail_sent(id, now).await?;
                if let Some(user) = &job.tracked_user {
                    tx.record_new_user_email_sent(user, now).await?;
                }
                tx.commit().await?;
                tracing::debug!(outbox_id = id, kind, attempt, "mail sent");
                return Ok(Tally {
                    sent: 1,
                    ..Tally::default()
                });
            }
            Err(failure) => failure,
        };
        if let Failure::Transient(e) = failure {
            if attempt < config.max_attempts {
                let delay = retry_delay_ms(attempt, rand::random::<f64>());
                if !tx
                    .defer_claimed_mail(id, job.claimed_until, now + delay, e)
                    .await?
                {
                    return Ok(skipped(job));
                }
                tx.commit().await?;
                tracing::warn!(outbox_id = id, kind, attempt, retry_in_ms = delay, error = %e, "mail not delivered yet; will retry");
                return Ok(Tally {
                    retried: 1,
                    ..Tally::default()
                });
            }
        }
        let error = match failure {
            Failure::Transient(e) => format!("{e} (gave up after {attempt} attempts)"),
            Failure::Permanent(e) => e.clone(),
        };
        if !tx.fail_claimed_mail(id, job.claimed_until, &error).await? {
            return Ok(skipped(job));
        }
        if let Some(user) = &job.tracked_user {
            tx.record_new_user_email_failed(user, now).await?;
        }
        tx.commit().await?;
        tracing::error!(
            outbox_id = id,
            kind,
            attempt,
            error,
            "mail could not be delivered"
        );
        Ok(Tally {
            failed: 1,
            ..Tally::default()
        })
    }
}

fn skipped(job: &Job) -> Tally {
    tracing::info!(
        outbox_id = job.row.id,
        kind = job.kind.as_str(),
        attempt = job.row.attempts,
        "mail outcome not recorded: the message was cancelled or claimed again meanwhile"
    );
    Tally {
        skipped: 1,
        ..Tally::default()
    }
}

fn log_settled(s: Settled) -> Tally {
    match s {
        Settled::Cancelled { row, reason } => {
            tracing::info!(
                outbox_id = row.id,
                kind = row.kind,
                attempt = row.attempts,
                reason,
                "mail not sent"
            );
            Tally {
                cancelled: 1,
                ..Tally::default()
            }
        }
        Settled::Failed { row, error } => {
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
        Tally { skipped: 1, ..Tally::default() }
    })
}
