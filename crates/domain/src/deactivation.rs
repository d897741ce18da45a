//! SPEC §3: when a user may be deactivated, and what stands in the way.
//!
//! The store gathers the facts with index-backed queries that only touch
//! rows involving the user; this module decides. Every blocker is listed,
//! never only the first (D5).

use crate::{Role, Side};
use serde::Serialize;

/// What blocks (or, for a company-side administrator, warns about) a
/// deactivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// D3: lead company person of a matter open for editing or invoicing.
    LeadCompanyPerson,
    /// D3: coordinator of an office/region, active or inactive.
    OfficeCoordinator,
    /// D3: backup coordinator of an office/region, active or inactive.
    OfficeBackupCoordinator,
    /// D3: primary approver on a level of an approval route.
    RoutePrimaryApprover,
    /// D3: alternate approver on a level of an approval route.
    RouteAlternateApprover,
    /// D4: the only active user of their firm on an open matter.
    OnlyFirmUserOnMatter,
    /// D4: the only user of their firm receiving notifications for an open matter.
    OnlyNotifiedFirmUserOnMatter,
}

impl BlockerKind {
    /// Every kind, D3's then D4's: the one list of what can block a
    /// deactivation (an offboarding plan's blocking items wrap these).
    pub const ALL: &'static [BlockerKind] = &[
        BlockerKind::LeadCompanyPerson,
        BlockerKind::OfficeCoordinator,
        BlockerKind::OfficeBackupCoordinator,
        BlockerKind::RoutePrimaryApprover,
        BlockerKind::RouteAlternateApprover,
        BlockerKind::OnlyFirmUserOnMatter,
        BlockerKind::OnlyNotifiedFirmUserOnMatter,
    ];

    /// D4 (the firm's last lawyer on a matter) rather than D3 (a company
    /// user's position).
    pub fn is_d4(self) -> bool {
        matches!(self, BlockerKind::OnlyFirmUserOnMatter | BlockerKind::OnlyNotifiedFirmUserOnMatter)
    }

    /// Whether a responsibility of this kind blocks deactivating a user
    /// on `side` by an actor with `actor_role` (`None`: the operator or the
    /// directory): D3 binds whoever deactivates a company user; D4 binds
    /// only a firm administrator (a company-side administrator is warned).
    pub fn binds(self, actor_role: Option<Role>, side: Side) -> bool {
        if self.is_d4() {
            side == Side::Firm && actor_role == Some(Role::FirmAdministrator)
        } else {
            side == Side::Company
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BlockerKind::LeadCompanyPerson => "lead_company_person",
            BlockerKind::OfficeCoordinator => "office_coordinator",
            BlockerKind::OfficeBackupCoordinator => "office_backup_coordinator",
            BlockerKind::RoutePrimaryApprover => "route_primary_approver",
            BlockerKind::RouteAlternateApprover => "route_alternate_approver",
            BlockerKind::OnlyFirmUserOnMatter => "only_firm_user_on_matter",
            BlockerKind::OnlyNotifiedFirmUserOnMatter => "only_notified_firm_user_on_matter",
        }
    }

    /// What the administrator must change to clear it.
    pub fn fix(self) -> &'static str {
        match self {
            BlockerKind::LeadCompanyPerson => "assign another lead company person (edit the matter or use the bulk update), or close the matter for both editing and invoicing",
            BlockerKind::OfficeCoordinator => "name another coordinator for the office/region",
            BlockerKind::OfficeBackupCoordinator => "name another backup coordinator for the office/region, or leave it empty",
            BlockerKind::RoutePrimaryApprover => "replace the user as primary approver on this level of the approval route",
            BlockerKind::RouteAlternateApprover => "replace or remove the user as alternate approver on this level of the approval route",
            BlockerKind::OnlyFirmUserOnMatter => "ask the client to add another lawyer of the firm to the matter first",
            BlockerKind::OnlyNotifiedFirmUserOnMatter => "ask the client to have another user of the firm receive notifications for the matter first",
        }
    }
}

/// The object a blocker points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum BlockingObject {
    Matter {
        id: String,
        name: crate::EntityName,
        number: String,
    },
    Office {
        id: String,
        name: crate::EntityName,
        active: bool,
    },
    Route {
        id: String,
        name: crate::EntityName,
        active: bool,
        level: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub kind: BlockerKind,
    pub on: BlockingObject,
}

