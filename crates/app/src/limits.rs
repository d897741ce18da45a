//! S4/S2: rate limits on sign-in and set-password attempts, per source
//! address and per account, so that guessing is slow even before lockout.
//! In memory, per process: with several processes each enforces its own
//! share, which still bounds the total.

use crate::{AppError, ErrorKind};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Limits {
    per_address: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    set_password: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

/// Attempts a minute.
#[derive(Debug, Clone, Copy)]
pub struct LimitConfig {
    pub sign_in_per_address: u32,
    pub sign_in_per_account: u32,
    pub set_password_per_address: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            sign_in_per_address: 60,
            sign_in_per_account: 10,
            set_password_per_address: 30,
        }
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn too_many() -> AppError {
    AppError::new(
        ErrorKind::TooManyRequests,
        "too_many_attempts",
        "too many attempts; wait a minute and try again",
    )
    .with("retry_after_seconds", 60.into())
}

impl Limits {
    pub fn new(c: LimitConfig) -> Self {
        Self {
            per_address: RateLimiter::keyed(per_minute(c.sign_in_per_address)),
            per_account: RateLimiter::keyed(per_minute(c.sign_in_per_account)),
            set_password: RateLimiter::keyed(per_minute(c.set_password_per_address)),
            checks: AtomicU64::new(0),
        }
    }

    fn housekeeping(&self) {
        // Forget idle keys now and then so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(4096) {
            self.per_address.retain_recent();
            self.per_account.retain_recent();
            self.set_password.retain_recent();
        }
    }

    pub fn sign_in(&self, address: Option<&str>, email: &str) -> Result<(), AppError> {
        self.housekeeping();
        let address_ok = self.per_address.check_key(&address.unwrap_or("-").to_owned()).is_ok();
        let account_ok = self.per_account.check_key(&email.trim().to_lowercase()).is_ok();
        if address_ok && account_ok {
            Ok(())
        } else {
            Err(too_many())
        }
    }

    pub fn set_password(&self, address: Option<&str>) -> Result<(), AppError> {
        self.housekeeping();
        self.set_password
            .check_key(&address.unwrap_or("-").to_owned())
            .map_err(|_| too_many())
    }
}
