//! N8: the mail outbox. A message row is written in the transaction of the
//! change that causes it; the delivery worker claims due rows with a lease,
//! delivers them and records the outcome. A claim whose lease runs out (the
//! process died mid-delivery) becomes due again, so nothing is lost.

use crate::db::{exec, fetch_all, fetch_optional, on, scalar_one, statement, Tx};
use crate::sql::{bind_args, push_in_list, Sql};
use crate::{Dialect, Result};
use const_format::formatcp;
use domain::{Millis, UserId};

domain::stored_enum! {
    /// What a message is (`mail_outbox.kind`); the mail crate renders each
    /// kind from its payload.
    pub enum MailKind("kind of message") {
        /// N1–N4, N6: the new user email with a fresh sign-in link.
        NewUserEmail => "new_user_email",
        /// N5: a reset, with a fresh sign-in link.
        PasswordReset => "password_reset",
        /// M1: added to a matter.
        MatterAdded => "matter_added",
        /// M2: a matter closed for editing or invoicing.
        MatterClosed => "matter_closed",
        /// O2: what a successor took over from a leaving user, in one message.
        OffboardingDigest => "offboarding_digest",
        /// O3: to the system administrators, about a scheduled deactivation.
        OffboardingAlert => "offboarding_alert",
        /// DIR3: to a system administrator, what a directory-deactivated user left.
        DirectoryDigest => "directory_digest",
    }
}

domain::stored_enum! {
    /// Where a message stands (`mail_outbox.status`).
    pub enum MailStatus("mail status") {
        /// Waiting for its next attempt.
        Queued => "queued",
        /// Claimed by a worker, under a lease.
        Sending => "sending",
        /// Accepted by the mail server (or written to the outbox folder).
        Sent => "sent",
        /// Refused for good, or given up after retries.
        Failed => "failed",
        /// Withdrawn before delivery (superseded, or the user deactivated).
        Cancelled => "cancelled",
    }
}

/// What a queued message carries besides its recipient: written by the
/// change that queues it (`app`), read back by the worker that renders it
/// (`mail`). Stored as the message's `kind` column plus a JSON `payload`
/// column holding the variant's fields; [`OutboxPayload::decode`] is the one
/// way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxPayload {
    /// N1–N4, N6: the link is made when the message is sent.
    NewUserEmail,
    /// N5: likewise.
    PasswordReset,
    MatterAdded(MatterAdded),
    MatterClosed(MatterClosed),
    OffboardingDigest(OffboardingDigest),
    OffboardingAlert(OffboardingAlert),
    DirectoryDigest(DirectoryDigest),
}

/// O2: one message per successor. `lines` names what they took over (at
/// most [`OffboardingDigest::MAX_LINES`]); `total` counts everything.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffboardingDigest {
    pub leaving_user_name: String,
    pub lines: Vec<String>,
    pub total: i64,
}

impl OffboardingDigest {
    /// A digest names this many items and counts the rest.
    pub const MAX_LINES: usize = 50;
}

/// O3: a scheduled deactivation that could not be carried out (`failed`,
/// with why), or one coming up with blocking items nobody takes over yet
/// (`reminder`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffboardingAlert {
    pub alert: String,
    pub user_id: String,
    pub user_name: String,
    pub effective_at: i64,
    pub details: Vec<String>,
}

/// DIR3: the directory deactivated `user_name` while they held these
/// responsibilities (one line each), now open offboarding items.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDigest {
    pub user_name: String,
    pub user_email: String,
    pub items: Vec<String>,
}

/// M1: added to a matter, in this role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatterAdded {
    pub matter_id: String,
    pub matter_name: String,
    pub matter_number: String,
    pub role: String,
}

/// M2: a matter closed for `closed_for` (editing, invoicing, or both).
/// `on_behalf_of` names the participants when the recipient is their
/// delegate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatterClosed {
    pub matter_id: String,
    pub matter_name: String,
    pub matter_number: String,
    pub closed_for: String,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