/// D5's shape, the one the API, the pages' links and the audit log share:
/// `{"kind", "fix", "matter"|"office"|"route": {…}}`.
impl Serialize for Blocker {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Matter<'a> {
            id: &'a str,
            name: &'a str,
            number: &'a str,
        }
        #[derive(Serialize)]
        struct Place<'a> {
            id: &'a str,
            name: &'a str,
            active: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            level: Option<i64>,
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("kind", self.kind.as_str())?;
        map.serialize_entry("fix", self.kind.fix())?;
        match &self.on {
            BlockingObject::Matter { id, name, number } => map.serialize_entry("matter", &Matter { id, name, number })?,
            BlockingObject::Office { id, name, active } => map.serialize_entry(
                "office",
                &Place {
                    id,
                    name,
                    active: *active,
                    level: None,
                },
            )?,
            BlockingObject::Route { id, name, active, level } => map.serialize_entry(
                "route",
                &Place {
                    id,
                    name,
                    active: *active,
                    level: Some(*level),
                },
            )?,
        }
        map.end()
    }
}

/// Everything involving the user that D3/D4 care about, as the store found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Open matters the user leads.
    pub led_open_matters: Vec<BlockingObject>,
    /// Offices where the user is coordinator.
    pub coordinated_offices: Vec<BlockingObject>,
    /// Offices where the user is backup coordinator.
    pub backup_offices: Vec<BlockingObject>,
    /// Route levels where the user is primary approver.
    pub primary_levels: Vec<BlockingObject>,
    /// Route levels where the user is alternate approver.
    pub alternate_levels: Vec<BlockingObject>,
    /// Open matters where the user is the only active user of their firm.
    pub sole_firm_matters: Vec<BlockingObject>,
    /// Open matters where the user is the only one of their firm notified.
    pub sole_notified_matters: Vec<BlockingObject>,
}

/// Who asks: the deactivating actor's role, or the operator (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Refuse while any remain.
    pub blockers: Vec<Blocker>,
    /// Shown, but the deactivation proceeds (D4 for company-side administrators).
    pub warnings: Vec<Blocker>,
}

impl Verdict {
    pub fn can_deactivate(&self) -> bool {
        self.blockers.is_empty()
    }
}

fn tag(kind: BlockerKind, objects: &[BlockingObject]) -> impl Iterator<Item = Blocker> + '_ {
    objects.iter().map(move |on| Blocker { kind, on: on.clone() })
}

