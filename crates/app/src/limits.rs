//! S4/S2/S12: rate limits on sign-in and set-password attempts, per source
//! address and per account, so that guessing is slow even before lockout.
//! In memory, per process: with several processes each enforces its own
//! share, which still bounds the total. The work itself (password hashing)
//! is bounded by [`crate::password::HashGate`].

use crate::AppError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::Ipv6Net;
use std::net::IpAddr;
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
    AppError::RateLimited {
        code: "too_many_attempts",
        message: "too many attempts; wait a minute and try again".into(),
        retry_after_seconds: 60,
    }
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
        let address_ok = self.per_address.check_key(&address_key(address)).is_ok();
        let account_ok = self.per_account.check_key(&email.trim().to_lowercase()).is_ok();
        if address_ok && account_ok {
            Ok(())
        } else {
            Err(too_many())
        }
    }

    pub fn set_password(&self, address: Option<&str>) -> Result<(), AppError> {
        self.housekeeping();
        self.set_password.check_key(&address_key(address)).map_err(|_| too_many())
    }
}

/// S12: the bucket of a source address. One IPv6 client usually holds a
/// whole /64 and can pick any address in it, so IPv6 is keyed by its /64
/// prefix; IPv4 (also IPv4 written as IPv6) by the address.
pub fn address_key(address: Option<&str>) -> String {
    match address.map(|a| a.parse::<IpAddr>().map(|ip| ip.to_canonical())) {
        Some(Ok(IpAddr::V6(v6))) => Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        Some(Ok(ip)) => ip.to_string(),
        Some(Err(_)) => address.unwrap_or("-").to_owned(),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s12_ipv6_is_keyed_by_its_64_and_ipv4_by_address() {
        assert_eq!(address_key(Some("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(address_key(Some("2001:db8:1:2:ffff:ffff:ffff:ffff")), "2001:db8:1:2::/64");
        assert_ne!(address_key(Some("2001:db8:1:3::1")), address_key(Some("2001:db8:1:2::1")));
        assert_eq!(address_key(Some("192.0.2.7")), "192.0.2.7");
        assert_ne!(address_key(Some("192.0.2.8")), address_key(Some("192.0.2.7")));
        assert_eq!(address_key(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(address_key(None), "-");
    }

    #[test]
    fn s12_one_64_shares_one_sign_in_bucket() {
        let limits = Limits::new(LimitConfig {
            sign_in_per_address: 3,
            sign_in_per_account: 1000,
            set_password_per_address: 2,
        });
        for i in 1..=3 {
            assert!(limits
                .sign_in(Some(&format!("2001:db8:0:1::{i}")), &format!("u{i}@x.example"))
                .is_ok());
        }
        let e = limits.sign_in(Some("2001:db8:0:1:ffff::9"), "u9@x.example").unwrap_err();
        assert_eq!(e.code(), "too_many_attempts");
        assert!(
            limits.sign_in(Some("2001:db8:0:2::1"), "u9@x.example").is_ok(),
            "the next /64 is another client"
        );
        assert!(limits.sign_in(Some("192.0.2.1"), "u9@x.example").is_ok());
        assert!(limits.set_password(Some("2001:db8:0:7::1")).is_ok());
        assert!(limits.set_password(Some("2001:db8:0:7::2")).is_ok());
        assert!(limits.set_password(Some("2001:db8:0:7::3")).is_err());
    }
}
