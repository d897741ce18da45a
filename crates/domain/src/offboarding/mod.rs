//! SPEC §5b: the offboarding plan (O1) and who may take over each item (O2).
//!
//! The store gathers every responsibility of a user with index-backed
//! queries ([`PlanFacts`]); [`plan`] turns them into items with stable keys,
//! decides which block the deactivation (the same D3/D4 rules as
//! [`crate::deactivation::evaluate`]) and suggests successors; [`check`]
//! decides whether a person may take one item over. Nothing here knows
//! where the facts came from, so the directory's offboarding items (DIR3)
//! can be built from the same plan.
//!
//! `plan` holds the facts and the plan, `successor` the choice and the
//! O2 check; the item kinds and stored codes are here.

use crate::deactivation::BlockerKind;
use crate::{Role, Side};

mod plan;
mod successor;

pub use plan::{plan, Item, MatterRef, ParticipationRef, PersonRef, PlaceRef, PlanFacts, Target};
pub use successor::{check, chosen, Candidate, Fit, Source};

/// One kind of responsibility. The order is the order of a plan: the
/// kinds that can block a deactivation first, each a
/// [`BlockerKind`] — D3/D4 are listed once, in [`crate::deactivation`] —
/// then the ones that never block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// A D3/D4 responsibility: it blocks when [`BlockerKind::binds`] says so.
    Blocker(BlockerKind),
    /// Any other participation in an open matter.
    MatterParticipation,
    /// Someone the user named as delegate.
    DelegationGiven,
    /// Someone who named the user as delegate.
    DelegationReceived,
    /// A delegate position on a route level.
    RouteDelegate,
    /// The company's Tracker Coordinator (N6).
    TrackerCoordinator,
}

use BlockerKind as B;

/// A stored kind (`offboarding_items.kind`), or why it is none.
impl TryFrom<String> for ItemKind {
    type Error = crate::UnknownCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s).ok_or_else(|| crate::UnknownCode::new("offboarding item kind", &s))
    }
}

impl ItemKind {
    /// The kinds that never block, in plan order.
    const OTHERS: &'static [ItemKind] = &[
        ItemKind::MatterParticipation,
        ItemKind::DelegationGiven,
        ItemKind::DelegationReceived,
        ItemKind::RouteDelegate,
        ItemKind::TrackerCoordinator,
    ];

    /// Every kind, in plan order.
    pub fn all() -> impl Iterator<Item = ItemKind> {
        B::ALL.iter().map(|b| ItemKind::Blocker(*b)).chain(Self::OTHERS.iter().copied())
    }

    /// The stable code (a blocking kind's is its D5 blocker kind).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Blocker(b) => b.as_str(),
            ItemKind::MatterParticipation => "matter_participation",
            ItemKind::DelegationGiven => "delegation_given",
            ItemKind::DelegationReceived => "delegation_received",
            ItemKind::RouteDelegate => "route_delegate",
            ItemKind::TrackerCoordinator => "tracker_coordinator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::all().find(|k| k.as_str() == s)
    }

    /// A group of items as a person reads it ("Lead company person of 3 open matters").
    pub fn label(self, n: usize) -> String {
        let s = if n == 1 { "" } else { "s" };
        match self {
            ItemKind::Blocker(B::LeadCompanyPerson) => format!("Lead company person of {n} open matter{s}"),
            ItemKind::Blocker(B::OfficeCoordinator) => format!("Coordinator of {n} office{s}/region{s}"),
            ItemKind::Blocker(B::OfficeBackupCoordinator) => format!("Backup coordinator of {n} office{s}/region{s}"),
            ItemKind::Blocker(B::RoutePrimaryApprover) => format!("Primary approver on {n} route level{s}"),
            ItemKind::Blocker(B::RouteAlternateApprover) => format!("Alternate approver on {n} route level{s}"),
            ItemKind::Blocker(B::OnlyFirmUserOnMatter) => format!("Only active lawyer of the firm on {n} open matter{s}"),
            ItemKind::Blocker(B::OnlyNotifiedFirmUserOnMatter) => format!("Only notified lawyer of the firm on {n} open matter{s}"),
            ItemKind::MatterParticipation => format!("Participant in {n} other open matter{s}"),
            ItemKind::DelegationGiven => format!("{n} delegate{s} named by the user"),
            ItemKind::DelegationReceived => format!("Delegate of {n} user{s}"),
            ItemKind::RouteDelegate => format!("Delegate on {n} route level{s}"),
            ItemKind::TrackerCoordinator => "Tracker Coordinator".to_owned(),
        }
    }

    /// The first part of an item's key; the rest names the target, so a
    /// key stays the same as long as the responsibility does. Every
    /// participation shares one prefix: a matter whose D4 status changes
    /// keeps its key.
    fn key_prefix(self) -> &'static str {
        match self {
            ItemKind::Blocker(B::OnlyFirmUserOnMatter | B::OnlyNotifiedFirmUserOnMatter) | ItemKind::MatterParticipation => "participation",
            other => other.as_str(),
        }
    }

    /// The D3/D4 blocker this responsibility is, if it is one (DIR3: what
    /// becomes an open offboarding item when the directory deactivates).
    pub fn blocker(self) -> Option<B> {
        match self {
            ItemKind::Blocker(b) => Some(b),
            _ => None,
        }
    }

    /// A D3 responsibility that may simply be left empty (the office
    /// keeps no backup, the level no alternate).
    pub fn may_be_vacated(self) -> bool {
        matches!(self, ItemKind::Blocker(B::OfficeBackupCoordinator | B::RouteAlternateApprover))
    }

    /// Only an active company user may hold it (SPEC §1): every D3
    /// position and the Tracker Coordinator.
    pub fn needs_company_user(self) -> bool {
        match self {
            ItemKind::Blocker(b) => !b.is_d4(),
            other => other == ItemKind::TrackerCoordinator,
        }
    }

    /// Whether an item of this kind blocks deactivating a user on `side`
    /// by an actor with `actor_role`: as D3/D4 decide, never otherwise.
    pub fn blocks(self, actor_role: Option<Role>, side: Side) -> bool {
        match self {
            ItemKind::Blocker(b) => b.binds(actor_role, side),
            _ => false,
        }
    }

    /// A participation in an open matter (D4 or not).
    pub fn is_participation(self) -> bool {
        match self {
            ItemKind::Blocker(b) => b.is_d4(),
            other => other == ItemKind::MatterParticipation,
        }
    }
}

crate::stored_enum! {
    /// What an item is about.
    pub enum TargetType("offboarding target type") {
        Matter => "matter",
        Office => "office",
        Route => "route",
        User => "user",
        Settings => "settings",
    }
}

crate::stored_enum! {
    /// Where a stored plan of a scheduled deactivation stands (O3,
    /// `scheduled_deactivations.status`).
    pub enum PlanStatus("scheduled deactivation status") {
        /// Waiting for its time.
        Scheduled => "scheduled",
        /// Carried out.
        Done => "done",
        /// Refused when it ran; it says why and can be run again.
        Failed => "failed",
    }
}

#[cfg(test)]
mod tests;
