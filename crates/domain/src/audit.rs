//! R3/A1: what the audit log records. Each action has a stable code (what
//! the log stores and `GET /audit?action=` filters on), the kind of thing
//! it is about, and a label for people. The list is written once, here.

macro_rules! actions {
    ($($variant:ident => $code:literal, $target:literal, $label:literal;)*) => {
        /// An administrative change or sign-in event (R3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in the order the audit page offers them.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable code stored in the log.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }

            /// What the entry's target is (`user`, `matter`, …).
            pub fn target_kind(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $target,)*
                }
            }

            /// The action as a person reads it.
            pub fn label(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $label,)*
                }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(AuditAction::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    UserCreated => "user.created", "user", "User created";
    UserUpdated => "user.updated", "user", "Profile changed";
    UserDeactivated => "user.deactivated", "user", "Deactivated";
    UserReactivated => "user.reactivated", "user", "Reactivated";
    UserActivated => "user.activated", "user", "Account activated (password set)";
    UserPasswordSet => "user.password_set", "user", "Password set from a link";
    UserPasswordReset => "user.password_reset", "user", "Password reset";
    UserNewUserEmailQueued => "user.new_user_email_queued", "user", "New user email sent";
    UserSignedIn => "user.signed_in", "user", "Signed in";
    UserSignedOut => "user.signed_out", "user", "Signed out";
    UserSignInFailed => "user.sign_in_failed", "user", "Sign-in refused";
    UserLocked => "user.locked", "user", "Locked out";
    UserUnlocked => "user.unlocked", "user", "Unlocked";
    UserDelegatesUpdated => "user.delegates_updated", "user", "Delegates changed";
    UserPurged => "user.purged", "user", "Removed by the operator";
    UserOffboarded => "user.offboarded", "user", "Offboarded (responsibilities handed over)";
    UserDeactivationScheduled => "user.deactivation_scheduled", "user", "Deactivation scheduled";
    UserDeactivationCancelled => "user.deactivation_cancelled", "user", "Scheduled deactivation cancelled";
    UserDeactivationFailed => "user.deactivation_failed", "user", "Scheduled deactivation not carried out";
    DelegationTakenOver => "user.delegation_taken_over", "user", "Delegation handed over";
    RouteDelegateReplaced => "route.delegate_replaced", "route", "Route delegate handed over";
    MatterCreated => "matter.created", "matter", "Matter created";
    MatterUpdated => "matter.updated", "matter", "Matter changed";
    MatterLeadReassigned => "matter.lead_reassigned", "matter", "Lead company person reassigned";
    MatterBulkLeadUpdate => "matter.bulk_lead_update", "user", "Bulk update of lead company person";
    ParticipantAdded => "participant.added", "matter", "Participant added";
    ParticipantUpdated => "participant.updated", "matter", "Participant changed";
    ParticipantRemoved => "participant.removed", "matter", "Participant removed";
    OfficeCreated => "office.created", "office", "Office created";
    OfficeUpdated => "office.updated", "office", "Office changed";
    FirmCreated => "firm.created", "firm", "Firm created";
    RouteCreated => "route.created", "route", "Approval route created";
    RouteUpdated => "route.updated", "route", "Approval route changed";
    SettingsUpdated => "settings.updated", "settings", "Settings changed";
    UserDirectoryLinked => "user.directory_linked", "user", "Linked to the directory";
    UserDirectoryUpdated => "user.directory_updated", "user", "Directory attributes changed";
    UserDeprovisioned => "user.deprovisioned", "user", "Deleted in the directory";
    ScimTokenCreated => "scim_token.created", "scim_token", "SCIM token created";
    ScimTokenRevoked => "scim_token.revoked", "scim_token", "SCIM token revoked";
    DirectoryGroupCreated => "directory_group.created", "directory_group", "Directory group created";
    DirectoryGroupUpdated => "directory_group.updated", "directory_group", "Directory group changed";
    DirectoryGroupDeleted => "directory_group.deleted", "directory_group", "Directory group deleted";
    UsersExported => "export.users", "export", "User list exported as CSV";
    AuditExported => "export.audit", "export", "Audit log exported as CSV";
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_dotted_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.as_str()), "{a} twice");
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            let (kind, verb) = a.as_str().split_once('.').expect("kind.verb");
            assert!(kind.chars().chain(verb.chars()).all(|c| c.is_ascii_lowercase() || c == '_'), "{a}");
            assert!(!a.label().is_empty());
        }
        assert_eq!(AuditAction::parse("user.nothing"), None);
    }
}
