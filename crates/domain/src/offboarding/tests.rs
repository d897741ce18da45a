use super::*;
use crate::{FirmId, MatterRole, UserId};
use std::collections::HashMap;

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
        name: crate::EntityName::parse("name", &format!("Matter {n}")).unwrap(),
        number: format!("N-{n}"),
    }
}
fn place(n: u8, level: Option<i64>, other: Option<&str>, other_active: bool) -> PlaceRef {
    PlaceRef {
        id: format!("p{n}"),
        name: crate::EntityName::parse("name", &format!("Place {n}")).unwrap(),
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
