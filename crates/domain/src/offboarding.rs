//! SPEC §5b: the offboarding plan (O1) and who may take over each item (O2).
//!
//! The store gathers every responsibility of a user with index-backed
//! queries ([`PlanFacts`]); [`plan`] turns them into items with stable keys,
//! decides which block the deactivation (the same D3/D4 rules as
//! [`crate::deactivation::evaluate`]) and suggests successors; [`check`]
//! decides whether a person may take one item over. Nothing here knows
//! where the facts came from, so the directory's offboarding items (DIR3)
//! can be built from the same plan.

use crate::deactivation::BlockerKind;
use crate::{FirmId, MatterRole, Role, Side, UserId};
use std::collections::HashMap;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetType,
    pub id: String,
    /// "Matter name (number)", "Office", "Route, level 2", "First Last".
    pub name: String,
    /// The route level, from 1.
    pub level: Option<i64>,
}

/// A matter as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterRef {
    pub id: String,
    pub name: String,
    pub number: String,
}

/// An office or a route level, with the other person in the pair
/// (coordinator ↔ backup, primary ↔ alternate) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRef {
    pub id: String,
    pub name: String,
    pub level: Option<i64>,
    pub other: Option<UserId>,
    pub other_active: bool,
}

/// A participation in an open matter the user does not lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipationRef {
    pub matter: MatterRef,
    pub role: MatterRole,
    pub receives_notifications: bool,
    /// D4: no other active user of the firm takes part.
    pub sole: bool,
    /// D4: the user is notified and no other active user of the firm is.
    pub sole_notified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    pub id: UserId,
    pub name: String,
}

/// Every responsibility of a user, as the store found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanFacts {
    pub led_open_matters: Vec<MatterRef>,
    pub coordinated_offices: Vec<PlaceRef>,
    pub backup_offices: Vec<PlaceRef>,
    pub primary_levels: Vec<PlaceRef>,
    pub alternate_levels: Vec<PlaceRef>,
    pub participations: Vec<ParticipationRef>,
    pub delegates: Vec<PersonRef>,
    pub delegators: Vec<PersonRef>,
    pub route_delegate_levels: Vec<PlaceRef>,
    pub tracker_coordinator: bool,
}

/// One responsibility in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub kind: ItemKind,
    pub target: Target,
    /// Must be handed over (or, for a backup or alternate, vacated) before
    /// the user can be deactivated.
    pub blocking: bool,
    pub suggested_successor_id: Option<UserId>,
    /// Participations: the role and notification flag the successor gets.
    pub matter_role: Option<MatterRole>,
    pub receives_notifications: bool,
    /// The other person of the pair (see [`PlaceRef::other`]).
    pub other: Option<UserId>,
}

impl Item {
    /// Blocking, and cannot simply be left empty.
    pub fn needs_successor(&self) -> bool {
        self.blocking && !self.kind.may_be_vacated()
    }
}

fn matter_target(m: &MatterRef) -> Target {
    Target {
        kind: TargetType::Matter,
        id: m.id.clone(),
        name: format!("{} ({})", m.name, m.number),
        level: None,
    }
}

fn place_target(kind: TargetType, p: &PlaceRef) -> Target {
    Target {
        kind,
        id: p.id.clone(),
        name: match p.level {
            Some(l) => format!("{}, level {l}", p.name),
            None => p.name.clone(),
        },
        level: p.level,
    }
}

fn item(kind: ItemKind, target: Target, blocking: bool, suggested: Option<UserId>, other: Option<UserId>) -> Item {
    let key = match target.level {
        Some(l) => format!("{}:{}:{l}", kind.key_prefix(), target.id),
        None if target.kind == TargetType::Settings => kind.key_prefix().to_owned(),
        None => format!("{}:{}", kind.key_prefix(), target.id),
    };
    Item {
        key,
        kind,
        target,
        blocking,
        suggested_successor_id: suggested,
        matter_role: None,
        receives_notifications: false,
        other,
    }
}

