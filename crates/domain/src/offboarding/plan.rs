//! O1: the facts the store gathers and the plan made from them.

use super::{ItemKind, TargetType};
use crate::deactivation::BlockerKind as B;
use crate::{EntityName, MatterRole, Role, Side, UserId};

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
    pub name: EntityName,
    pub number: String,
}

/// An office or a route level, with the other person in the pair
/// (coordinator ↔ backup, primary ↔ alternate) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRef {
    pub id: String,
    pub name: EntityName,
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
            None => p.name.to_string(),
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