/// D3 and D4: decides a deactivation of a user on `target_side` by an actor
/// with `actor_role` (`None`: the operator, treated as company-side).
pub fn evaluate(actor_role: Option<Role>, target_side: Side, facts: &Facts) -> Verdict {
    let mut v = Verdict::default();
    match target_side {
        // D3 binds whoever deactivates a company user (only company-side
        // administrators can reach one).
        Side::Company => {
            v.blockers.extend(tag(BlockerKind::LeadCompanyPerson, &facts.led_open_matters));
            v.blockers.extend(tag(BlockerKind::OfficeCoordinator, &facts.coordinated_offices));
            v.blockers.extend(tag(BlockerKind::OfficeBackupCoordinator, &facts.backup_offices));
            v.blockers.extend(tag(BlockerKind::RoutePrimaryApprover, &facts.primary_levels));
            v.blockers.extend(tag(BlockerKind::RouteAlternateApprover, &facts.alternate_levels));
        }
        // D4 binds a firm administrator; a company-side administrator is warned (I).
        Side::Firm => {
            let d4: Vec<Blocker> = tag(BlockerKind::OnlyFirmUserOnMatter, &facts.sole_firm_matters)
                .chain(tag(BlockerKind::OnlyNotifiedFirmUserOnMatter, &facts.sole_notified_matters))
                .collect();
            if BlockerKind::OnlyFirmUserOnMatter.binds(actor_role, target_side) {
                v.blockers = d4;
            } else {
                v.warnings = d4;
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matter(n: u8) -> BlockingObject {
        BlockingObject::Matter {
            id: format!("m{n}"),
            name: crate::EntityName::parse("name", &format!("Matter {n}")).unwrap(),
            number: format!("N-{n}"),
        }
    }
    fn office(n: u8, active: bool) -> BlockingObject {
        BlockingObject::Office {
            id: format!("o{n}"),
            name: crate::EntityName::parse("name", &format!("Office {n}")).unwrap(),
            active,
        }
    }
    fn level(n: u8, active: bool) -> BlockingObject {
        BlockingObject::Route {
            id: format!("r{n}"),
            name: crate::EntityName::parse("name", &format!("Route {n}")).unwrap(),
            active,
            level: 1,
        }
    }

    #[test]
    fn company_user_with_every_blocker_lists_all_of_them() {
        let facts = Facts {
            led_open_matters: vec![matter(1), matter(2)],
            coordinated_offices: vec![office(1, false)],
            backup_offices: vec![office(2, true)],
            primary_levels: vec![level(1, false)],
            alternate_levels: vec![level(2, true)],
            ..Facts::default()
        };
        let v = evaluate(Some(Role::CompanySystemAdministrator), Side::Company, &facts);
        assert_eq!(v.blockers.len(), 6);
        assert!(v.warnings.is_empty());
        assert!(!v.can_deactivate());
        let kinds: Vec<_> = v.blockers.iter().map(|b| b.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == BlockerKind::LeadCompanyPerson).count(), 2);
    }

    #[test]
    fn firm_rules_block_firm_administrators_and_warn_company_administrators() {
        let facts = Facts {
            sole_firm_matters: vec![matter(1)],
            sole_notified_matters: vec![matter(1), matter(2)],
            ..Facts::default()
        };
        let firm = evaluate(Some(Role::FirmAdministrator), Side::Firm, &facts);
        assert_eq!(firm.blockers.len(), 3);
        assert!(firm.warnings.is_empty());
        for role in [Some(Role::CompanySystemAdministrator), Some(Role::CompanyOfficeAdministrator), None] {
            let company = evaluate(role, Side::Firm, &facts);
            assert!(company.can_deactivate());
            assert_eq!(company.warnings.len(), 3);
        }
    }

    #[test]
    fn company_facts_do_not_bind_firm_users_and_vice_versa() {
        let company_only = Facts {
            led_open_matters: vec![matter(1)],
            ..Facts::default()
        };
        assert!(evaluate(Some(Role::FirmAdministrator), Side::Firm, &company_only).can_deactivate());
        let firm_only = Facts {
            sole_firm_matters: vec![matter(1)],
            ..Facts::default()
        };
        assert!(evaluate(Some(Role::CompanySystemAdministrator), Side::Company, &firm_only).can_deactivate());
    }

    fn objects() -> impl Strategy<Value = Vec<BlockingObject>> {
        prop::collection::vec((0u8..20).prop_map(matter), 0..4)
    }

    proptest! {
        /// D5 as a property: the verdict lists exactly one entry per fact
        /// that applies, and blocks if and only if one applies.
        #[test]
        fn every_applicable_fact_is_listed(a in objects(), b in objects(), c in objects(), d in objects(), e in objects(), f in objects(), g in objects(),
                                           firm_side in any::<bool>(), role in prop::option::of(prop::sample::select(Role::ALL.to_vec()))) {
            let facts = Facts { led_open_matters: a, coordinated_offices: b, backup_offices: c, primary_levels: d, alternate_levels: e, sole_firm_matters: f, sole_notified_matters: g };
            let side = if firm_side { Side::Firm } else { Side::Company };
            let v = evaluate(role, side, &facts);
            let company_n = facts.led_open_matters.len() + facts.coordinated_offices.len() + facts.backup_offices.len() + facts.primary_levels.len() + facts.alternate_levels.len();
            let firm_n = facts.sole_firm_matters.len() + facts.sole_notified_matters.len();
            match side {
                Side::Company => { prop_assert_eq!(v.blockers.len(), company_n); prop_assert!(v.warnings.is_empty()); }
                Side::Firm if role == Some(Role::FirmAdministrator) => { prop_assert_eq!(v.blockers.len(), firm_n); prop_assert!(v.warnings.is_empty()); }
                Side::Firm => { prop_assert!(v.blockers.is_empty()); prop_assert_eq!(v.warnings.len(), firm_n); }
            }
            prop_assert_eq!(v.can_deactivate(), v.blockers.is_empty());
        }
    }
}
