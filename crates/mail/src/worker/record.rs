//! The recording side of the worker: each delivery sends its outcome to
//! one recorder task, which commits the outcomes that arrived meanwhile
//! together (group commit) and logs and counts each once committed.

use super::{Worker, LEASE_MARGIN_MS};
use crate::backoff::retry_delay_ms;
use crate::config::Tally;
use crate::error::Failure;
use crate::message::OutboxRef;
use crate::prepare::Job;
use std::time::Duration;
use store::StoreError;
use tokio::sync::{mpsc, oneshot};

impl Worker {
    pub(super) async fn deliver_and_record(&self, job: Job, recorder: Recorder) -> Tally {
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
        let sent = tokio::time::timeout(limit, self.inner.transport.deliver(outbox, job.kind.as_str(), &job.message)).await;
        let result = sent.unwrap_or_else(|_| Err(Failure::Transient(format!("no answer within {} ms", limit.as_millis()))));
        // The delivery keeps its slot until its outcome is committed: the
        // messages accepted but not yet recorded, the ones a crash would
        // send twice, stay at most `concurrency`.
        let (reply, recorded) = oneshot::channel();
        let Job {
            row,
            kind,
            tracked_user,
            claimed_until,
            ..
        } = job;
        let done = Done {
            id: row.id,
            kind,
            attempt: row.attempts,
            tracked_user,
            claimed_until,
            result,
        };
        if recorder.send((done, reply)).is_err() {
            return Tally {
                skipped: 1,
                ..Tally::default()
            };
        }
        recorded.await.unwrap_or(Tally {
            skipped: 1,
            ..Tally::default()
        })
    }

