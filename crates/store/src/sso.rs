//! SSO1: subjects bound to users, and sign-ins under way between
//! `/sso/start` and the callback.

use crate::db::{exec, fetch_optional, scalar_one, scalar_optional, statement, Tx};
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
        statement!(SSO_SUBJECT_USER = "SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2");
        let id: Option<String> = scalar_optional!(self, SSO_SUBJECT_USER, issuer, subject)?;
        Ok(id.map(UserId::from))
    }

    /// Whether the user has a subject bound at `issuer` already.
    pub async fn sso_user_bound(&mut self, user_id: &UserId, issuer: &str) -> Result<bool> {
        statement!(SSO_USER_BOUND = "SELECT COUNT(*) FROM sso_identities WHERE user_id = $1 AND issuer = $2");
        let n: i64 = scalar_one!(self, SSO_USER_BOUND, user_id.as_str(), issuer)?;
        Ok(n > 0)
    }

    pub async fn bind_sso_subject(&mut self, issuer: &str, subject: &str, user_id: &UserId, now: Millis) -> Result<()> {
        statement!(BIND_SSO_SUBJECT = "INSERT INTO sso_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)");
        exec!(self, BIND_SSO_SUBJECT, issuer, subject, user_id.as_str(), now)?;
        Ok(())
    }

    /// Records a started sign-in, and forgets those started before
    /// `forget_before` (used or not: a replay of one that old is refused as
    /// unknown all the same).
    pub async fn insert_sso_attempt(&mut self, state_hash: &str, a: &SsoAttempt, now: Millis, forget_before: Millis) -> Result<()> {
        statement!(FORGET_OLD_SSO_ATTEMPTS = "DELETE FROM sso_attempts WHERE created_at < $1");
        exec!(self, FORGET_OLD_SSO_ATTEMPTS, forget_before)?;
        statement!(
            INSERT_SSO_ATTEMPT =
                "INSERT INTO sso_attempts (state_hash, nonce, pkce_verifier, next_path, created_at) VALUES ($1, $2, $3, $4, $5)"
        );
        exec!(self, INSERT_SSO_ATTEMPT, state_hash, &a.nonce, &a.pkce_verifier, &a.next_path, now)?;
        Ok(())
    }

    /// Uses the state once: one conditional UPDATE, so of two concurrent
    /// callbacks with the same state exactly one gets the attempt.
    pub async fn claim_sso_attempt(&mut self, state_hash: &str, now: Millis, ttl_ms: Millis) -> Result<Claim> {
        statement!(
            CLAIM_SSO_ATTEMPT = "UPDATE sso_attempts SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND created_at >= $3 \
             RETURNING nonce, pkce_verifier, next_path"
        );
        let claimed: Option<SsoAttempt> = fetch_optional!(self, CLAIM_SSO_ATTEMPT, state_hash, now, now - ttl_ms)?;
        if let Some(a) = claimed {
            return Ok(Claim::Claimed(a));
        }
        statement!(SSO_ATTEMPT = "SELECT used_at, created_at FROM sso_attempts WHERE state_hash = $1");
        let seen: Option<(Option<i64>, i64)> = fetch_optional!(self, SSO_ATTEMPT, state_hash)?;
        Ok(match seen {
            Some((Some(_), _)) => Claim::Replayed,
            Some((None, _)) => Claim::Expired,
            None => Claim::Unknown,
        })
    }

    /// How a session was made (`password` or `oidc`).
    pub async fn set_session_method(&mut self, token_hash: &str, method: &str) -> Result<()> {
        statement!(SET_SESSION_METHOD = "UPDATE sessions SET method = $2 WHERE token_hash = $1");
        exec!(self, SET_SESSION_METHOD, token_hash, method)?;
        Ok(())
    }

    pub async fn session_method(&mut self, token_hash: &str) -> Result<Option<String>> {
        statement!(SESSION_METHOD = "SELECT method FROM sessions WHERE token_hash = $1");
        let m: Option<String> = scalar_optional!(self, SESSION_METHOD, token_hash)?;
        Ok(m)
    }
}
