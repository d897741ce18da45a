//! D5 on a page: every blocker of a refused deactivation (or of the check
//! beforehand), each with a link to the page that clears it. Built from the
//! typed blockers the use case returns, the same list the API shows.

use domain::deactivation::{Blocker, BlockerKind, BlockingObject};

/// What a blocker is, as a person reads it.
fn label(kind: BlockerKind) -> &'static str {
    match kind {
        BlockerKind::LeadCompanyPerson => "Lead company person",
        BlockerKind::OfficeCoordinator => "Office/region coordinator",
        BlockerKind::OfficeBackupCoordinator => "Backup coordinator",
        BlockerKind::RoutePrimaryApprover => "Primary approver",
        BlockerKind::RouteAlternateApprover => "Alternate approver",
        BlockerKind::OnlyFirmUserOnMatter => "Only firm user on matter",
        BlockerKind::OnlyNotifiedFirmUserOnMatter => "Only firm user notified",
    }
}

/// A link that clears a blocker.
#[derive(Debug, Clone)]
pub struct Fix {
    pub href: String,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct BlockerView {
    pub kind: String,
    /// The matter, office or route, as a person reads it.
    pub what: String,
    /// What to change, from the rule itself.
    pub fix: String,
    pub links: Vec<Fix>,
}

/// The blockers (or warnings) of a user, ready for the template.
#[derive(Debug, Clone, Default)]
pub struct Blockers {
    pub items: Vec<BlockerView>,
    /// Open matters led by the user: one bulk update clears them all (D9).
    pub led_matters: usize,
    pub bulk_href: String,
}

impl Blockers {
    pub fn from_domain(user_id: &str, list: &[Blocker]) -> Self {
        let bulk_href = format!("/bulk-update/lead-company-person?from={}", super::page::url_encode(user_id));
        let mut out = Blockers {
            bulk_href: bulk_href.clone(),
            ..Default::default()
        };
        for b in list {
            let fix = super::page::sentence(b.kind.fix());
            let link = |href: String, label: &str| Fix { href, label: label.into() };
            let inactive = |active: bool| if active { "" } else { " (inactive)" };
            let (what, links) = match &b.on {
                BlockingObject::Matter { id, name, number } => {
                    let id = super::page::url_encode(id);
                    let what = format!("Matter {name} ({number})");
                    if b.kind == BlockerKind::LeadCompanyPerson {
                        out.led_matters += 1;
                        let links = vec![
                            link(format!("/matters/{id}/edit"), "Edit the matter"),
                            link(bulk_href.clone(), "Bulk update"),
                        ];
                        (what, links)
                    } else {
                        (what, vec![link(format!("/matters/{id}"), "Open the matter")])
                    }
                }
                BlockingObject::Office { id, name, active } => (
                    format!("Office/region {name}{}", inactive(*active)),
                    vec![link(format!("/offices/{}", super::page::url_encode(id)), "Edit the office")],
                ),
                BlockingObject::Route { id, name, active, level } => (
                    format!("Approval route {name}{}, level {level}", inactive(*active)),
                    vec![link(format!("/approval-routes/{}", super::page::url_encode(id)), "Edit the route")],
                ),
            };
            out.items.push(BlockerView {
                kind: label(b.kind).into(),
                what,
                fix,
                links,
            });
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
