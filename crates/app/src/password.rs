//! S1: Argon2id password hashes, computed off the async executor so that a
//! burst of sign-ins does not stall other requests.

use crate::{AppError, AppResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Each hash takes ~19 MiB and a core for tens of milliseconds: at most
/// this many run at once, so a burst of sign-ins queues instead of
/// exhausting memory and starving other requests.
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(concurrent_hashes()))
}

fn concurrent_hashes() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)
}

/// How many requests may wait for a hashing permit.
pub const MAX_WAITING: usize = 64;

/// S12: a bound on the queue in front of hashing. At most the hashes that
/// run at once plus [`MAX_WAITING`] requests are admitted to a use case
/// that hashes; beyond that a request is refused at once, so a flood of
/// sign-ins gets quick refusals instead of a queue that grows until every
/// request times out, and the server keeps answering everything else.
pub struct HashGate {
    /// Requests admitted to the hashing path: running or waiting.
    admitted: AtomicUsize,
    capacity: usize,
}

/// A request's place in the hashing path; the place is freed on drop.
#[must_use = "the admission ends when this is dropped"]
pub struct Admission<'a> {
    gate: &'a HashGate,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for HashGate {
    /// As many places as hashes run at once, plus [`MAX_WAITING`].
    fn default() -> Self {
        Self::new(concurrent_hashes() + MAX_WAITING)
    }
}

impl HashGate {
    pub fn new(capacity: usize) -> Self {
        Self {
            admitted: AtomicUsize::new(0),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// S12: a place in the hashing path, or `server_busy` (429 with
    /// `Retry-After`) when every place is taken. Taken before a use case
    /// that hashes (sign-in, set-password) and held until it ends. Refusing
    /// here rather than inside [`verify`] matters: a refused verification
    /// would count as a wrong password (S4) and lock the account.
    pub fn admit(&self) -> AppResult<Admission<'_>> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission { gate: self };
        if before >= self.capacity {
            drop(admission);
            return Err(AppError::Unavailable {
                code: "server_busy",
                message: "the server is busy checking passwords; try again in a moment".into(),
                retry_after_seconds: 1,
            });
        }
        Ok(admission)
    }
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
    use crate::ErrorKind;

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

    #[test]
    fn s12_the_hashing_queue_is_bounded_and_refuses_at_once() {
        let gate = HashGate::new(5);
        let mut held: Vec<_> = (0..5).map(|_| gate.admit().expect("five places")).collect();
        for _ in 0..3 {
            let e = gate.admit().err().expect("the sixth is refused");
            assert_eq!(e.kind(), ErrorKind::Unavailable);
            assert_eq!(e.code(), "server_busy");
            assert_eq!(e.retry_after_seconds(), Some(1));
        }
        // Refusals do not use up places; a finished request frees one.
        held.pop();
        let again = gate.admit().expect("a place was freed");
        assert!(gate.admit().is_err());
        drop(again);
        drop(held);
        assert!((0..5).map(|_| gate.admit()).all(|a| a.is_ok()), "all places free again");
    }

    #[test]
    fn s12_the_default_gate_holds_the_running_hashes_and_64_waiting() {
        assert_eq!(HashGate::default().capacity(), concurrent_hashes() + MAX_WAITING);
    }
}
