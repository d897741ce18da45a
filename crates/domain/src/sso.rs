//! SSO1: the rules of OpenID Connect sign-in over plain data — who a
//! verified ID token signs in, whether an account may sign in that way,
//! who may still use a password, and the clock-skew allowance of the token
//! checks. The protocol itself (discovery, PKCE, signatures) is the
//! `openidconnect` crate's, driven by `app::sso`.

use crate::lockout::{inactive_too_long, Account, After, Decision, LockReason, UNTIL_UNLOCKED};
use crate::model::Lockout;
use crate::{Millis, Role, Side, UserId};

/// How far the identity provider's clock may be ahead (`iat`) or our own
/// behind (`exp`) before a token is refused.
pub const CLOCK_SKEW_MS: Millis = 60_000;

/// How long a sign-in started at `/sso/start` may take to come back to the
/// callback; the state cookie lives as long.
pub const ATTEMPT_TTL_MS: Millis = 10 * 60_000;

/// The company's registration at its identity provider (settings `sso`).
#[derive(Clone, PartialEq, Eq)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    /// Never logged, audited or answered: `Debug` leaves it out.
    pub client_secret: String,
    pub only_sso_for_company_users: bool,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("only_sso_for_company_users", &self.only_sso_for_company_users)
            .finish()
    }
}

/// Whether a user on `side` may sign in with a password. With
/// `only_sso_for_company_users`, company users sign in only through the
/// identity provider; outside counsel (firm users) keep their passwords.
/// System administrators keep their password as the way in when the
/// identity provider fails: the operator's `tracker create-admin` gives
/// them a one-time link to set one.
pub fn password_allowed(sso: Option<&SsoSettings>, side: Side, role: Role) -> bool {
    role == Role::CompanySystemAdministrator || !(side == Side::Company && sso.is_some_and(|s| s.only_sso_for_company_users))
}

/// Who the token's subject and email lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The subject was bound to this user on an earlier sign-in.
    Bound(UserId),
    /// Nobody has the subject; this user has the token's verified email,
    /// and the subject is to be bound to them now.
    ByEmail(UserId),
    /// Nobody: the reason is for the audit log only (S2).
    Nobody(&'static str),
}

/// What the store found for a token: the user bound to its subject, and
/// the user with its email (when it carries one) together with whether
/// that user is already bound to another subject of the same issuer.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub by_subject: Option<UserId>,
    pub by_email: Option<(UserId, bool)>,
    pub email_verified: bool,
}

/// SSO1 matching: the bound subject first; else a verified email whose
/// user is not bound to another subject. No account is ever created.
pub fn match_user(f: &Found) -> Match {
    if let Some(id) = &f.by_subject {
        return Match::Bound(id.clone());
    }
    match &f.by_email {
        None => Match::Nobody("unknown_user"),
        Some(_) if !f.email_verified => Match::Nobody("email_not_verified"),
        Some((_, true)) => Match::Nobody("bound_to_other_subject"),
        Some((id, false)) => Match::ByEmail(id.clone()),
    }
}

/// S2/S4 for a sign-in through the identity provider: the account must be
/// active and not locked, and inactivity locks it as a password sign-in
/// would. A password is not needed; failed-password counters are untouched.
pub fn decide(a: &Account, now: Millis, cfg: &Lockout) -> Decision {
    let unchanged = After {
        failed_sign_ins: a.failed_sign_ins,
        failed_window_start: a.failed_window_start,
        new_lock: None,
    };
    if !a.active {
        return Decision::Refused {
            reason: "inactive",
            after: unchanged,
        };
    }
    if a.locked_until.is_some_and(|u| u > now) {
        return Decision::Refused {
            reason: "locked",
            after: unchanged,
        };
    }
    if inactive_too_long(a, now, cfg) {
        return Decision::Refused {
            reason: "locked_for_inactivity",
            after: After {
                new_lock: Some((UNTIL_UNLOCKED, LockReason::Inactivity)),
                ..unchanged
            },
        };
    }
    Decision::SignedIn
}

/// The `iat` check: a token issued more than the skew in the future is
/// refused (`exp` is checked by the crate against our clock less the skew).
pub fn check_issued_at(iat: Millis, now: Millis) -> Result<(), String> {
    if iat > now + CLOCK_SKEW_MS {
        Err(format!("the token was issued in the future ({iat} > {now})"))
    } else {
        Ok(())
    }
}

