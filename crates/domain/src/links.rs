//! N5, N6, S10: when an emailed one-time link may still set a password.
//! The rule is decided here once; the use case and the page that checks a
//! link before showing its form both ask it.

use crate::{Email, Millis};

crate::stored_enum! {
    /// What a one-time link was made for (`sign_in_links.purpose`).
    pub enum LinkPurpose("sign-in link purpose") {
        /// `tracker create-admin` / `users link`: the first administrator's setup.
        AdminSetup => "admin_setup",
        /// N1–N4, N6: carried by the new user email.
        NewUserEmail => "new_user_email",
        /// N5: carried by a reset email.
        PasswordReset => "password_reset",
    }
}

/// What is stored about a link, and who it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState<'a> {
    pub used_at: Option<Millis>,
    pub invalidated_at: Option<Millis>,
    pub expires_at: Millis,
    /// The address the link was sent to.
    pub sent_to: &'a str,
    pub user_active: bool,
    /// The user's address now; the link works only while it is the same
    /// sign-in id as `sent_to` (`Email::is_same_address`).
    pub user_email: &'a Email,
}

/// Why a link cannot set a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// No such link (or not a token at all).
    Invalid,
    /// N6: it worked once already.
    Used,
    /// N5/D2/S10: replaced by a newer link, withdrawn by a deactivation, or
    /// sent to an address the user no longer has.
    Superseded,
    /// N6: past its lifetime.
    Expired,
}

/// `Ok` when the link may set a password at `now`. A used link is reported
/// as used even if it was also superseded later: that is what its holder
/// needs to know.
pub fn check(link: &LinkState<'_>, now: Millis) -> Result<(), LinkProblem> {
    if link.used_at.is_some() {
        Err(LinkProblem::Used)
    } else if link.invalidated_at.is_some() || !link.user_active || !link.user_email.is_same_address(link.sent_to) {
        Err(LinkProblem::Superseded)
    } else if link.expires_at <= now {
        Err(LinkProblem::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn link_purpose_round_trips() {
        crate::code::assert_round_trips::<LinkPurpose>();
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    /// A link sent to `ann@example.com` (stored lower-cased) for a user
    /// whose address is now `user_email`.
    fn fresh(user_email: &Email) -> LinkState<'_> {
        LinkState {
            used_at: None,
            invalidated_at: None,
            expires_at: 1_000,
            sent_to: "ann@example.com",
            user_active: true,
            user_email,
        }
    }

    #[test]
    fn each_reason() {
        let ann = email("Ann@Example.com");
        let fresh = || fresh(&ann);
        assert_eq!(check(&fresh(), 999), Ok(()));
        assert_eq!(check(&fresh(), 1_000), Err(LinkProblem::Expired));
        assert_eq!(
            check(
                &LinkState {
                    used_at: Some(5),
                    ..fresh()
                },
                0
            ),
            Err(LinkProblem::Used)
        );
        assert_eq!(
            check(
                &LinkState {
                    invalidated_at: Some(5),
                    ..fresh()
                },
                0
            ),
            Err(LinkProblem::Superseded)
        );
        assert_eq!(
            check(
                &LinkState {
                    user_active: false,
                    ..fresh()
                },
                0
            ),
            Err(LinkProblem::Superseded)
        );
        // S10: the address changed after the link was sent.
        let moved = email("ann@example.org");
        assert_eq!(check(&self::fresh(&moved), 0), Err(LinkProblem::Superseded));
    }

    /// S10 compares sign-in ids the way `Email` does: up to case, and
    /// whatever surrounds the stored `sent_to`; any other difference is
    /// another address.
    #[test]
    fn the_address_is_compared_as_a_sign_in_id() {
        let ann = email("ANN@example.COM");
        for sent_to in ["ann@example.com", " Ann@Example.com ", "ANN@EXAMPLE.COM"] {
            let link = LinkState { sent_to, ..fresh(&ann) };
            assert_eq!(check(&link, 0), Ok(()), "{sent_to:?}");
        }
        for sent_to in ["ann@example.co", "ann.@example.com", "an@example.com", "ann@example.com.", ""] {
            let link = LinkState { sent_to, ..fresh(&ann) };
            assert_eq!(check(&link, 0), Err(LinkProblem::Superseded), "{sent_to:?}");
        }
    }

    proptest! {
        /// A link works exactly when it is unused, not withdrawn, for an
        /// active user at the address it was sent to, and not expired.
        #[test]
        fn works_only_when_every_condition_holds(
            used in any::<bool>(), invalidated in any::<bool>(), active in any::<bool>(),
            same_address in any::<bool>(), expires_at in 0i64..2_000, now in 0i64..2_000,
        ) {
            let user_email = email(if same_address { "ANN@example.com" } else { "bob@example.com" });
            let link = LinkState {
                used_at: used.then_some(1),
                invalidated_at: invalidated.then_some(1),
                expires_at,
                sent_to: "ann@example.com",
                user_active: active,
                user_email: &user_email,
            };
            let works = !used && !invalidated && active && same_address && now < expires_at;
            prop_assert_eq!(check(&link, now).is_ok(), works);
            if used {
                prop_assert_eq!(check(&link, now), Err(LinkProblem::Used));
            }
        }
    }
}
