//! S4: failed sign-in lockout and inactivity lockout, decided over plain
//! data so every path is unit-tested without a server or a clock.

use crate::model::Lockout;
use crate::Millis;

/// An inactivity lock lasts until an administrator unlocks it.
pub const UNTIL_UNLOCKED: Millis = 253_402_300_799_000; // 9999-12-31T23:59:59Z
/// After an administrator unlocks an inactivity lock, the user must sign in
/// within this time or the account locks again.
pub const GRACE_AFTER_UNLOCK_MS: Millis = 72 * 3600 * 1000;

crate::stored_enum! {
    /// Why an account is locked (`users.lock_reason`, and the `reason` of
    /// a `user.locked` audit entry).
    pub enum LockReason("lock reason") {
        /// Too many failed sign-ins within the window.
        FailedSignIns => "failed_sign_ins",
        /// No sign-in for too long; lasts until an administrator unlocks.
        Inactivity => "inactivity",
    }
}

/// What sign-in knows about an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub active: bool,
    pub has_password: bool,
    pub locked_until: Option<Millis>,
    pub failed_sign_ins: i64,
    pub failed_window_start: Option<Millis>,
    pub last_sign_in_at: Option<Millis>,
    pub activated_at: Option<Millis>,
    pub unlocked_at: Option<Millis>,
}

/// The state to store after the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub failed_sign_ins: i64,
    pub failed_window_start: Option<Millis>,
    /// `Some` when this attempt locks the account: (until, reason).
    pub new_lock: Option<(Millis, LockReason)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    SignedIn,
    /// Refused; `reason` goes to the audit log only (S2).
    Refused {
        reason: &'static str,
        after: After,
    },
}

fn unchanged(a: &Account) -> After {
    After {
        failed_sign_ins: a.failed_sign_ins,
        failed_window_start: a.failed_window_start,
        new_lock: None,
    }
}

/// Whether the account has gone too long without a sign-in (S4).
pub fn inactive_too_long(a: &Account, now: Millis, cfg: &Lockout) -> bool {
    if let Some(unlocked) = a.unlocked_at {
        let signed_in_since = a.last_sign_in_at.is_some_and(|l| l >= unlocked);
        if !signed_in_since {
            return now > unlocked + GRACE_AFTER_UNLOCK_MS;
        }
    }
    let reference = [a.last_sign_in_at, a.activated_at, a.unlocked_at].into_iter().flatten().max();
    reference.is_some_and(|r| now - r > cfg.inactivity_days * 86_400_000)
}

