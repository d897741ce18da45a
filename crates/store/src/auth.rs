//! Sessions, one-time sign-in links and password hashes (S1, N5, N6).
//! Tokens arrive here already hashed: the store never sees a usable secret.

use crate::db::{on, Tx};
use crate::users::{UserRow, USER_COLUMNS};
use crate::Result;
use domain::links::LinkPurpose;
use domain::lockout::LockReason;
use domain::model::User;
use domain::{Millis, UserId};

/// What sign-in needs to know about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub failed_sign_ins: i64,
    pub failed_window_start: Option<Millis>,
    pub unlocked_at: Option<Millis>,
}

#[derive(sqlx::FromRow)]
struct CounterRow {
    password_hash: Option<String>,
    failed_sign_ins: i64,
    failed_window_start: Option<i64>,
    unlocked_at: Option<i64>,
}

/// A live session joined with its user, for S6's check on every request.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    /// S11: the company's idle timeout, read with the session.
    pub idle_ms: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignInLink {
    pub token_hash: String,
    pub user_id: String,
    #[sqlx(try_from = "crate::code::Code<LinkPurpose>")]
    pub purpose: LinkPurpose,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub invalidated_at: Option<i64>,
    /// S10: the address (lower-cased) the link was made for; it works only
    /// while the user still has that address.
    pub sent_to: String,
}

impl Tx {
    pub async fn credentials(&mut self, user_id: &UserId) -> Result<Option<Credentials>> {
        let Some(user) = self.user(user_id).await? else { return Ok(None) };
        self.counters(user).await
    }

    /// [`Tx::credentials`] read inside a write transaction with the user row
    /// locked (S9): sign-in decides on this fresh state, never on what it
    /// read before the slow password check.
    pub async fn credentials_for_update(&mut self, user_id: &UserId) -> Result<Option<Credentials>> {
        let Some(user) = self.user_for_update(user_id).await? else {
            return Ok(None);
        };
        self.counters(user).await
    }

    async fn counters(&mut self, user: User) -> Result<Option<Credentials>> {
        let user_id = user.id.clone();
        let row: CounterRow = on!(self, c => sqlx::query_as(
            "SELECT password_hash, failed_sign_ins, failed_window_start, unlocked_at FROM users WHERE id = $1")
            .bind(user_id.as_str()).fetch_one(c).await)?;
        Ok(Some(Credentials {
            user,
            password_hash: row.password_hash,
            failed_sign_ins: row.failed_sign_ins,
            failed_window_start: row.failed_window_start,
            unlocked_at: row.unlocked_at,
        }))
    }

