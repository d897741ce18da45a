//! N3 at scale (P3): one message to each of many users, queued as one
//! `mail_fanout` row instead of one outbox row each, and turned into outbox
//! rows by the mail worker a slice at a time.
//!
//! The change that queues writes the fanout row (a JSON array of user ids)
//! and stamps each user's `new_user_email_fanout` with its id, in its own
//! transaction: what must be sent is durable at commit (N8), and each user's
//! email status says `queued` at once. Withdrawing a user's new user email
//! ([`Tx::cancel_user_mail`]) clears the stamp, so the worker skips them: a
//! user is written an outbox row only while still stamped, and the stamp is
//! cleared in the same statement, so a slice worked twice (a crash, two
//! workers) writes nobody twice.

use crate::db::{exec, fetch_optional, on, scalar_one, statement, Tx};
use crate::outbox::MailKind;
use crate::{Dialect, Result, StoreError};
use domain::Millis;

/// How many users one call of [`Tx::expand_mail_fanout`] takes on.
pub const FANOUT_SLICE: usize = 2_000;

#[derive(sqlx::FromRow)]
struct FanoutRow {
    id: i64,
    kind: String,
    user_ids: String,
    next_index: i64,
    pending: i64,
    created_at: i64,
}

impl Tx {
    /// Opens a fanout of `kind` at `now`, to be filled with
    /// [`Tx::fill_mail_fanout`] once its users are stamped with its id.
    pub(crate) async fn open_mail_fanout(&mut self, kind: MailKind, now: Millis) -> Result<i64> {
        statement!(
            OPEN_FANOUT =
                "INSERT INTO mail_fanout (kind, user_ids, next_index, total, created_at) VALUES ($1, '[]', 0, 0, $2) RETURNING id"
        );
        Ok(scalar_one!(self, OPEN_FANOUT, kind.as_str(), now)?)
    }

    /// Names the users of an open fanout (a JSON list of their ids).
    pub(crate) async fn fill_mail_fanout(&mut self, fanout: i64, users: &[&str]) -> Result<()> {
        statement!(FILL_FANOUT = "UPDATE mail_fanout SET user_ids = $2, total = $3, pending = $3 WHERE id = $1");
        let ids = serde_json::to_string(users).map_err(|e| StoreError::Corrupt(format!("fanout users: {e}")))?;
        exec!(self, FILL_FANOUT, fanout, ids, users.len() as i64)?;
        Ok(())
    }

    /// Removes a fanout: one that found nobody, or one nobody waits in.
    pub(crate) async fn drop_mail_fanout(&mut self, fanout: i64) -> Result<()> {
        statement!(DROP_FANOUT = "DELETE FROM mail_fanout WHERE id = $1");
        exec!(self, DROP_FANOUT, fanout)?;
        Ok(())
    }