/// The issuer of a configuration: an `https` URL, or `http` on a loopback
/// host (a provider run beside Tracker, as the test suites do). Returns a
/// sentence for the 422 when it is not acceptable.
pub fn check_issuer(issuer: &str) -> Result<(), &'static str> {
    let rest = if let Some(r) = issuer.strip_prefix("https://") {
        r
    } else if let Some(r) = issuer.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = if host.starts_with('[') {
            host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or("").to_owned()
        };
        let loopback_v4 = name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
        if !(name == "localhost" || name == "[::1]" || loopback_v4) {
            return Err("the issuer must be an https URL");
        }
        r
    } else {
        return Err("the issuer must be an https URL");
    };
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', ' ']) {
        return Err("the issuer must be a URL with a host and no query or fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sso(only: bool) -> SsoSettings {
        SsoSettings {
            issuer: "https://idp.example".into(),
            client_id: "tracker".into(),
            client_secret: "s3cret".into(),
            only_sso_for_company_users: only,
        }
    }

    fn cfg() -> Lockout {
        Lockout {
            max_failures: 5,
            window_minutes: 15,
            duration_minutes: 30,
            inactivity_days: 90,
        }
    }

    fn active() -> Account {
        Account {
            active: true,
            activated_at: Some(0),
            ..Account::default()
        }
    }

    #[test]
    fn passwords_are_refused_only_to_company_users_under_only_sso() {
        let user = Role::CompanyUser;
        assert!(password_allowed(None, Side::Company, user));
        assert!(password_allowed(Some(&sso(false)), Side::Company, user));
        assert!(!password_allowed(Some(&sso(true)), Side::Company, user));
        assert!(!password_allowed(Some(&sso(true)), Side::Company, Role::CompanyOfficeAdministrator));
        assert!(password_allowed(Some(&sso(true)), Side::Company, Role::CompanySystemAdministrator));
        assert!(password_allowed(Some(&sso(true)), Side::Firm, user));
        assert!(password_allowed(None, Side::Firm, user));
    }

    #[test]
    fn matching_prefers_the_bound_subject_then_a_verified_unbound_email() {
        let a = UserId::from("a".to_owned());
        let b = UserId::from("b".to_owned());
        let bound = Found {
            by_subject: Some(a.clone()),
            by_email: Some((b.clone(), false)),
            email_verified: false,
        };
        assert_eq!(match_user(&bound), Match::Bound(a.clone()));
        let by_email = Found {
            by_subject: None,
            by_email: Some((b.clone(), false)),
            email_verified: true,
        };
        assert_eq!(match_user(&by_email), Match::ByEmail(b.clone()));
        let unverified = Found {
            email_verified: false,
            ..by_email.clone()
        };
        assert_eq!(match_user(&unverified), Match::Nobody("email_not_verified"));
        let taken = Found {
            by_email: Some((b, true)),
            ..by_email
        };
        assert_eq!(match_user(&taken), Match::Nobody("bound_to_other_subject"));
        assert_eq!(match_user(&Found::default()), Match::Nobody("unknown_user"));
    }

    #[test]
    fn inactive_locked_and_long_idle_accounts_are_refused_without_a_password_check() {
        let now = 1_000 * 86_400_000;
        assert_eq!(decide(&active(), 10, &cfg()), Decision::SignedIn);
        let no_password = Account {
            has_password: false,
            ..active()
        };
        assert_eq!(decide(&no_password, 10, &cfg()), Decision::SignedIn);
        let inactive = Account { active: false, ..active() };
        assert!(matches!(
            decide(&inactive, 10, &cfg()),
            Decision::Refused { reason: "inactive", .. }
        ));
        let locked = Account {
            locked_until: Some(20),
            ..active()
        };
        assert!(matches!(decide(&locked, 10, &cfg()), Decision::Refused { reason: "locked", .. }));
        assert_eq!(decide(&locked, 20, &cfg()), Decision::SignedIn);
        match decide(&active(), now, &cfg()) {
            Decision::Refused { reason, after } => {
                assert_eq!(reason, "locked_for_inactivity");
                assert_eq!(after.new_lock, Some((UNTIL_UNLOCKED, LockReason::Inactivity)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn issued_at_allows_the_skew_and_no_more() {
        assert!(check_issued_at(1_000, 1_000).is_ok());
        assert!(check_issued_at(1_000 + CLOCK_SKEW_MS, 1_000).is_ok());
        assert!(check_issued_at(1_001 + CLOCK_SKEW_MS, 1_000).is_err());
    }

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            "https://login.microsoftonline.com/tenant/v2.0",
            "https://accounts.google.com",
            "http://127.0.0.1:4000",
            "http://localhost:3000/oidc",
            "http://[::1]:9",
        ] {
            assert_eq!(check_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://idp.example",
            "ftp://idp.example",
            "idp.example",
            "https://",
            "https:///path",
            "https://idp.example/?x=1",
            "https://idp.example/#f",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }
}