    /// Replaces the password hash (or makes the password unusable with
    /// `None`) and remembers the new hash for S3's no-reuse rule.
    pub async fn set_password_hash(&mut self, user_id: &UserId, hash: Option<&str>, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id.as_str()).bind(hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        if let Some(hash) = hash {
            on!(self, c => sqlx::query("INSERT INTO password_history (user_id, set_at, password_hash) VALUES ($1, $2, $3) \
                ON CONFLICT (user_id, set_at) DO UPDATE SET password_hash = excluded.password_hash")
                .bind(user_id.as_str()).bind(now).bind(hash).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// The `n` most recent password hashes of a user, newest first.
    pub async fn recent_password_hashes(&mut self, user_id: &UserId, n: i64) -> Result<Vec<String>> {
        Ok(
            on!(self, c => sqlx::query_scalar("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY set_at DESC LIMIT $2")
            .bind(user_id.as_str()).bind(n).fetch_all(c).await)?,
        )
    }

    /// S4/S11: a refused sign-in's failure counters. The caller read the
    /// counters it builds on with [`Tx::credentials_for_update`] in this
    /// transaction, so parallel failures each count.
    pub async fn record_failed_sign_in(&mut self, user_id: &UserId, failed: i64, window_start: Option<Millis>) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE users SET failed_sign_ins = $2, failed_window_start = $3 WHERE id = $1")
            .bind(user_id.as_str()).bind(failed).bind(window_start).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// S4: locks the account until `until`, for `reason`; failures so far
    /// are forgotten.
    pub async fn lock_user(&mut self, user_id: &UserId, until: Millis, reason: LockReason) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET locked_until = $2, lock_reason = $3, failed_sign_ins = 0, failed_window_start = NULL WHERE id = $1")
            .bind(user_id.as_str()).bind(until).bind(reason.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// S4: an administrator ends a lock; `unlocked_at` starts the grace
    /// period after an inactivity lock.
    pub async fn unlock_user(&mut self, user_id: &UserId, unlocked_at: Option<Millis>, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET locked_until = NULL, lock_reason = NULL, failed_sign_ins = 0, failed_window_start = NULL, \
             unlocked_at = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id.as_str()).bind(unlocked_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A successful sign-in: the time, and no lock or failures left.
    pub async fn record_sign_in(&mut self, user_id: &UserId, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET last_sign_in_at = $2, locked_until = NULL, lock_reason = NULL, failed_sign_ins = 0, \
             failed_window_start = NULL, unlocked_at = NULL WHERE id = $1")
            .bind(user_id.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: &UserId,
        now: Millis,
        expires_at: Millis,
        source_ip: Option<&str>,
    ) -> Result<()> {
        on!(self, c => sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, source_ip) VALUES ($1, $2, $3, $3, $4, $5)")
            .bind(token_hash).bind(user_id.as_str()).bind(now).bind(expires_at).bind(source_ip).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The session with this token hash that has neither reached its
    /// absolute expiry nor been idle longer than the company's idle timeout
    /// (S11), with its user as stored now (S6: the caller re-checks
    /// `active` on every request).
    pub async fn session(&mut self, token_hash: &str, now: Millis) -> Result<Option<SessionRecord>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            s_created_at: i64,
            s_last_seen_at: i64,
            s_expires_at: i64,
            idle_ms: i64,
        }
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, \
             st.session_idle_minutes * 60000 AS idle_ms \
             FROM sessions s JOIN users u ON u.id = s.user_id CROSS JOIN settings st \
             WHERE s.token_hash = $1 AND st.id = 1 AND s.expires_at > $2 AND s.last_seen_at + st.session_idle_minutes * 60000 > $2"
        );
        let row: Option<Row> = on!(self, c => sqlx::query_as(&sql).bind(token_hash).bind(now).fetch_optional(c).await)?;
        row.map(|r| {
            Ok(SessionRecord {
                user: r.user.try_into()?,
                created_at: r.s_created_at,
                last_seen_at: r.s_last_seen_at,
                expires_at: r.s_expires_at,
                idle_ms: r.idle_ms,
            })
        })
        .transpose()
    }

    /// S11: the session was used at `now` (its idle time starts again).
    pub async fn touch_session(&mut self, token_hash: &str, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2")
            .bind(token_hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<u64> {
        Ok(
            on!(self, c => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(c).await.map(|r| r.rows_affected()))?,
        )
    }

    /// Ends every session of a user at once (N5, D2).
    pub async fn delete_user_sessions(&mut self, user_id: &UserId) -> Result<u64> {
        Ok(
            on!(self, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id.as_str()).execute(c).await.map(|r| r.rows_affected()))?,
        )
    }

    pub async fn count_user_sessions(&mut self, user_id: &UserId) -> Result<i64> {
        Ok(
            on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1").bind(user_id.as_str()).fetch_one(c).await)?,
        )
    }

    /// S11: deletes sessions past their absolute expiry or idle longer than
    /// `idle_ms` at `now`; both conditions are index ranges.
    pub async fn delete_expired_sessions(&mut self, now: Millis, idle_ms: Millis) -> Result<u64> {
        let expired = on!(self, c => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        let idle = on!(self, c => sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1")
            .bind(now - idle_ms).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(expired + idle)
    }

    /// Ends every session of a user but one (S11: setting a password ends
    /// the others).
    pub async fn delete_other_sessions(&mut self, user_id: &UserId, keep_token_hash: &str) -> Result<u64> {
        Ok(
            on!(self, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id.as_str()).bind(keep_token_hash).execute(c).await.map(|r| r.rows_affected()))?,
        )
    }

    /// A one-time link for `user_id`, valid only while the user's address is
    /// still `sent_to` (S10).
    pub async fn insert_link(
        &mut self,
        token_hash: &str,
        user_id: &UserId,
        sent_to: &str,
        purpose: LinkPurpose,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        on!(self, c => sqlx::query(
            "INSERT INTO sign_in_links (token_hash, user_id, purpose, created_at, expires_at, sent_to) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash).bind(user_id.as_str()).bind(purpose.as_str()).bind(now).bind(expires_at).bind(sent_to.trim().to_ascii_lowercase())
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn link(&mut self, token_hash: &str) -> Result<Option<SignInLink>> {
        Ok(on!(self, c => sqlx::query_as(
            "SELECT token_hash, user_id, purpose, created_at, expires_at, used_at, invalidated_at, sent_to FROM sign_in_links WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(c).await)?)
    }

    /// Marks a link used; `false` when it was already used or invalidated
    /// (a concurrent use won).
    pub async fn use_link(&mut self, token_hash: &str, now: Millis) -> Result<bool> {
        let n = on!(self, c => sqlx::query("UPDATE sign_in_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND invalidated_at IS NULL")
            .bind(token_hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Invalidates every open link of a user (N5, D2).
    pub async fn invalidate_user_links(&mut self, user_id: &UserId, now: Millis) -> Result<u64> {
        Ok(
            on!(self, c => sqlx::query("UPDATE sign_in_links SET invalidated_at = $2 WHERE user_id = $1 AND used_at IS NULL AND invalidated_at IS NULL")
            .bind(user_id.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?,
        )
    }
}
