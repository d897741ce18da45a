//! S1: Argon2id password hashes, computed off the async executor so that a
//! burst of sign-ins does not stall other requests.

use crate::{AppError, AppResult, ErrorKind};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Each hash takes ~19 MiB and a core for tens of milliseconds: at most
/// `permits` run at once, and at most `queue` more wait for their turn.
/// Beyond that a request is refused at once (S12), so a flood of sign-ins
/// gets quick refusals instead of a queue that grows until every request
/// times out, and the server keeps answering everything else.
pub struct HashGate {
    permits: tokio::sync::Semaphore,
    /// Requests admitted to the hashing path: running or waiting.
    admitted: AtomicUsize,
    capacity: usize,
}

/// How many requests may wait for a hashing permit.
pub const MAX_WAITING: usize = 64;

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

impl HashGate {
    pub fn new(permits: usize, queue: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(permits.max(1)),
            admitted: AtomicUsize::new(0),
            capacity: permits.max(1) + queue,
        }
    }

    /// S12: a place in the hashing path, or `server_busy` (429 with
    /// `Retry-After`) when `permits` hashes run and `queue` requests already
    /// wait. Taken before a use case that hashes and held until it ends.
    pub fn admit(&self) -> AppResult<Admission<'_>> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission { gate: self };
        if before >= self.capacity {
            drop(admission);
            return Err(AppError::new(
                ErrorKind::TooManyRequests,
                "server_busy",
                "the server is busy checking passwords; try again in a moment",
            )
            .with("retry_after_seconds", 1.into()));
        }
        Ok(admission)
    }

    async fn permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }
}

/// The gate of this process: permits = cores, [`MAX_WAITING`] waiting.
pub fn gate() -> &'static HashGate {
    static GATE: OnceLock<HashGate> = OnceLock::new();
    GATE.get_or_init(|| {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2);
        HashGate::new(cores, MAX_WAITING)
    })
}

/// S12: a place in this process's hashing path (see [`HashGate::admit`]).
pub fn admit() -> AppResult<Admission<'static>> {
    gate().admit()
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes).
pub async fn hash(password: String) -> AppResult<String> {
    let _permit = gate()
        .permit()
        .await
        .ok_or_else(|| AppError::internal("hashing is shutting down"))?;
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
    let Some(_permit) = gate().permit().await else { return false };
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

    #[test]
    fn s12_the_hashing_queue_is_bounded_and_refuses_at_once() {
        let gate = HashGate::new(2, 3);
        let mut held: Vec<_> = (0..5).map(|_| gate.admit().expect("2 running and 3 waiting fit")).collect();
        for _ in 0..3 {
            let e = gate.admit().err().expect("the sixth is refused");
            assert_eq!(e.kind, ErrorKind::TooManyRequests);
            assert_eq!(e.code, "server_busy");
            assert_eq!(e.details["retry_after_seconds"], 1);
        }
        // Refusals do not use up places; a finished request frees one.
        held.pop();
        let again = gate.admit().expect("a place was freed");
        assert!(gate.admit().is_err());
        drop(again);
        assert!(gate.admit().is_ok());
    }

    #[tokio::test]
    async fn s12_admitted_requests_beyond_the_permits_wait_for_a_hash() {
        let gate = HashGate::new(1, 1);
        let _a = gate.admit().unwrap();
        let _b = gate.admit().unwrap();
        assert!(gate.admit().is_err());
        let running = gate.permit().await.expect("the first runs");
        let mut waiting = Box::pin(gate.permit());
        assert!(futures_poll_once(waiting.as_mut()).await.is_none(), "the second waits its turn");
        drop(running);
        assert!(waiting.await.is_some());
    }

    /// Polls a future once: `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }
}