impl OutboxPayload {
    pub fn kind(&self) -> MailKind {
        match self {
            OutboxPayload::NewUserEmail => MailKind::NewUserEmail,
            OutboxPayload::PasswordReset => MailKind::PasswordReset,
            OutboxPayload::MatterAdded(_) => MailKind::MatterAdded,
            OutboxPayload::MatterClosed(_) => MailKind::MatterClosed,
            OutboxPayload::OffboardingDigest(_) => MailKind::OffboardingDigest,
            OutboxPayload::OffboardingAlert(_) => MailKind::OffboardingAlert,
            OutboxPayload::DirectoryDigest(_) => MailKind::DirectoryDigest,
        }
    }

    /// The `payload` column.
    pub fn to_json(&self) -> String {
        match self {
            OutboxPayload::NewUserEmail | OutboxPayload::PasswordReset => "{}".into(),
            OutboxPayload::MatterAdded(p) => serde_json::to_string(p).unwrap_or_default(),
            OutboxPayload::MatterClosed(p) => serde_json::to_string(p).unwrap_or_default(),
            OutboxPayload::OffboardingDigest(p) => serde_json::to_string(p).unwrap_or_default(),
            OutboxPayload::OffboardingAlert(p) => serde_json::to_string(p).unwrap_or_default(),
            OutboxPayload::DirectoryDigest(p) => serde_json::to_string(p).unwrap_or_default(),
        }
    }

    /// A stored message's payload, or why it cannot be read.
    pub fn decode(kind: &str, json: &str) -> std::result::Result<Self, String> {
        match MailKind::parse(kind).ok() {
            Some(MailKind::NewUserEmail) => Ok(OutboxPayload::NewUserEmail),
            Some(MailKind::PasswordReset) => Ok(OutboxPayload::PasswordReset),
            Some(MailKind::MatterAdded) => serde_json::from_str(json)
                .map(OutboxPayload::MatterAdded)
                .map_err(|e| format!("bad matter_added payload: {e}")),
            Some(MailKind::MatterClosed) => serde_json::from_str(json)
                .map(OutboxPayload::MatterClosed)
                .map_err(|e| format!("bad matter_closed payload: {e}")),
            Some(MailKind::OffboardingDigest) => serde_json::from_str(json)
                .map(OutboxPayload::OffboardingDigest)
                .map_err(|e| format!("bad offboarding_digest payload: {e}")),
            Some(MailKind::OffboardingAlert) => serde_json::from_str(json)
                .map(OutboxPayload::OffboardingAlert)
                .map_err(|e| format!("bad offboarding_alert payload: {e}")),
            Some(MailKind::DirectoryDigest) => serde_json::from_str(json)
                .map(OutboxPayload::DirectoryDigest)
                .map_err(|e| format!("bad directory_digest payload: {e}")),
            None => Err(format!("unknown kind of message '{kind}'")),
        }
    }
}

/// A stored message. Its `kind` stays the stored text: a row whose kind
/// this build does not know is not corrupt data but a message the worker
/// fails (with why) so the queue moves on; the worker parses it once
/// ([`MailKind::parse`], [`OutboxPayload::decode`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub kind: String,
    pub to_user_id: Option<String>,
    pub to_address: String,
    pub payload: String,
    #[sqlx(try_from = "crate::code::Code<MailStatus>")]
    pub status: MailStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxStatusCount {
    #[sqlx(try_from = "crate::code::Code<MailStatus>")]
    pub status: MailStatus,
    pub count: i64,
}

const COLUMNS: &str = "id, kind, to_user_id, to_address, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at";

impl Tx {
    /// N8: queues a message in the caller's transaction.
    pub async fn enqueue_mail(&mut self, payload: &OutboxPayload, to_user: Option<&UserId>, to_address: &str, now: Millis) -> Result<i64> {
        self.enqueue_raw_mail(payload.kind().as_str(), to_user, to_address, &payload.to_json(), now)
            .await
    }

