//! Sessions, one-time sign-in links and password hashes (S1, N5, N6).
//! Tokens arrive here already hashed: the store never sees a usable secret.

use crate::db::{on, Tx};
use crate::users::{UserRow, USER_COLUMNS};
use crate::Result;
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
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignInLink {
    pub token_hash: String,
    pub user_id: String,
    pub purpose: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub invalidated_at: Option<i64>,
}

impl Tx {
    pub async fn credentials(&mut self, user_id: &UserId) -> Result<Option<Credentials>> {
        let Some(user) = self.user(user_id).await? else { return Ok(None) };
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

    /// S4's counters.
    pub async fn set_sign_in_counters(
        &mut self,
        user_id: &UserId,
        failed: i64,
        window_start: Option<Millis>,
        unlocked_at: Option<Millis>,
    ) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE users SET failed_sign_ins = $2, failed_window_start = $3, unlocked_at = $4 WHERE id = $1")
            .bind(user_id.as_str()).bind(failed).bind(window_start).bind(unlocked_at).execute(c).await.map(|r| r.rows_affected()))?;
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

    /// The unexpired session with this token hash, with its user as stored
    /// now (S6: the caller re-checks `active` on every request).
    pub async fn session(&mut self, token_hash: &str, now: Millis) -> Result<Option<SessionRecord>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            s_created_at: i64,
            s_expires_at: i64,
        }
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.created_at AS s_created_at, s.expires_at AS s_expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        let row: Option<Row> = on!(self, c => sqlx::query_as(&sql).bind(token_hash).bind(now).fetch_optional(c).await)?;
        row.map(|r| {
            Ok(SessionRecord {
                user: r.user.try_into()?,
                created_at: r.s_created_at,
                expires_at: r.s_expires_at,
            })
        })
        .transpose()
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

    pub async fn delete_expired_sessions(&mut self, now: Millis) -> Result<u64> {
        Ok(
            on!(self, c => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(c).await.map(|r| r.rows_affected()))?,
        )
    }

    pub async fn insert_link(&mut self, token_hash: &str, user_id: &UserId, purpose: &str, now: Millis, expires_at: Millis) -> Result<()> {
        on!(self, c => sqlx::query("INSERT INTO sign_in_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash).bind(user_id.as_str()).bind(purpose).bind(now).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn link(&mut self, token_hash: &str) -> Result<Option<SignInLink>> {
        Ok(
            on!(self, c => sqlx::query_as("SELECT token_hash, user_id, purpose, created_at, expires_at, used_at, invalidated_at FROM sign_in_links WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(c).await)?,
        )
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
