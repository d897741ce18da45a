//! D5 on a page: every blocker of a refused deactivation (or of the check
//! beforehand), each with a link to the page that clears it. Built from the
//! `blockers` detail the use case returns, the same list the API shows.

use serde_json::Value;

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
    pub fn from_json(user_id: &str, list: &[Value]) -> Self {
        let bulk_href = format!("/bulk-update/lead-company-person?from={}", super::page::url_encode(user_id));
        let mut out = Blockers {
            bulk_href: bulk_href.clone(),
            ..Default::default()
        };
        for b in list {
            let kind = b.get("kind").and_then(Value::as_str).unwrap_or("");
            let fix = b.get("fix").and_then(Value::as_str).map(super::page::sentence).unwrap_or_default();
            let text = |obj: &str, key: &str| b.get(obj).and_then(|o| o.get(key)).and_then(Value::as_str).unwrap_or("").to_owned();
            let active = |obj: &str| b.get(obj).and_then(|o| o.get("active")).and_then(Value::as_bool).unwrap_or(true);
            let (label, what, links) = if b.get("matter").is_some() {
                let id = super::page::url_encode(&text("matter", "id"));
                let what = format!("Matter {} ({})", text("matter", "name"), text("matter", "number"));
                if kind == "lead_company_person" {
                    out.led_matters += 1;
                    let links = vec![
                        Fix {
                            href: format!("/matters/{id}/edit"),
                            label: "Edit the matter".into(),
                        },
                        Fix {
                            href: bulk_href.clone(),
                            label: "Bulk update".into(),
                        },
                    ];
                    ("Lead company person", what, links)
                } else {
                    let label = if kind == "only_notified_firm_user_on_matter" {
                        "Only firm user notified"
                    } else {
                        "Only firm user on matter"
                    };
                    (
                        label,
                        what,
                        vec![Fix {
                            href: format!("/matters/{id}"),
                            label: "Open the matter".into(),
                        }],
                    )
                }
            } else if b.get("office").is_some() {
                let id = super::page::url_encode(&text("office", "id"));
                let state = if active("office") { "" } else { " (inactive)" };
                let what = format!("Office/region {}{state}", text("office", "name"));
                let label = if kind == "office_backup_coordinator" {
                    "Backup coordinator"
                } else {
                    "Office/region coordinator"
                };
                (
                    label,
                    what,
                    vec![Fix {
                        href: format!("/offices/{id}"),
                        label: "Edit the office".into(),
                    }],
                )
            } else if b.get("route").is_some() {
                let id = super::page::url_encode(&text("route", "id"));
                let level = b.get("route").and_then(|r| r.get("level")).and_then(Value::as_i64).unwrap_or(0);
                let state = if active("route") { "" } else { " (inactive)" };
                let what = format!("Approval route {}{state}, level {level}", text("route", "name"));
                let label = if kind == "route_alternate_approver" {
                    "Alternate approver"
                } else {
                    "Primary approver"
                };
                (
                    label,
                    what,
                    vec![Fix {
                        href: format!("/approval-routes/{id}"),
                        label: "Edit the route".into(),
                    }],
                )
            } else {
                ("Blocker", kind.replace('_', " "), Vec::new())
            };
            out.items.push(BlockerView {
                kind: label.into(),
                what,
                fix,
                links,
            });
        }
        out
    }

    pub fn from_domain(user_id: &str, list: &[domain::deactivation::Blocker]) -> Self {
        let json: Vec<Value> = list.iter().map(app::lifecycle::blocker_json).collect();
        Self::from_json(user_id, &json)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