    /// Writes a message row as given. The application queues only through
    /// [`Tx::enqueue_mail`]; this exists for tests of stored rows it never
    /// writes (a corrupt payload, an unknown kind).
    #[doc(hidden)]
    pub async fn enqueue_raw_mail(
        &mut self,
        kind: &str,
        to_user: Option<&UserId>,
        to_address: &str,
        payload: &str,
        now: Millis,
    ) -> Result<i64> {
        statement!(
            ENQUEUE_RAW_MAIL = "INSERT INTO mail_outbox (kind, to_user_id, to_address, payload, status, next_attempt_at, created_at) \
            VALUES ($1, $2, $3, $4, 'queued', $5, $5) RETURNING id"
        );
        let id: i64 = scalar_one!(self, ENQUEUE_RAW_MAIL, kind, to_user.map(|u| u.as_str()), to_address, payload, now)?;
        Ok(id)
    }

    /// Claims up to `limit` due messages for `lease_ms`. Safe with several
    /// workers and processes: SQLite serialises writers, PostgreSQL skips
    /// rows another worker holds.
    ///
    /// On PostgreSQL the claim also holds each recipient's user row
    /// (`FOR NO KEY UPDATE`), taken with `SKIP LOCKED` like the rows: a
    /// change to a user locks the user, then cancels their mail, so a
    /// worker that held mail and then waited for the user (the link it
    /// inserts checks its foreign key; a second update of a row this
    /// transaction already changed checks it too) could deadlock with it.
    /// Holding both before it writes anything, the worker never waits in
    /// its claim; a message whose recipient is being changed is left due,
    /// for the next round.
    pub async fn claim_mail(&mut self, now: Millis, lease_ms: i64, limit: i64) -> Result<Vec<OutboxMessage>> {
        const DUE: &str = "status IN ('queued', 'sending') AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)";
        statement!(
            sqlite CLAIM_MAIL = formatcp!(
                "UPDATE mail_outbox SET status = 'sending', claimed_until = $1 + $2, attempts = attempts + 1 WHERE id IN (\
                 SELECT id FROM mail_outbox WHERE {DUE} ORDER BY next_attempt_at, id LIMIT $3) RETURNING {COLUMNS}"
            )
        );
        statement!(
            postgres LOCK_DUE_MAIL = formatcp!(
                "SELECT id, to_user_id FROM mail_outbox WHERE {DUE} ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
            )
        );
        let mut rows: Vec<OutboxMessage> = match self.dialect() {
            Dialect::Sqlite => fetch_all!(self, CLAIM_MAIL, now, lease_ms, limit)?,
            Dialect::Postgres => {
                let due: Vec<(i64, Option<String>)> = fetch_all!(self, LOCK_DUE_MAIL, now, limit)?;
                let mut users: Vec<&str> = due.iter().filter_map(|(_, u)| u.as_deref()).collect();
                users.sort_unstable();
                users.dedup();
                let held: std::collections::HashSet<String> = if users.is_empty() {
                    Default::default()
                } else {
                    let mut sql = Sql::new("SELECT id FROM users WHERE");
                    push_in_list(&mut sql, " id", users);
                    sql.push(" FOR NO KEY UPDATE SKIP LOCKED");
                    let ids: Vec<(String,)> = on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
                    ids.into_iter().map(|(id,)| id).collect()
                };
                let ready: Vec<i64> = due
                    .iter()
                    .filter(|(_, u)| u.as_ref().is_none_or(|u| held.contains(u)))
                    .map(|(id, _)| *id)
                    .collect();
                if ready.is_empty() {
                    return Ok(Vec::new());
                }
                let mut sql = Sql::new("UPDATE mail_outbox SET status = 'sending', claimed_until = ");
                sql.int(now + lease_ms).push(", attempts = attempts + 1 WHERE id IN (");
                for (i, id) in ready.iter().enumerate() {
                    sql.push(if i == 0 { "" } else { ", " }).int(*id);
                }
                sql.push(&format!(") RETURNING {COLUMNS}"));
                on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?
            }
        };
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    }

    pub async fn mark_mail_sent(&mut self, id: i64, now: Millis) -> Result<()> {
        statement!(
            MARK_MAIL_SENT = "UPDATE mail_outbox SET status = 'sent', sent_at = $2, claimed_until = NULL, last_error = NULL WHERE id = $1"
        );
        exec!(self, MARK_MAIL_SENT, id, now)?;
        Ok(())
    }