    /// Starts the task that records outcomes: whatever deliveries finished
    /// while the previous commit was running are recorded together in the
    /// next transaction (group commit), one write transaction for many
    /// messages instead of one each. It ends when every sender is gone.
    pub(super) fn start_recorder(&self) -> (Recorder, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Done, oneshot::Sender<Tally>)>();
        let worker = self.clone();
        let handle = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let dones: Vec<Done> = batch.iter().map(|(d, _)| d.clone()).collect();
                let tallies = worker.record_all(&dones).await;
                for ((_, reply), tally) in batch.into_iter().zip(tallies) {
                    let _ = reply.send(tally);
                }
            }
        });
        (tx, handle)
    }

    /// Records a group of outcomes in one transaction, trying again a few
    /// times if the database fails; logs each once, after the commit.
    async fn record_all(&self, dones: &[Done]) -> Vec<Tally> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.record(dones).await {
                Ok(logged) => {
                    return logged
                        .into_iter()
                        .map(|(tally, log)| {
                            log.emit();
                            tally
                        })
                        .collect();
                }
                Err(e) if attempt < 5 => {
                    tracing::warn!(messages = dones.len(), error = %e, "cannot record mail outcomes yet; trying again");
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(e) => {
                    // The rows stay claimed until their lease ends and are
                    // then attempted again: for a message that was sent,
                    // this is the one way it can arrive twice.
                    for d in dones {
                        tracing::error!(outbox_id = d.id, kind = d.kind.as_str(), attempt = d.attempt, error = %e,
                            delivered = d.result.is_ok(), "cannot record a mail outcome; the message will be attempted again");
                    }
                    return dones
                        .iter()
                        .map(|_| Tally {
                            skipped: 1,
                            ..Tally::default()
                        })
                        .collect();
                }
            }
        }
    }

    /// Records the outcomes in one transaction; what to log comes back to
    /// be logged once committed.
    async fn record(&self, dones: &[Done]) -> Result<Vec<(Tally, Log)>, StoreError> {
        let config = &self.inner.config;
        let mut tx = self.inner.db.write().await?;
        let now = (config.clock)();
        // Lock order user -> outbox row, as the application's changes take
        // them (a deactivation locks the user, then cancels their mail);
        // the other order could deadlock on PostgreSQL.
        let mut users: Vec<&domain::UserId> = dones.iter().filter_map(|d| d.tracked_user.as_ref()).collect();
        users.sort();
        users.dedup();
        for user in users {
            tx.user_for_update(user).await?;
        }
        let mut out = Vec::with_capacity(dones.len());
        for d in dones {
            out.push(self.record_one(&mut tx, d, now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn record_one(&self, tx: &mut store::Tx, d: &Done, now: domain::Millis) -> Result<(Tally, Log), StoreError> {
        let config = &self.inner.config;
        let failure = match &d.result {
            Ok(()) => {
                tx.mark_mail_sent(d.id, now).await?;
                if let Some(user) = &d.tracked_user {
                    tx.record_new_user_email_sent(user, now).await?;
                }
                return Ok((
                    Tally {
                        sent: 1,
                        ..Tally::default()
                    },
                    Log::Sent(d.clone()),
                ));
            }
            Err(failure) => failure,
        };
        if let Failure::Transient(e) = failure {
            if d.attempt < config.max_attempts {
                let delay = retry_delay_ms(d.attempt, rand::random::<f64>());
                if !tx.defer_claimed_mail(d.id, d.claimed_until, now + delay, e).await? {
                    return Ok((
                        Tally {
                            skipped: 1,
                            ..Tally::default()
                        },
                        Log::Skipped(d.clone()),
                    ));
                }
                return Ok((
                    Tally {
                        retried: 1,
                        ..Tally::default()
                    },
                    Log::Retry(d.clone(), delay, e.clone()),
                ));
            }
        }
        let error = match failure {
            Failure::Transient(e) => format!("{e} (gave up after {} attempts)", d.attempt),
            Failure::Permanent(e) => e.clone(),
        };
        if !tx.fail_claimed_mail(d.id, d.claimed_until, &error).await? {
            return Ok((
                Tally {
                    skipped: 1,
                    ..Tally::default()
                },
                Log::Skipped(d.clone()),
            ));
        }
        if let Some(user) = &d.tracked_user {
            tx.record_new_user_email_failed(user, now).await?;
        }
        Ok((
            Tally {
                failed: 1,
                ..Tally::default()
            },
            Log::Failed(d.clone(), error),
        ))
    }
}

/// A delivery's outcome, waiting to be recorded.
#[derive(Clone)]
pub(super) struct Done {
    id: i64,
    kind: store::MailKind,
    attempt: i64,
    tracked_user: Option<domain::UserId>,
    claimed_until: domain::Millis,
    result: Result<(), Failure>,
}

/// Where deliveries send their outcomes, with the channel for the tally.
pub(super) type Recorder = mpsc::UnboundedSender<(Done, oneshot::Sender<Tally>)>;

/// What to log about one recorded outcome, once it is committed.
enum Log {
    Sent(Done),
    Retry(Done, i64, String),
    Failed(Done, String),
    Skipped(Done),
}

/// OP2: `tracker_mail_deliveries_total{kind, outcome}`.
pub(super) fn count_mail(kind: &str, outcome: &'static str) {
    metrics::counter!("tracker_mail_deliveries_total", "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

impl Log {
    fn emit(self) {
        match &self {
            Log::Sent(d) => count_mail(d.kind.as_str(), "delivered"),
            Log::Retry(d, ..) => count_mail(d.kind.as_str(), "retried"),
            Log::Failed(d, _) => count_mail(d.kind.as_str(), "failed"),
            Log::Skipped(_) => {}
        }
        match self {
            Log::Sent(d) => tracing::debug!(outbox_id = d.id, kind = d.kind.as_str(), attempt = d.attempt, "mail sent"),
            Log::Retry(d, delay, e) => {
                tracing::warn!(outbox_id = d.id, kind = d.kind.as_str(), attempt = d.attempt, retry_in_ms = delay, error = %e, "mail not delivered yet; will retry")
            }
            Log::Failed(d, error) => tracing::error!(
                outbox_id = d.id,
                kind = d.kind.as_str(),
                attempt = d.attempt,
                error,
                "mail could not be delivered"
            ),
            Log::Skipped(d) => {
                tracing::info!(
                    outbox_id = d.id,
                    kind = d.kind.as_str(),
                    attempt = d.attempt,
                    "mail outcome not recorded: the message was cancelled or claimed again meanwhile"
                )
            }
        }
    }
}
