//! SSO1: subjects bound to users, and sign-ins under way between
//! `/sso/start` and the callback.

use crate::db::{on, Tx};
use crate::Result;
use domain::{Millis, UserId};

/// What a sign-in under way needs at its callback.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoAttempt {
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
}

/// The outcome of claiming a state at the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use, in time: the attempt is now used.
    Claimed(SsoAttempt),
    /// The state was already used by an earlier callback (a replay).
    Replayed,
    /// The state is older than its time to live.
    Expired,
    /// No sign-in was started with this state.
    Unknown,
}

impl Tx {
    /// The user bound to `subject` at `issuer`.
    pub async fn sso_subject_user(&mut self, issuer: &str, subject: &str) -> Result<Option<UserId>> {
        let id: Option<String> = on!(self, c => sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2")
            .bind(issuer).bind(subject).fetch_optional(c).await)?;
        Ok(id.map(UserId::from))
    }

    /// Whether the user has a subject bound at `issuer` already.
    pub async fn sso_user_bound(&mut self, user_id: &UserId, issuer: &str) -> Result<bool> {
        let n: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM sso_identities WHERE user_id = $1 AND issuer = $2")
            .bind(user_id.as_str()).bind(issuer).fetch_one(c).await)?;
        Ok(n > 0)
    }

    pub async fn bind_sso_subject(&mut self, issuer: &str, subject: &str, user_id: &UserId, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query("INSERT INTO sso_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer).bind(subject).bind(user_id.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a started sign-in, and forgets those started before
    /// `forget_before` (used or not: a replay of one that old is refused as
    /// unknown all the same).
    pub async fn insert_sso_attempt(&mut self, state_hash: &str, a: &SsoAttempt, now: Millis, forget_before: Millis) -> Result<()> {
        on!(self, c => sqlx::query("DELETE FROM sso_attempts WHERE created_at < $1")
            .bind(forget_before).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query("INSERT INTO sso_attempts (state_hash, nonce, pkce_verifier, next_path, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(state_hash).bind(&a.nonce).bind(&a.pkce_verifier).bind(&a.next_path).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Uses the state once: one conditional UPDATE, so of two concurrent
    /// callbacks with the same state exactly one gets the attempt.
    pub async fn claim_sso_attempt(&mut self, state_hash: &str, now: Millis, ttl_ms: Millis) -> Result<Claim> {
        let claimed: Option<SsoAttempt> = on!(self, c => sqlx::query_as(
            "UPDATE sso_attempts SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND created_at >= $3 \
             RETURNING nonce, pkce_verifier, next_path")
            .bind(state_hash).bind(now).bind(now - ttl_ms).fetch_optional(c).await)?;
        if let Some(a) = claimed {
            return Ok(Claim::Claimed(a));
        }
        let seen: Option<(Option<i64>, i64)> = on!(self, c => sqlx::query_as("SELECT used_at, created_at FROM sso_attempts WHERE state_hash = $1")
            .bind(state_hash).fetch_optional(c).await)?;
        Ok(match seen {
            Some((Some(_), _)) => Claim::Replayed,
            Some((None, _)) => Claim::Expired,
            None => Claim::Unknown,
        })
    }

    /// How a session was made (`password` or `oidc`).
    pub async fn set_session_method(&mut self, token_hash: &str, method: &str) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE sessions SET method = $2 WHERE token_hash = $1")
            .bind(token_hash).bind(method).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn session_method(&mut self, token_hash: &str) -> Result<Option<String>> {
        let m: Option<String> = on!(self, c => sqlx::query_scalar("SELECT method FROM sessions WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(c).await)?;
        Ok(m)
    }
}