    /// Cancels a user's undelivered messages of `kinds` (a reset supersedes
    /// a queued new user email; deactivation stops everything, N7). The
    /// caller holds the user's row; the mail worker takes the same order
    /// (user, then outbox row) when it records an outcome, and never waits
    /// for a user in its claim (see [`Tx::claim_mail`]), so this cannot
    /// deadlock with it.
    pub async fn cancel_user_mail(&mut self, user: &UserId, kinds: &[MailKind]) -> Result<u64> {
        let mut n = 0;
        for k in kinds {
            statement!(CANCEL_USER_MAIL = "UPDATE mail_outbox SET status = 'cancelled', claimed_until = NULL WHERE to_user_id = $1 AND kind = $2 AND status IN ('queued', 'sending')");
            n += exec!(self, CANCEL_USER_MAIL, user.as_str(), k.as_str())?;
        }
        // A new user email still waiting in a fanout (crate::fanout) has no
        // row yet: the user leaves the fanout, and it counts as cancelled.
        if kinds.contains(&MailKind::NewUserEmail) && self.leave_mail_fanout(user.as_str()).await? {
            n += 1;
        }
        Ok(n)
    }

    pub async fn mail_message(&mut self, id: i64) -> Result<Option<OutboxMessage>> {
        statement!(MAIL_MESSAGE = formatcp!("SELECT {COLUMNS} FROM mail_outbox WHERE id = $1"));
        Ok(fetch_optional!(self, MAIL_MESSAGE, id)?)
    }

    pub async fn mail_for_user(&mut self, user: &UserId, limit: i64) -> Result<Vec<OutboxMessage>> {
        statement!(MAIL_FOR_USER = formatcp!("SELECT {COLUMNS} FROM mail_outbox WHERE to_user_id = $1 ORDER BY id DESC LIMIT $2"));
        Ok(fetch_all!(self, MAIL_FOR_USER, user.as_str(), limit)?)
    }

    pub async fn outbox_counts(&mut self) -> Result<Vec<OutboxStatusCount>> {
        statement!(OUTBOX_COUNTS = "SELECT status, COUNT(*) AS count FROM mail_outbox GROUP BY status ORDER BY status");
        Ok(fetch_all!(self, OUTBOX_COUNTS)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::on;
    use crate::{Db, StoreError};

    #[test]
    fn mail_codes_round_trip() {
        domain::code::assert_round_trips::<MailKind>();
        domain::code::assert_round_trips::<MailStatus>();
        // The values of the `mail_outbox.status` CHECK constraint.
        let statuses: Vec<_> = MailStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(statuses, ["queued", "sending", "sent", "failed", "cancelled"]);
        for k in MailKind::ALL {
            let payload = OutboxPayload::decode(k.as_str(), "{}");
            // Every kind decodes (or names what its payload lacks), never "unknown kind".
            assert!(!matches!(&payload, Err(e) if e.starts_with("unknown")), "{k}: {payload:?}");
        }
    }

    /// A stored code that names no variant is `StoreError::Corrupt`, not a
    /// panic and not a generic database error; a known one reads as usual.
    #[tokio::test]
    async fn an_unknown_stored_status_is_corrupt_data() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/codes.db", dir.path().display())).await.unwrap();
        let mut tx = db.read().await.unwrap();
        let read = |status: &'static str| format!("SELECT '{status}' AS status, 3 AS count");
        let sql = read("lost");
        let bad: Result<Vec<OutboxStatusCount>> = on!(tx, |c| sqlx::query_as(&sql).fetch_all(c).await).map_err(StoreError::from);
        match bad {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("'lost' is not a known mail status"), "{m}"),
            other => panic!("expected corrupt data, got {other:?}"),
        }
        let sql = read("sending");
        let good: Vec<OutboxStatusCount> = on!(tx, |c| sqlx::query_as(&sql).fetch_all(c).await).unwrap();
        assert_eq!(
            good,
            [OutboxStatusCount {
                status: MailStatus::Sending,
                count: 3
            }]
        );
    }
}
