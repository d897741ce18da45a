//! The user list (R2): its view of the query, its cursor pages and its
//! rows, scoped by the use case (S7).

use super::{row, Row, PER_PAGE};
use crate::ui::page::{ok, page_number, query, when, Choice, Layout, OrgPicker, PageResult, Session};
use app::users::{StatusFilter, UserFilter};
use app::{App, Page};
use askama::Template;
use axum::extract::{Query, State};
use domain::{FirmId, Side};
use serde::Deserialize;
use store::{Org, SortKey};

/// The list's query. Unknown values fall back to the defaults: a page
/// should show the list rather than an error about a hand-edited URL.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    org: Option<String>,
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
    /// P1: the list pages with cursors; `at` is the position of the
    /// cursor's page, for "51–100 of …".
    cursor: Option<String>,
    at: Option<String>,
}

#[derive(Clone)]
struct View {
    org: String,
    status: String,
    q: String,
    sort: String,
    desc: bool,
    page: i64,
    cursor: Option<String>,
    /// How many rows come before this page.
    before: i64,
}

impl View {
    fn of(q: &ListQuery) -> Self {
        let org = q
            .org
            .clone()
            .filter(|o| ["all", "company", "firms"].contains(&o.as_str()) || o.starts_with("firm:"))
            .unwrap_or_else(|| "all".into());
        let status = q
            .status
            .clone()
            .filter(|s| ["active", "inactive", "all", "locked"].contains(&s.as_str()))
            .unwrap_or_else(|| "active".into());
        let sort = q
            .sort
            .clone()
            .filter(|s| ["name", "email", "last_sign_in"].contains(&s.as_str()))
            .unwrap_or_else(|| "name".into());
        let page = page_number(&q.page);
        let q_text: String = q.q.clone().unwrap_or_default().trim().chars().take(100).collect();
        let cursor = q.cursor.clone().filter(|c| !c.is_empty() && c.len() <= 2_000);
        let before = match &cursor {
            Some(_) => q.at.as_deref().and_then(|a| a.parse().ok()).filter(|a| *a >= 0).unwrap_or(0),
            None => (page - 1) * PER_PAGE,
        };
        Self {
            org,
            status,
            q: q_text,
            sort,
            desc: q.order.as_deref() == Some("desc"),
            page,
            cursor,
            before,
        }
    }

    fn filter(&self) -> UserFilter {
        let org = match self.org.as_str() {
            "company" => Org::Company,
            "firms" => Org::Firms,
            o => match o.strip_prefix("firm:") {
                Some(id) if !id.is_empty() => Org::Firm(FirmId::from(id)),
                _ => Org::All,
            },
        };
        let status = match self.status.as_str() {
            "inactive" => StatusFilter::Inactive,
            "all" => StatusFilter::All,
            "locked" => StatusFilter::Locked,
            _ => StatusFilter::Active,
        };
        let sort = match self.sort.as_str() {
            "email" => SortKey::Email,
            "last_sign_in" => SortKey::LastSignIn,
            _ => SortKey::Name,
        };
        UserFilter {
            org,
            status,
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
            sort,
            descending: self.desc,
            cursor: self.cursor.clone(),
        }
    }

    fn query(&self, sort: &str, desc: bool) -> String {
        query(&[
            ("org", &self.org),
            ("status", &self.status),
            ("q", &self.q),
            ("sort", sort),
            ("order", if desc { "desc" } else { "" }),
        ])
    }

    /// A column heading's link: the same view sorted by it, flipping the order when it already is.
    fn sort_link(&self, key: &str) -> SortLink {
        let current = self.sort == key;
        let desc = current && !self.desc;
        SortLink {
            href: format!("/users?{}", self.query(key, desc)),
            mark: if !current {
                ""
            } else if self.desc {
                "▼"
            } else {
                "▲"
            },
        }
    }
}

/// The list's pages: *Next* follows the answer's cursor, *First page* goes
/// back to the start (P1: no page costs more than the first).
pub struct CursorPager {
    pub first: i64,
    pub last: i64,
    /// The total, or "more than N" for a search that stopped counting.
    pub total: String,
    pub next: Option<String>,
    pub first_page: Option<String>,
}

