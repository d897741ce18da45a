//! N5, N6, S10: when an emailed one-time link may still set a password.
//! The rule is decided here once; the use case and the page that checks a
//! link before showing its form both ask it.

use crate::Millis;

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
    /// The user's address now.
    pub user_email: &'a str,
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
    } else if link.invalidated_at.is_some() || !link.user_active || !link.sent_to.trim().eq_ignore_ascii_case(link.user_email.trim()) {
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

    fn fresh() -> LinkState<'static> {
        LinkState {
            used_at: None,
            invalidated_at: None,
            expires_at: 1_000,
            sent_to: "ann@example.com",
            user_active: true,
            user_email: "Ann@Example.com",
        }
    }

    #[test]
    fn each_reason() {
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
        assert_eq!(
            check(
                &LinkState {
                    user_email: "ann@example.org",
                    ..fresh()
                },
                0
            ),
            Err(LinkProblem::Superseded)
        );
    }

    proptest! {
        /// A link works exactly when it is unused, not withdrawn, for an
        /// active user at the address it was sent to, and not expired.
        #[test]
        fn works_only_when_every_condition_holds(
            used in any::<bool>(), invalidated in any::<bool>(), active in any::<bool>(),
            same_address in any::<bool>(), expires_at in 0i64..2_000, now in 0i64..2_000,
        ) {
            let link = LinkState {
                used_at: used.then_some(1),
                invalidated_at: invalidated.then_some(1),
                expires_at,
                sent_to: "ann@example.com",
                user_active: active,
                user_email: if same_address { "ANN@example.com" } else { "bob@example.com" },
            };
            let works = !used && !invalidated && active && same_address && now < expires_at;
            prop_assert_eq!(check(&link, now).is_ok(), works);
            if used {
                prop_assert_eq!(check(&link, now), Err(LinkProblem::Used));
            }
        }
    }
}
