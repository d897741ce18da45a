//! The entities of SPEC §1 as plain data, as the store reads them.

use crate::{Email, EntityName, FirmId, MatterId, MatterRole, Millis, OfficeId, PersonName, Role, RouteId, Side, UserId};

crate::stored_enum! {
    /// Where a user's new user email stands (N1, N8).
    pub enum EmailStatus("new user email status") {
        /// Created with *Hold user notification*; nothing was sent (N1).
        Held => "held",
        /// In the outbox, waiting for the delivery worker (N8).
        Queued => "queued",
        /// Accepted by the mail server (or written to the outbox folder).
        Sent => "sent",
        /// The last attempt was refused for good, or gave up after retries.
        Failed => "failed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserEmail {
    pub status: EmailStatus,
    /// When it was first accepted for delivery; `None` means never sent.
    pub sent_at: Option<Millis>,
    pub send_count: i64,
    pub last_change_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub side: Side,
    pub firm_id: Option<FirmId>,
    pub office_id: Option<OfficeId>,
    pub role: Role,
    pub active: bool,
    pub activated_at: Option<Millis>,
    pub last_sign_in_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub deactivated_at: Option<Millis>,
    pub new_user_email: NewUserEmail,
    pub locked_until: Option<Millis>,
    pub lock_reason: Option<crate::lockout::LockReason>,
}

impl User {
    /// A user as created (N1), with a new id: on the side of their role,
    /// active, never activated or signed in, not locked, the new user email
    /// held until it is queued.
    pub fn created(
        email: Email,
        first_name: PersonName,
        last_name: PersonName,
        role: Role,
        firm_id: Option<FirmId>,
        office_id: Option<OfficeId>,
        now: Millis,
    ) -> User {
        User {
            id: UserId::generate(),
            email,
            first_name,
            last_name,
            side: role.side(),
            firm_id,
            office_id,
            role,
            active: true,
            activated_at: None,
            last_sign_in_at: None,
            created_at: now,
            updated_at: now,
            deactivated_at: None,
            new_user_email: NewUserEmail {
                status: EmailStatus::Held,
                sent_at: None,
                send_count: 0,
                last_change_at: Some(now),
            },
            locked_until: None,
            lock_reason: None,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn is_locked(&self, now: Millis) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// D6/DIR3: whether the directory owns this user's lifecycle: a user
    /// the directory created or linked (`linked`: a SCIM link not
    /// deprovisioned), and every company user while Active Directory sync
    /// is on (`sync`). The one place of the rule: single users, lists and
    /// the deactivation check all report it from here.
    pub fn directory_managed(&self, linked: bool, sync: bool) -> bool {
        linked || (sync && self.side == Side::Company)
    }

    /// D6/DIR3: whether Tracker refuses to change this user's active flag
    /// (409 `managed_by_directory`): sync is on and the directory manages
    /// them. A user the directory made stays managed with sync off, but
    /// Tracker may then deactivate them.
    pub fn directory_owns_lifecycle(&self, linked: bool, sync: bool) -> bool {
        sync && self.directory_managed(linked, sync)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firm {
    pub id: FirmId,
    pub name: EntityName,
    pub active: bool,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    pub id: OfficeId,
    pub name: EntityName,
    pub active: bool,
    pub coordinator_id: Option<UserId>,
    pub backup_coordinator_id: Option<UserId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    pub id: MatterId,
    pub name: EntityName,
    pub number: String,
    pub lead_company_person_id: UserId,
    pub open_for_editing: bool,
    pub open_for_invoicing: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Matter {
    /// "Open" in the rules means open for editing **or** for invoicing.
    pub fn is_open(&self) -> bool {
        self.open_for_editing || self.open_for_invoicing
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub matter_id: MatterId,
    pub user_id: UserId,
    pub role: MatterRole,
    pub receives_notifications: bool,
    pub added_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLevel {
    pub primary_approver_id: UserId,
    pub alternate_approver_id: Option<UserId>,
    pub delegate_ids: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRoute {
    pub id: RouteId,
    pub name: EntityName,
    pub active: bool,
    pub levels: Vec<RouteLevel>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Company-wide settings (SPEC §8 `/settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub company_name: EntityName,
    pub active_directory_sync: bool,
    pub tracker_coordinator_id: Option<UserId>,
    pub password_policy: crate::password::PasswordPolicy,
    pub lockout: Lockout,
    pub link_ttl_hours: i64,
    pub sessions: SessionLimits,
    /// O3: days before a scheduled deactivation at which the administrators
    /// are reminded of blocking items without a successor.
    pub offboarding_reminder_days: i64,
    /// DIR1: directory groups whose members get a role.
    pub directory_group_roles: Vec<crate::scim::GroupRole>,
    /// SSO1: the identity provider, when single sign-on is configured.
    pub sso: Option<crate::sso::SsoSettings>,
}

/// S11: a session ends after this much time without a request, and in any
/// case this long after sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_minutes: i64,
    pub lifetime_hours: i64,
}

impl SessionLimits {
    pub const IDLE_MINUTES: std::ops::RangeInclusive<i64> = 5..=1440;
    pub const LIFETIME_HOURS: std::ops::RangeInclusive<i64> = 1..=720;

    pub fn idle_ms(&self) -> crate::Millis {
        self.idle_minutes * 60_000
    }

    pub fn lifetime_ms(&self) -> crate::Millis {
        self.lifetime_hours * 3_600_000
    }

    /// Whether a session created at `created_at` and last used at
    /// `last_seen_at` still lets its holder in at `now`.
    pub fn is_live(&self, created_at: crate::Millis, last_seen_at: crate::Millis, now: crate::Millis) -> bool {
        now < created_at + self.lifetime_ms() && now < last_seen_at + self.idle_ms()
    }
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            lifetime_hours: 12,
        }
    }
}

/// S4's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub max_failures: i64,
    pub window_minutes: i64,
    pub duration_minutes: i64,
    pub inactivity_days: i64,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_minutes: 15,
            duration_minutes: 30,
            inactivity_days: 90,
        }
    }
}

/// N6: the default lifetime of an emailed sign-in link.
pub const DEFAULT_LINK_TTL_HOURS: i64 = 7 * 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_status_round_trips() {
        crate::code::assert_round_trips::<EmailStatus>();
        let texts: Vec<_> = EmailStatus::ALL.iter().map(|s| s.as_str()).collect();
        // The values of the `users.new_user_email_status` CHECK constraint.
        assert_eq!(texts, ["held", "queued", "sent", "failed"]);
    }

    /// D6/DIR3, every side, link and sync setting spelled out.
    #[test]
    fn the_directory_manages_linked_users_and_company_users_under_sync() {
        let email = Email::parse("a@example.com").unwrap();
        let name = PersonName::parse("first_name", "A").unwrap();
        let user = |role| User::created(email.clone(), name.clone(), name.clone(), role, None, None, 0);
        let (company, firm) = (user(Role::CompanyUser), user(Role::FirmUser));
        // (user, linked, sync, managed, lifecycle owned)
        let cases = [
            (&company, false, false, false, false),
            (&company, false, true, true, true),
            (&company, true, false, true, false),
            (&company, true, true, true, true),
            (&firm, false, false, false, false),
            (&firm, false, true, false, false),
            (&firm, true, false, true, false),
            (&firm, true, true, true, true),
        ];
        for (u, linked, sync, managed, owned) in cases {
            let case = format!("{:?} linked {linked} sync {sync}", u.side);
            assert_eq!(u.directory_managed(linked, sync), managed, "{case}");
            assert_eq!(u.directory_owns_lifecycle(linked, sync), owned, "{case}");
        }
    }
}