/// O1: the plan for deactivating a user on `side`, decided for an actor with
/// `actor_role` (`None`: the operator or the directory). Blocking is
/// [`BlockerKind::binds`], the rule [`crate::deactivation::evaluate`] uses.
pub fn plan(actor_role: Option<Role>, side: Side, facts: &PlanFacts) -> Vec<Item> {
    let blocks = |kind: ItemKind| kind.blocks(actor_role, side);
    let mut items = Vec::new();
    let active_other = |p: &PlaceRef| p.other.clone().filter(|_| p.other_active);
    for m in &facts.led_open_matters {
        let kind = ItemKind::Blocker(B::LeadCompanyPerson);
        items.push(item(kind, matter_target(m), blocks(kind), None, None));
    }
    for o in &facts.coordinated_offices {
        items.push(item(
            ItemKind::Blocker(B::OfficeCoordinator),
            place_target(TargetType::Office, o),
            blocks(ItemKind::Blocker(B::OfficeCoordinator)),
            active_other(o),
            o.other.clone(),
        ));
    }
    for o in &facts.backup_offices {
        items.push(item(
            ItemKind::Blocker(B::OfficeBackupCoordinator),
            place_target(TargetType::Office, o),
            blocks(ItemKind::Blocker(B::OfficeBackupCoordinator)),
            None,
            o.other.clone(),
        ));
    }
    for l in &facts.primary_levels {
        items.push(item(
            ItemKind::Blocker(B::RoutePrimaryApprover),
            place_target(TargetType::Route, l),
            blocks(ItemKind::Blocker(B::RoutePrimaryApprover)),
            active_other(l),
            l.other.clone(),
        ));
    }
    for l in &facts.alternate_levels {
        items.push(item(
            ItemKind::Blocker(B::RouteAlternateApprover),
            place_target(TargetType::Route, l),
            blocks(ItemKind::Blocker(B::RouteAlternateApprover)),
            None,
            l.other.clone(),
        ));
    }
    for p in &facts.participations {
        let kind = match (side, p.sole, p.sole_notified) {
            (Side::Firm, true, _) => ItemKind::Blocker(B::OnlyFirmUserOnMatter),
            (Side::Firm, false, true) => ItemKind::Blocker(B::OnlyNotifiedFirmUserOnMatter),
            _ => ItemKind::MatterParticipation,
        };
        let mut it = item(kind, matter_target(&p.matter), blocks(kind), None, None);
        it.matter_role = Some(p.role);
        it.receives_notifications = p.receives_notifications;
        items.push(it);
    }
    let person = |p: &PersonRef| Target {
        kind: TargetType::User,
        id: p.id.to_string(),
        name: p.name.clone(),
        level: None,
    };
    for d in &facts.delegates {
        items.push(item(ItemKind::DelegationGiven, person(d), false, None, Some(d.id.clone())));
    }
    for d in &facts.delegators {
        items.push(item(ItemKind::DelegationReceived, person(d), false, None, Some(d.id.clone())));
    }
    for l in &facts.route_delegate_levels {
        items.push(item(ItemKind::RouteDelegate, place_target(TargetType::Route, l), false, None, None));
    }
    if facts.tracker_coordinator {
        let target = Target {
            kind: TargetType::Settings,
            id: "settings".into(),
            name: "Company settings".into(),
            level: None,
        };
        items.push(item(ItemKind::TrackerCoordinator, target, false, None, None));
    }
    items
}

/// Where a successor came from: named for the item (or its kind), or the
/// default successor filling an empty item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Named,
    Default,
}

/// The successor chosen for `item`: by its key, else by its kind (one
/// choice for a whole group, "lead of 3 open matters"), else the default.
pub fn chosen<'a>(item: &Item, successors: &'a HashMap<String, UserId>, default: Option<&'a UserId>) -> Option<(&'a UserId, Source)> {
    successors
        .get(&item.key)
        .or_else(|| successors.get(item.kind.as_str()))
        .map(|u| (u, Source::Named))
        .or_else(|| default.map(|u| (u, Source::Default)))
}