    /// Writes the outbox rows of the next [`FANOUT_SLICE`] users of the
    /// oldest fanout (due at `now`, created when the fanout was), and moves
    /// the fanout on; once nobody waits in it, it is removed. Returns how
    /// many users it took on, 0 when there was nothing to do now.
    ///
    /// On PostgreSQL it never waits: the fanout row and the users are taken
    /// with `SKIP LOCKED` (as [`Tx::claim_mail`] does, for the same
    /// reason). A user someone else holds stays stamped, and the fanout
    /// moves on without them; after its last slice it starts over for
    /// those left (a sweep), after recounting who still waits.
    pub async fn expand_mail_fanout(&mut self, now: Millis) -> Result<u64> {
        const COLUMNS: &str = "id, kind, user_ids, next_index, pending, created_at";
        statement!(sqlite NEXT_FANOUT = const_format::formatcp!("SELECT {COLUMNS} FROM mail_fanout ORDER BY id LIMIT 1"));
        statement!(
            postgres NEXT_FANOUT_UNHELD = const_format::formatcp!("SELECT {COLUMNS} FROM mail_fanout ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
        );
        let fanout: Option<FanoutRow> = match self.dialect() {
            Dialect::Sqlite => fetch_optional!(self, NEXT_FANOUT)?,
            Dialect::Postgres => fetch_optional!(self, NEXT_FANOUT_UNHELD)?,
        };
        let Some(fanout) = fanout else { return Ok(0) };
        let ids: Vec<String> = serde_json::from_str(&fanout.user_ids)
            .map_err(|e| StoreError::Corrupt(format!("mail fanout {}: its users are not a list of ids: {e}", fanout.id)))?;
        let start = usize::try_from(fanout.next_index).unwrap_or(usize::MAX).min(ids.len());
        let end = (start + FANOUT_SLICE).min(ids.len());
        let slice = serde_json::to_string(&ids[start..end]).map_err(|e| StoreError::Corrupt(format!("fanout slice: {e}")))?;
        let written = match self.dialect() {
            // One writer: nobody else can hold these users.
            Dialect::Sqlite => {
                statement!(
                    sqlite FANOUT_WRITE = "INSERT INTO mail_outbox (kind, to_user_id, to_address, payload, status, next_attempt_at, created_at) \
                     SELECT $3, u.id, u.email, '{}', 'queued', $4, $5 FROM users u \
                     WHERE u.id IN (SELECT value FROM json_each($1)) AND u.new_user_email_fanout = $2"
                );
                statement!(
                    sqlite FANOUT_UNSTAMP = "UPDATE users SET new_user_email_fanout = NULL \
                     WHERE id IN (SELECT value FROM json_each($1)) AND new_user_email_fanout = $2"
                );
                let written = exec!(self, FANOUT_WRITE, &slice, fanout.id, &fanout.kind, now, fanout.created_at)?;
                let unstamped = exec!(self, FANOUT_UNSTAMP, &slice, fanout.id)?;
                if written != unstamped {
                    return Err(StoreError::Corrupt(format!(
                        "mail fanout {}: {written} messages for {unstamped} users",
                        fanout.id
                    )));
                }
                written as i64
            }
            // Each user is locked, unstamped and written in this one
            // statement; one someone else holds is passed over.
            Dialect::Postgres => {
                statement!(
                    postgres FANOUT_TAKE = "WITH held AS (SELECT u.id FROM users u \
                              WHERE u.id IN (SELECT json_array_elements_text($1::json)) AND u.new_user_email_fanout = $2 \
                              FOR NO KEY UPDATE SKIP LOCKED), \
                     taken AS (UPDATE users AS u SET new_user_email_fanout = NULL FROM held WHERE u.id = held.id RETURNING u.id, u.email), \
                     written AS (INSERT INTO mail_outbox (kind, to_user_id, to_address, payload, status, next_attempt_at, created_at) \
                                 SELECT $3, id, email, '{}', 'queued', $4, $5 FROM taken RETURNING 1) \
                     SELECT COUNT(*) FROM written"
                );
                on!(self, |c| sqlx::query_scalar(FANOUT_TAKE.sql)
                    .bind(&slice)
                    .bind(fanout.id)
                    .bind(&fanout.kind)
                    .bind(now)
                    .bind(fanout.created_at)
                    .fetch_one(c)
                    .await)?
            }
        };
        // The fanout row is this transaction's (SQLite's one writer, or
        // PostgreSQL's lock): nobody else moved `pending` meanwhile.
        let mut pending = fanout.pending - written;
        let swept = end == ids.len();
        if swept && pending > 0 {
            // Someone was passed over (or left without saying so): count
            // who still waits before going round again.
            statement!(
                sqlite FANOUT_WAITING = "SELECT COUNT(*) FROM users u WHERE u.id IN (SELECT value FROM json_each($1)) AND u.new_user_email_fanout = $2"
            );
            statement!(
                postgres FANOUT_WAITING_PG = "SELECT COUNT(*) FROM users u \
                 WHERE u.id IN (SELECT json_array_elements_text($1::json)) AND u.new_user_email_fanout = $2"
            );
            pending = match self.dialect() {
                Dialect::Sqlite => scalar_one!(self, FANOUT_WAITING, &fanout.user_ids, fanout.id)?,
                Dialect::Postgres => scalar_one!(self, FANOUT_WAITING_PG, &fanout.user_ids, fanout.id)?,
            };
        }
        if pending <= 0 {
            self.drop_mail_fanout(fanout.id).await?;
            return Ok(((end - start) as u64).max(1));
        }
        statement!(ADVANCE_FANOUT = "UPDATE mail_fanout SET next_index = $2, pending = $3 WHERE id = $1");
        exec!(self, ADVANCE_FANOUT, fanout.id, if swept { 0 } else { end as i64 }, pending)?;
        // After a sweep the next round waits for the poll, so that users
        // held for long are not asked for in a loop.
        Ok(if swept { written as u64 } else { (end - start) as u64 })
    }

    /// Takes `user` out of the fanout they wait in, if any (their new user
    /// email is withdrawn); whether they were in one. The caller holds the
    /// user's row.
    pub(crate) async fn leave_mail_fanout(&mut self, user: &str) -> Result<bool> {
        statement!(USER_FANOUT = "SELECT new_user_email_fanout FROM users WHERE id = $1");
        let Some(fanout): Option<i64> = crate::db::scalar_optional!(self, USER_FANOUT, user)?.flatten() else {
            return Ok(false);
        };
        statement!(UNSTAMP_USER = "UPDATE users SET new_user_email_fanout = NULL WHERE id = $1 AND new_user_email_fanout = $2");
        if exec!(self, UNSTAMP_USER, user, fanout)? == 0 {
            return Ok(false);
        }
        statement!(FANOUT_LEFT = "UPDATE mail_fanout SET pending = pending - 1 WHERE id = $1");
        exec!(self, FANOUT_LEFT, fanout)?;
        Ok(true)
    }

    /// Users still waiting in a fanout, and when the oldest was queued: the
    /// outbox backlog that has no rows yet (OP2).
    pub async fn mail_fanout_backlog(&mut self) -> Result<(i64, Option<i64>)> {
        statement!(
            FANOUT_BACKLOG =
                "SELECT CAST(COALESCE(SUM(pending), 0) AS BIGINT), MIN(CASE WHEN pending > 0 THEN created_at END) FROM mail_fanout"
        );
        let row: (i64, Option<i64>) = crate::db::fetch_one!(self, FANOUT_BACKLOG)?;
        Ok(row)
    }
}