/// Decides one sign-in attempt.
pub fn decide(a: &Account, password_ok: bool, now: Millis, cfg: &Lockout) -> Decision {
    if !a.active {
        return Decision::Refused {
            reason: "inactive",
            after: unchanged(a),
        };
    }
    if !a.has_password {
        return Decision::Refused {
            reason: "no_password",
            after: unchanged(a),
        };
    }
    if a.locked_until.is_some_and(|u| u > now) {
        return Decision::Refused {
            reason: "locked",
            after: unchanged(a),
        };
    }
    if inactive_too_long(a, now, cfg) {
        return Decision::Refused {
            reason: "locked_for_inactivity",
            after: After {
                failed_sign_ins: 0,
                failed_window_start: None,
                new_lock: Some((UNTIL_UNLOCKED, LockReason::Inactivity)),
            },
        };
    }
    if password_ok {
        return Decision::SignedIn;
    }
    let window_ms = cfg.window_minutes * 60_000;
    let (failed, start) = match a.failed_window_start {
        Some(start) if now - start <= window_ms => (a.failed_sign_ins + 1, start),
        _ => (1, now),
    };
    if failed >= cfg.max_failures {
        return Decision::Refused {
            reason: "wrong_password_locked",
            after: After {
                failed_sign_ins: 0,
                failed_window_start: None,
                new_lock: Some((now + cfg.duration_minutes * 60_000, LockReason::FailedSignIns)),
            },
        };
    }
    Decision::Refused {
        reason: "wrong_password",
        after: After {
            failed_sign_ins: failed,
            failed_window_start: Some(start),
            new_lock: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_reason_round_trips() {
        crate::code::assert_round_trips::<LockReason>();
        assert_eq!(LockReason::FailedSignIns.as_str(), "failed_sign_ins");
        assert_eq!(LockReason::Inactivity.as_str(), "inactivity");
    }
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    fn account() -> Account {
        Account {
            active: true,
            has_password: true,
            activated_at: Some(0),
            last_sign_in_at: Some(0),
            ..Default::default()
        }
    }

    fn apply(a: &mut Account, d: &Decision) {
        if let Decision::Refused { after, .. } = d {
            a.failed_sign_ins = after.failed_sign_ins;
            a.failed_window_start = after.failed_window_start;
            if let Some((until, _)) = after.new_lock {
                a.locked_until = Some(until);
            }
        }
    }

    #[test]
    fn five_failures_in_the_window_lock_for_the_duration() {
        let cfg = Lockout::default();
        let mut a = account();
        for i in 0..4 {
            let d = decide(&a, false, DAY + i * MIN, &cfg);
            assert!(
                matches!(
                    d,
                    Decision::Refused {
                        reason: "wrong_password",
                        ..
                    }
                ),
                "{i}: {d:?}"
            );
            apply(&mut a, &d);
        }
        let d = decide(&a, false, DAY + 4 * MIN, &cfg);
        assert_eq!(
            d,
            Decision::Refused {
                reason: "wrong_password_locked",
                after: After {
                    failed_sign_ins: 0,
                    failed_window_start: None,
                    new_lock: Some((DAY + 34 * MIN, LockReason::FailedSignIns))
                }
            }
        );
        apply(&mut a, &d);
        // Locked: even the right password is refused, without counting.
        assert!(matches!(
            decide(&a, true, DAY + 10 * MIN, &cfg),
            Decision::Refused { reason: "locked", .. }
        ));
        // The lock ends by itself.
        assert_eq!(decide(&a, true, DAY + 35 * MIN, &cfg), Decision::SignedIn);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let cfg = Lockout::default();
        let mut a = account();
        for i in 0..4 {
            let d = decide(&a, false, DAY + i * 16 * MIN, &cfg);
            apply(&mut a, &d);
        }
        assert_eq!(a.failed_sign_ins, 1);
        assert!(a.locked_until.is_none());
    }

    #[test]
    fn inactivity_locks_at_the_next_attempt_until_unlocked() {
        let cfg = Lockout::default();
        let a = Account {
            last_sign_in_at: Some(0),
            ..account()
        };
        assert_eq!(decide(&a, true, 90 * DAY, &cfg), Decision::SignedIn);
        let d = decide(&a, true, 90 * DAY + 1, &cfg);
        assert!(matches!(
            d,
            Decision::Refused {
                reason: "locked_for_inactivity",
                after: After {
                    new_lock: Some((UNTIL_UNLOCKED, LockReason::Inactivity)),
                    ..
                }
            }
        ));
    }

    #[test]
    fn after_an_unlock_the_user_has_72_hours() {
        let cfg = Lockout::default();
        let unlocked = Account {
            last_sign_in_at: Some(0),
            unlocked_at: Some(200 * DAY),
            ..account()
        };
        assert_eq!(decide(&unlocked, true, 200 * DAY + GRACE_AFTER_UNLOCK_MS, &cfg), Decision::SignedIn);
        assert!(matches!(
            decide(&unlocked, true, 200 * DAY + GRACE_AFTER_UNLOCK_MS + 1, &cfg),
            Decision::Refused {
                reason: "locked_for_inactivity",
                ..
            }
        ));
        // Once they signed in after the unlock, the ordinary rule applies again.
        let signed = Account {
            last_sign_in_at: Some(201 * DAY),
            ..unlocked
        };
        assert_eq!(decide(&signed, true, 250 * DAY, &cfg), Decision::SignedIn);
    }

    #[test]
    fn inactive_and_passwordless_accounts_never_sign_in_and_never_count() {
        let cfg = Lockout::default();
        let a = Account {
            active: false,
            ..account()
        };
        assert!(matches!(decide(&a, true, 1, &cfg), Decision::Refused { reason: "inactive", .. }));
        let b = Account {
            has_password: false,
            ..account()
        };
        assert!(matches!(decide(&b, true, 1, &cfg), Decision::Refused { reason: "no_password", .. }));
    }

    proptest! {
        /// Whatever the history, a locked account never signs in, and no
        /// sequence of wrong passwords signs anyone in.
        #[test]
        fn never_signs_in_while_locked_or_with_a_wrong_password(steps in prop::collection::vec((any::<bool>(), 0i64..40 * MIN), 1..40), max in 1i64..10) {
            let cfg = Lockout { max_failures: max, ..Lockout::default() };
            let mut a = account();
            let mut now = DAY;
            for (ok, dt) in steps {
                now += dt;
                let locked = a.locked_until.is_some_and(|u| u > now);
                let d = decide(&a, ok, now, &cfg);
                if locked || !ok {
                    prop_assert!(d != Decision::SignedIn);
                }
                if let Decision::Refused { after, .. } = &d {
                    prop_assert!(after.failed_sign_ins < max);
                }
                apply(&mut a, &d);
                if d == Decision::SignedIn {
                    a.last_sign_in_at = Some(now);
                    a.failed_sign_ins = 0;
                    a.failed_window_start = None;
                }
            }
        }
    }
}