/// What the rules need to know about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub id: &'a UserId,
    pub side: Side,
    pub firm_id: Option<&'a FirmId>,
    pub active: bool,
}

/// What [`check`] decides for one item and one successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// The successor takes the item over.
    Takes,
    /// Nothing to do: the successor already holds what the item would give
    /// them (the delegate named for their own delegator), or a default
    /// successor is the other person of the pair, so the backup or
    /// alternate position is left empty.
    Nothing,
    /// The successor may not take it: `(code, message)`.
    No(&'static str, String),
}

/// O2: may `successor` take `item` over from `leaving`? Active (D2), a
/// company user where SPEC §1 requires one, of the leaving user's firm for
/// D4 and delegations (delegates stay within an organisation, and only a
/// colleague of the firm clears D4), a matter role their side may hold, and
/// never both halves of a pair.
pub fn check(item: &Item, successor: Candidate<'_>, leaving: Candidate<'_>, source: Source) -> Fit {
    if successor.id == leaving.id {
        return Fit::No("same_user", "the successor must be someone else than the user who leaves".into());
    }
    if !successor.active {
        return Fit::No("user_inactive", "the successor is deactivated".into());
    }
    if item.kind.needs_company_user() && successor.side != Side::Company {
        return Fit::No("not_company_user", "the successor must be a company user".into());
    }
    let same_org = successor.side == leaving.side && successor.firm_id == leaving.firm_id;
    match item.kind {
        ItemKind::Blocker(B::OfficeBackupCoordinator | B::RouteAlternateApprover) if item.other.as_ref() == Some(successor.id) => {
            if source == Source::Default {
                return Fit::Nothing;
            }
            let (code, what) = if item.kind == ItemKind::Blocker(B::OfficeBackupCoordinator) {
                ("same_as_coordinator", "the office's coordinator")
            } else {
                ("same_as_primary", "the level's primary approver")
            };
            Fit::No(code, format!("the successor is already {what}"))
        }
        ItemKind::DelegationGiven | ItemKind::DelegationReceived if item.other.as_ref() == Some(successor.id) => Fit::Nothing,
        ItemKind::DelegationGiven | ItemKind::DelegationReceived if !same_org => Fit::No(
            "delegate_out_of_organisation",
            "delegations stay within one organisation: the successor must be of the user's side and firm".into(),
        ),
        ItemKind::Blocker(B::OnlyFirmUserOnMatter | B::OnlyNotifiedFirmUserOnMatter) if !same_org => Fit::No(
            "not_same_firm",
            "only another lawyer of the same firm keeps the firm on the matter".into(),
        ),
        k if k.is_participation() && item.matter_role.is_some_and(|r| !r.allowed_for(successor.side)) => Fit::No(
            "role_not_allowed_for_side",
            format!(
                "the successor would take the role {}, which is not a role for {} users",
                item.matter_role.map(|r| r.as_str()).unwrap_or(""),
                successor.side
            ),
        ),
        _ => Fit::Takes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_round_trip() {
        crate::code::assert_round_trips::<TargetType>();
        crate::code::assert_round_trips::<PlanStatus>();
        // The values of the `scheduled_deactivations.status` CHECK constraint.
        assert_eq!(
            PlanStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ["scheduled", "done", "failed"]
        );
        let mut seen = std::collections::HashSet::new();
        for k in ItemKind::all() {
            assert!(seen.insert(k.as_str()), "{k:?}");
            assert_eq!(ItemKind::try_from(k.as_str().to_owned()), Ok(k));
        }
        assert_eq!(
            ItemKind::try_from("lead".to_owned()),
            Err(crate::UnknownCode::new("offboarding item kind", "lead"))
        );
    }

    #[test]
    fn d3_d4_kinds_are_their_blockers() {
        for k in ItemKind::all() {
            match k.blocker() {
                Some(b) => assert_eq!(b.as_str(), k.as_str()),
                None => assert!(!k.needs_company_user() || k == ItemKind::TrackerCoordinator, "{k:?}"),
            }
        }
        assert_eq!(ItemKind::all().filter(|k| k.blocker().is_some()).count(), 7);
    }
    use crate::deactivation::{self, BlockingObject, Facts};
    use proptest::prelude::*;

    fn matter(n: u8) -> MatterRef {
        MatterRef {
            id: format!("m{n}"),
            name: format!("Matter {n}"),
            number: format!("N-{n}"),
        }
    }
    fn place(n: u8, level: Option<i64>, other: Option<&str>, other_active: bool) -> PlaceRef {
        PlaceRef {
            id: format!("p{n}"),
            name: format!("Place {n}"),
            level,
            other: other.map(UserId::from),
            other_active,
        }
    }
    fn participation(n: u8, sole: bool, sole_notified: bool) -> ParticipationRef {
        ParticipationRef {
            matter: matter(n),
            role: MatterRole::MatterEditor,
            receives_notifications: true,
            sole,
            sole_notified,
        }
    }
    fn person(id: &str) -> PersonRef {
        PersonRef {
            id: UserId::from(id),
            name: format!("Person {id}"),
        }
    }

    fn every_kind() -> PlanFacts {
        PlanFacts {
            led_open_matters: vec![matter(1), matter(2)],
            coordinated_offices: vec![place(1, None, Some("backup"), true)],
            backup_offices: vec![place(2, None, Some("coord"), true)],
            primary_levels: vec![place(3, Some(1), Some("alt"), false), place(3, Some(2), Some("alt2"), true)],
            alternate_levels: vec![place(4, Some(1), Some("prim"), true)],
            participations: vec![
                participation(5, true, true),
                participation(6, false, true),
                participation(7, false, false),
            ],
            delegates: vec![person("d1")],
            delegators: vec![person("d2")],
            route_delegate_levels: vec![place(8, Some(3), None, false)],
            tracker_coordinator: true,
        }
    }

    #[test]
    fn o1_a_company_user_has_d3_items_blocking_and_the_rest_not() {
        let items = plan(Some(Role::CompanySystemAdministrator), Side::Company, &every_kind());
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "lead_company_person:m1",
                "lead_company_person:m2",
                "office_coordinator:p1",
                "office_backup_coordinator:p2",
                "route_primary_approver:p3:1",
                "route_primary_approver:p3:2",
                "route_alternate_approver:p4:1",
                "participation:m5",
                "participation:m6",
                "participation:m7",
                "delegation_given:d1",
                "delegation_received:d2",
                "route_delegate:p8:3",
                "tracker_coordinator",
            ]
        );
        let blocking: Vec<&str> = items.iter().filter(|i| i.blocking).map(|i| i.key.as_str()).collect();
        assert_eq!(blocking.len(), 7);
        assert!(items[7..]
            .iter()
            .all(|i| i.kind != ItemKind::Blocker(B::OnlyFirmUserOnMatter) && !i.blocking));
        // Suggestions: the backup for the coordinator, an active alternate for the primary.
        assert_eq!(items[2].suggested_successor_id, Some(UserId::from("backup")));
        assert_eq!(items[4].suggested_successor_id, None, "an inactive alternate is not suggested");
        assert_eq!(items[5].suggested_successor_id, Some(UserId::from("alt2")));
        assert!(items
            .iter()
            .filter(|i| i.key != items[2].key && i.key != items[5].key)
            .all(|i| i.suggested_successor_id.is_none()));
        assert!(items[3].blocking && !items[3].needs_successor(), "a backup may be vacated");
        assert!(items[0].needs_successor());
    }

    #[test]
    fn o1_d4_items_block_a_firm_administrator_only() {
        let facts = PlanFacts {
            participations: vec![
                participation(1, true, false),
                participation(2, false, true),
                participation(3, false, false),
            ],
            ..PlanFacts::default()
        };
        let firm = plan(Some(Role::FirmAdministrator), Side::Firm, &facts);
        let kinds: Vec<(ItemKind, bool)> = firm.iter().map(|i| (i.kind, i.blocking)).collect();
        assert_eq!(
            kinds,
            [
                (ItemKind::Blocker(B::OnlyFirmUserOnMatter), true),
                (ItemKind::Blocker(B::OnlyNotifiedFirmUserOnMatter), true),
                (ItemKind::MatterParticipation, false)
            ]
        );
        let company = plan(Some(Role::CompanySystemAdministrator), Side::Firm, &facts);
        assert!(company.iter().all(|i| !i.blocking));
        assert_eq!(company[0].key, firm[0].key, "keys do not depend on who asks");
    }

    proptest! {
        /// The plan blocks exactly where D3/D4 block (one blocking item per
        /// blocker; a matter both sole and sole-notified is one item that
        /// clears both).
        #[test]
        fn blocking_items_match_the_deactivation_verdict(leads in 0u8..4, coords in 0u8..3, primaries in 0u8..3, parts in prop::collection::vec((any::<bool>(), any::<bool>()), 0..5),
                                                        firm_side in any::<bool>(), role in prop::option::of(prop::sample::select(Role::ALL.to_vec()))) {
            let side = if firm_side { Side::Firm } else { Side::Company };
            let facts = PlanFacts {
                led_open_matters: if firm_side { vec![] } else { (0..leads).map(matter).collect() },
                coordinated_offices: if firm_side { vec![] } else { (0..coords).map(|n| place(n, None, None, false)).collect() },
                primary_levels: if firm_side { vec![] } else { (0..primaries).map(|n| place(n, Some(1), None, false)).collect() },
                participations: parts.iter().enumerate().map(|(i, (s, n))| participation(i as u8, *s, *n)).collect(),
                ..PlanFacts::default()
            };
            let m = |p: &ParticipationRef| BlockingObject::Matter { id: p.matter.id.clone(), name: p.matter.name.clone(), number: p.matter.number.clone() };
            let old = Facts {
                led_open_matters: facts.led_open_matters.iter().map(|x| BlockingObject::Matter { id: x.id.clone(), name: x.name.clone(), number: x.number.clone() }).collect(),
                coordinated_offices: facts.coordinated_offices.iter().map(|o| BlockingObject::Office { id: o.id.clone(), name: o.name.clone(), active: true }).collect(),
                primary_levels: facts.primary_levels.iter().map(|o| BlockingObject::Route { id: o.id.clone(), name: o.name.clone(), active: true, level: 1 }).collect(),
                sole_firm_matters: facts.participations.iter().filter(|p| p.sole).map(m).collect(),
                sole_notified_matters: facts.participations.iter().filter(|p| p.sole_notified).map(m).collect(),
                ..Facts::default()
            };
            let verdict = deactivation::evaluate(role, side, &old);
            let items = plan(role, side, &facts);
            let blocked_matters: std::collections::BTreeSet<String> = verdict.blockers.iter().map(|b| format!("{:?}", b.on)).collect();
            prop_assert_eq!(items.iter().any(|i| i.blocking), !verdict.can_deactivate());
            prop_assert_eq!(items.iter().filter(|i| i.blocking).count(), blocked_matters.len());
        }
    }

    #[test]
    fn successors_by_key_then_kind_then_default() {
        let items = plan(None, Side::Company, &every_kind());
        let mut named = HashMap::new();
        named.insert("lead_company_person:m1".to_owned(), UserId::from("a"));
        named.insert("lead_company_person".to_owned(), UserId::from("b"));
        let d = UserId::from("c");
        assert_eq!(chosen(&items[0], &named, Some(&d)), Some((&UserId::from("a"), Source::Named)));
        assert_eq!(chosen(&items[1], &named, Some(&d)), Some((&UserId::from("b"), Source::Named)));
        assert_eq!(chosen(&items[2], &named, Some(&d)), Some((&d, Source::Default)));
        assert_eq!(chosen(&items[2], &named, None), None);
    }

    #[test]
    fn o2_eligibility() {
        let items = plan(None, Side::Company, &every_kind());
        let firm = FirmId::from("f");
        let me = UserId::from("me");
        let leaving = Candidate {
            id: &me,
            side: Side::Company,
            firm_id: None,
            active: true,
        };
        let ids: Vec<UserId> = ["x", "coord", "prim", "d1", "fx"].iter().map(|s| UserId::from(*s)).collect();
        let company = |i: usize| Candidate {
            id: &ids[i],
            side: Side::Company,
            firm_id: None,
            active: true,
        };
        let lawyer = Candidate {
            id: &ids[4],
            side: Side::Firm,
            firm_id: Some(&firm),
            active: true,
        };
        let by = |k: &str| items.iter().find(|i| i.key == k).unwrap();
        let code = |f: Fit| match f {
            Fit::No(c, _) => c,
            Fit::Takes => "takes",
            Fit::Nothing => "nothing",
        };
        let lead = by("lead_company_person:m1");
        assert_eq!(check(lead, company(0), leaving, Source::Named), Fit::Takes);
        assert_eq!(code(check(lead, leaving, leaving, Source::Named)), "same_user");
        assert_eq!(code(check(lead, lawyer, leaving, Source::Named)), "not_company_user");
        assert_eq!(
            code(check(
                lead,
                Candidate {
                    active: false,
                    ..company(0)
                },
                leaving,
                Source::Named
            )),
            "user_inactive"
        );
        let backup = by("office_backup_coordinator:p2");
        assert_eq!(code(check(backup, company(1), leaving, Source::Named)), "same_as_coordinator");
        assert_eq!(check(backup, company(1), leaving, Source::Default), Fit::Nothing);
        let alternate = by("route_alternate_approver:p4:1");
        assert_eq!(code(check(alternate, company(2), leaving, Source::Named)), "same_as_primary");
        let given = by("delegation_given:d1");
        assert_eq!(check(given, company(3), leaving, Source::Named), Fit::Nothing);
        assert_eq!(code(check(given, lawyer, leaving, Source::Named)), "delegate_out_of_organisation");
        let mut part = by("participation:m7").clone();
        assert_eq!(check(&part, lawyer, leaving, Source::Named), Fit::Takes);
        part.matter_role = Some(MatterRole::ReportOnly);
        assert_eq!(code(check(&part, lawyer, leaving, Source::Named)), "role_not_allowed_for_side");
        assert_eq!(check(by("route_delegate:p8:3"), lawyer, leaving, Source::Named), Fit::Takes);
        assert_eq!(
            code(check(by("tracker_coordinator"), lawyer, leaving, Source::Named)),
            "not_company_user"
        );
        // D4: only a colleague of the same firm.
        let d4 = plan(
            Some(Role::FirmAdministrator),
            Side::Firm,
            &PlanFacts {
                participations: vec![participation(1, true, true)],
                ..PlanFacts::default()
            },
        );
        let other_firm = FirmId::from("g");
        let leaving_lawyer = Candidate {
            id: &me,
            side: Side::Firm,
            firm_id: Some(&firm),
            active: true,
        };
        assert_eq!(check(&d4[0], lawyer, leaving_lawyer, Source::Named), Fit::Takes);
        assert_eq!(
            code(check(
                &d4[0],
                Candidate {
                    firm_id: Some(&other_firm),
                    ..lawyer
                },
                leaving_lawyer,
                Source::Named
            )),
            "not_same_firm"
        );
        assert!(ItemKind::all().all(|k| ItemKind::parse(k.as_str()) == Some(k)));
        assert_eq!(ItemKind::all().count(), B::ALL.len() + 5);
    }
}