impl CursorPager {
    fn new(v: &View, shown: i64, (total, exact): (i64, bool), next: Option<&str>) -> Self {
        let base = v.query(&v.sort, v.desc);
        let href = |more: &str| match (base.is_empty(), more.is_empty()) {
            (true, _) => format!("/users?{more}"),
            (false, true) => format!("/users?{base}"),
            (false, false) => format!("/users?{base}&{more}"),
        };
        let at = v.before + shown;
        Self {
            first: if shown == 0 { 0 } else { v.before + 1 },
            last: at,
            total: if exact { total.to_string() } else { format!("more than {total}") },
            next: next.map(|c| href(&query(&[("cursor", c), ("at", &at.to_string())]))),
            first_page: (v.before > 0).then(|| href("")),
        }
    }
}

pub struct SortLink {
    pub href: String,
    pub mark: &'static str,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    layout: Layout,
    orgs: Vec<Choice>,
    /// Why the firms are missing from the organisation selector.
    firms_problem: Option<String>,
    statuses: Vec<Choice>,
    q: String,
    sort: String,
    order: String,
    rows: Vec<Row>,
    pager: CursorPager,
    by_name: SortLink,
    by_email: SortLink,
    by_sign_in: SortLink,
    can_add_company: bool,
    can_add_firm: bool,
    status_word: &'static str,
    /// A2: this view, as CSV.
    csv_href: String,
}

pub async fn list(State(app): State<App>, s: Session, Query(q): Query<ListQuery>) -> PageResult {
    let v = View::of(&q);
    let listing = app
        .list_users(
            &s.ctx,
            v.filter(),
            Page {
                page: v.page,
                per_page: PER_PAGE,
            },
        )
        .await?;
    let firms = OrgPicker::firms(&app, &s, "").await?;
    let now = app.now();
    let mut orgs = vec![
        Choice::new("all", "All users", v.org == "all"),
        Choice::new("company", "Company users", v.org == "company"),
        Choice::new("firms", "Firm users", v.org == "firms"),
    ];
    if s.user.side == Side::Firm {
        orgs.retain(|c| c.value == "all");
    }
    for c in &firms.choices {
        let value = format!("firm:{}", c.value);
        let selected = v.org == value;
        orgs.push(Choice::new(value, format!("Firm: {}", c.label), selected));
    }
    let statuses = vec![
        Choice::new("active", "Active users", v.status == "active"),
        Choice::new("inactive", "Inactive users", v.status == "inactive"),
        Choice::new("all", "All users", v.status == "all"),
        Choice::new("locked", "Locked out users", v.status == "locked"),
    ];
    let status_word = match v.status.as_str() {
        "inactive" => "inactive users",
        "locked" => "locked out users",
        "all" => "users",
        _ => "active users",
    };
    let page = ListPage {
        layout: s.layout("User list", "users"),
        orgs,
        firms_problem: firms.problem,
        statuses,
        q: v.q.clone(),
        sort: v.sort.clone(),
        order: if v.desc { "desc".into() } else { String::new() },
        rows: listing
            .items
            .iter()
            .zip(&listing.extras)
            .map(|(u, names)| {
                let mut r = row(u, names.firm.as_deref(), now);
                if let Some(at) = names.leaves_at {
                    r.leaves_on = when(Some(at));
                }
                r
            })
            .collect(),
        pager: CursorPager::new(
            &v,
            listing.items.len() as i64,
            (listing.total, listing.total_exact),
            listing.next.as_deref(),
        ),
        by_name: v.sort_link("name"),
        by_email: v.sort_link("email"),
        by_sign_in: v.sort_link("last_sign_in"),
        can_add_company: s.may_add_users(Side::Company),
        can_add_firm: s.may_add_users(Side::Firm),
        status_word,
        csv_href: format!("/api/v1/users.csv?{}", v.query(&v.sort, v.desc)),
    };
    Ok(ok(&page))
}
