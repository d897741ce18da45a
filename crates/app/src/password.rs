//! S1: Argon2id password hashes, computed off the async executor so that a
//! burst of sign-ins does not stall other requests.

use crate::{AppError, AppResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// Each hash takes ~19 MiB and a core for tens of milliseconds: at most this
/// many run at once, so a burst of sign-ins queues instead of exhausting
/// memory and starving other requests.
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)))
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes).
pub async fn hash(password: String) -> AppResult<String> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|_| AppError::internal("hashing is shutting down"))?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| AppError::internal(format!("hashing task failed: {e}")))?
}

fn hash_blocking(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("could not hash a password: {e}")))
}

/// Checks `password` against `stored`. Without a stored hash (unknown
/// account, or a password made unusable by N5) it verifies against a dummy
/// hash and answers `false`, so the time taken reveals nothing (S2).
/// The comparison inside Argon2 is constant-time.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let Ok(_permit) = permits().acquire().await else { return false };
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored.as_deref() {
            Some(h) => (h, true),
            None => (dummy_hash(), false),
        };
        let ok = PasswordHash::new(hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// Whether `password` matches any of `hashes` (S3: no reuse).
pub async fn matches_any(password: String, hashes: Vec<String>) -> bool {
    for h in hashes {
        if verify(password.clone(), Some(h)).await {
            return true;
        }
    }
    false
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let (random, _) = domain::secret::new_token();
        hash_blocking(&random).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = hash("Correct horse 9".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Correct horse 9".into(), Some(h.clone())).await);
        assert!(!verify("wrong".into(), Some(h.clone())).await);
        assert!(!verify("anything".into(), None).await);
        assert!(!verify("x".into(), Some("not a hash".into())).await);
        assert!(matches_any("Correct horse 9".into(), vec!["junk".into(), h]).await);
    }
}
