//! Sessions, one-time sign-in links and password hashes (S1, N5, N6).
//! Tokens arrive here already hashed: the store never sees a usable secret.

use crate::db::{exec, fetch_one, fetch_optional, scalar_all, scalar_one, statement, Tx};
use crate::sql::{Arg, Sql};
use crate::users::{UserRow, USER_COLUMNS};
use crate::Result;
use const_format::formatcp;
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
    /// S10: the address the link was made for (`Email::normalize`d); it works only
    /// while the user still has that address.
    pub sent_to: String,
}

impl crate::Db {
    /// The session with this token hash that has neither reached its
    /// absolute expiry nor been idle longer than the company's idle timeout
    /// (S11), with its user as stored now (S6: the caller re-checks
    /// `active` on every request). One statement, its own snapshot: on
    /// SQLite a direct reader's (crate::direct), as every request asks it.
    pub async fn session(&self, token_hash: &str, now: Millis) -> Result<Option<SessionRecord>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            s_created_at: i64,
            s_last_seen_at: i64,
            s_expires_at: i64,
            idle_ms: i64,
        }
        statement!(
            SESSION = formatcp!(
                "SELECT {USER_COLUMNS}, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, \
             st.session_idle_minutes * 60000 AS idle_ms \
             FROM sessions s JOIN users u ON u.id = s.user_id CROSS JOIN settings st \
             WHERE s.token_hash = $1 AND st.id = 1 AND s.expires_at > $2 AND s.last_seen_at + st.session_idle_minutes * 60000 > $2"
            )
        );
        let row = if let Some(reader) = self.direct_reader().await? {
            let sql = Sql::fixed(SESSION.sql, vec![Arg::Text(token_hash.to_owned()), Arg::Int(now)]);
            crate::direct::optional(&reader, &sql, |r| {
                let n = UserRow::SQLITE_COLUMNS;
                Ok(Row {
                    user: UserRow::from_sqlite(r)?,
                    s_created_at: r.get(n)?,
                    s_last_seen_at: r.get(n + 1)?,
                    s_expires_at: r.get(n + 2)?,
                    idle_ms: r.get(n + 3)?,
                })
            })?
        } else {
            let mut tx = self.read_one().await?;
            fetch_optional!(tx, SESSION, token_hash, now)?
        };
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
        statement!(COUNTERS = "SELECT password_hash, failed_sign_ins, failed_window_start, unlocked_at FROM users WHERE id = $1");
        let row: CounterRow = fetch_one!(self, COUNTERS, user_id.as_str())?;
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
        statement!(SET_PASSWORD_HASH = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1");
        exec!(self, SET_PASSWORD_HASH, user_id.as_str(), hash, now)?;
        if let Some(hash) = hash {
            statement!(
                REMEMBER_PASSWORD_HASH = "INSERT INTO password_history (user_id, set_at, password_hash) VALUES ($1, $2, $3) \
                ON CONFLICT (user_id, set_at) DO UPDATE SET password_hash = excluded.password_hash"
            );
            exec!(self, REMEMBER_PASSWORD_HASH, user_id.as_str(), now, hash)?;
        }
        Ok(())
    }

    /// The `n` most recent password hashes of a user, newest first.
    pub async fn recent_password_hashes(&mut self, user_id: &UserId, n: i64) -> Result<Vec<String>> {
        statement!(RECENT_PASSWORD_HASHES = "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY set_at DESC LIMIT $2");
        Ok(scalar_all!(self, RECENT_PASSWORD_HASHES, user_id.as_str(), n)?)
    }

    /// S4/S11: a refused sign-in's failure counters. The caller read the
    /// counters it builds on with [`Tx::credentials_for_update`] in this
    /// transaction, so parallel failures each count.
    pub async fn record_failed_sign_in(&mut self, user_id: &UserId, failed: i64, window_start: Option<Millis>) -> Result<()> {
        statement!(RECORD_FAILED_SIGN_IN = "UPDATE users SET failed_sign_ins = $2, failed_window_start = $3 WHERE id = $1");
        exec!(self, RECORD_FAILED_SIGN_IN, user_id.as_str(), failed, window_start)?;
        Ok(())
    }

    /// S4: locks the account until `until`, for `reason`; failures so far
    /// are forgotten.
    pub async fn lock_user(&mut self, user_id: &UserId, until: Millis, reason: LockReason) -> Result<()> {
        statement!(
            LOCK_USER =
                "UPDATE users SET locked_until = $2, lock_reason = $3, failed_sign_ins = 0, failed_window_start = NULL WHERE id = $1"
        );
        exec!(self, LOCK_USER, user_id.as_str(), until, reason.as_str())?;
        Ok(())
    }

    /// S4: an administrator ends a lock; `unlocked_at` starts the grace
    /// period after an inactivity lock.
    pub async fn unlock_user(&mut self, user_id: &UserId, unlocked_at: Option<Millis>, now: Millis) -> Result<()> {
        statement!(
            UNLOCK_USER = "UPDATE users SET locked_until = NULL, lock_reason = NULL, failed_sign_ins = 0, failed_window_start = NULL, \
             unlocked_at = $2, updated_at = $3 WHERE id = $1"
        );
        exec!(self, UNLOCK_USER, user_id.as_str(), unlocked_at, now)?;
        Ok(())
    }

    /// S4: clears every lock whose time has passed. An expired lock
    /// already lets its user sign in; clearing it keeps the locked-out
    /// list's indexes (migration 0011) to the accounts locked now. Only the
    /// lock's two fields change: the failure count and its window, the
    /// unlock time and `updated_at` stay. Returns how many were cleared.
    pub async fn clear_expired_locks(&mut self, now: Millis) -> Result<u64> {
        statement!(CLEAR_EXPIRED_LOCKS = "UPDATE users SET locked_until = NULL, lock_reason = NULL WHERE locked_until <= $1");
        Ok(exec!(self, CLEAR_EXPIRED_LOCKS, now)?)
    }

    /// A successful sign-in: the time, and no lock or failures left.
    pub async fn record_sign_in(&mut self, user_id: &UserId, now: Millis) -> Result<()> {
        statement!(
            RECORD_SIGN_IN = "UPDATE users SET last_sign_in_at = $2, locked_until = NULL, lock_reason = NULL, failed_sign_ins = 0, \
             failed_window_start = NULL, unlocked_at = NULL WHERE id = $1"
        );
        exec!(self, RECORD_SIGN_IN, user_id.as_str(), now)?;
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
        statement!(INSERT_SESSION = "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, source_ip) VALUES ($1, $2, $3, $3, $4, $5)");
        exec!(self, INSERT_SESSION, token_hash, user_id.as_str(), now, expires_at, source_ip)?;
        Ok(())
    }

    /// S11: the session was used at `now` (its idle time starts again).
    pub async fn touch_session(&mut self, token_hash: &str, now: Millis) -> Result<()> {
        statement!(TOUCH_SESSION = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2");
        exec!(self, TOUCH_SESSION, token_hash, now)?;
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<u64> {
        statement!(DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = $1");
        Ok(exec!(self, DELETE_SESSION, token_hash)?)
    }

    /// Ends every session of a user at once (N5, D2).
    pub async fn delete_user_sessions(&mut self, user_id: &UserId) -> Result<u64> {
        statement!(DELETE_USER_SESSIONS = "DELETE FROM sessions WHERE user_id = $1");
        Ok(exec!(self, DELETE_USER_SESSIONS, user_id.as_str())?)
    }

    pub async fn count_user_sessions(&mut self, user_id: &UserId) -> Result<i64> {
        statement!(COUNT_USER_SESSIONS = "SELECT COUNT(*) FROM sessions WHERE user_id = $1");
        Ok(scalar_one!(self, COUNT_USER_SESSIONS, user_id.as_str())?)
    }

    /// S11: deletes sessions past their absolute expiry or idle longer than
    /// `idle_ms` at `now`; both conditions are index ranges.
    pub async fn delete_expired_sessions(&mut self, now: Millis, idle_ms: Millis) -> Result<u64> {
        statement!(DELETE_SESSIONS_PAST_LIFETIME = "DELETE FROM sessions WHERE expires_at <= $1");
        let expired = exec!(self, DELETE_SESSIONS_PAST_LIFETIME, now)?;
        statement!(DELETE_IDLE_SESSIONS = "DELETE FROM sessions WHERE last_seen_at <= $1");
        let idle = exec!(self, DELETE_IDLE_SESSIONS, now - idle_ms)?;
        Ok(expired + idle)
    }

    /// Ends every session of a user but one (S11: setting a password ends
    /// the others).
    pub async fn delete_other_sessions(&mut self, user_id: &UserId, keep_token_hash: &str) -> Result<u64> {
        statement!(DELETE_OTHER_SESSIONS = "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2");
        Ok(exec!(self, DELETE_OTHER_SESSIONS, user_id.as_str(), keep_token_hash)?)
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
        statement!(
            INSERT_LINK =
                "INSERT INTO sign_in_links (token_hash, user_id, purpose, created_at, expires_at, sent_to) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        exec!(
            self,
            INSERT_LINK,
            token_hash,
            user_id.as_str(),
            purpose.as_str(),
            now,
            expires_at,
            domain::Email::normalize(sent_to)
        )?;
        Ok(())
    }

    pub async fn link(&mut self, token_hash: &str) -> Result<Option<SignInLink>> {
        statement!(LINK = "SELECT token_hash, user_id, purpose, created_at, expires_at, used_at, invalidated_at, sent_to FROM sign_in_links WHERE token_hash = $1");
        Ok(fetch_optional!(self, LINK, token_hash)?)
    }

    /// Marks a link used; `false` when it was already used or invalidated
    /// (a concurrent use won).
    pub async fn use_link(&mut self, token_hash: &str, now: Millis) -> Result<bool> {
        statement!(USE_LINK = "UPDATE sign_in_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND invalidated_at IS NULL");
        let n = exec!(self, USE_LINK, token_hash, now)?;
        Ok(n == 1)
    }

    /// Invalidates every open link of a user (N5, D2).
    pub async fn invalidate_user_links(&mut self, user_id: &UserId, now: Millis) -> Result<u64> {
        statement!(
            INVALIDATE_USER_LINKS =
                "UPDATE sign_in_links SET invalidated_at = $2 WHERE user_id = $1 AND used_at IS NULL AND invalidated_at IS NULL"
        );
        Ok(exec!(self, INVALIDATE_USER_LINKS, user_id.as_str(), now)?)
    }
}
