//! O2: the successor chosen for an item, and whether they may take it over.

use super::{Item, ItemKind};
use crate::deactivation::BlockerKind as B;
use crate::{FirmId, Side, UserId};
use std::collections::HashMap;

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
