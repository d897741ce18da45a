//! What every page shares: the layout with its navigation, rendering,
//! labels, paging and query strings. The other shared parts live beside it
//! and are re-exported here, so a page imports `page::*`: notices across a
//! redirect (`flash`), the session and form extractors (`session`), error
//! pages and form problems (`errors`), and the people pickers (`pickers`).

pub use super::errors::*;
pub use super::flash::*;
pub use super::pickers::*;
pub use super::session::*;

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
pub use domain::access::Area;
use domain::model::User;
use domain::Role;

/// What the navigation offers: only the areas the role can use, as
/// `domain::access::Area` says (the use cases still decide the scope; this
/// only avoids links that lead to "not allowed").
#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub users: bool,
    pub offices: bool,
    pub firms: bool,
    pub routes: bool,
    pub settings: bool,
    pub audit: bool,
    pub bulk: bool,
}

impl NavUser {
    pub(crate) fn of(u: &User) -> Self {
        let open = |area: Area| area.open_to(u.role);
        Self {
            name: u.full_name(),
            email: u.email.to_string(),
            role: role_label(u.role),
            users: open(Area::Users),
            offices: open(Area::Offices),
            firms: open(Area::Firms),
            routes: open(Area::ApprovalRoutes),
            settings: open(Area::Settings),
            audit: open(Area::Audit),
            bulk: open(Area::BulkUpdate),
        }
    }
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Vec<Flash>,
}

impl Layout {
    /// For pages shown before sign-in, and error pages.
    pub fn bare(title: impl Into<String>, csrf: String, flash: Vec<Flash>) -> Self {
        Self {
            title: title.into(),
            section: "",
            user: None,
            csrf,
            flash,
        }
    }

    pub fn is(&self, section: &str) -> bool {
        self.section == section
    }
}

/// Renders a template as a page.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response()
        }
    }
}

pub fn ok<T: Template>(page: &T) -> Response {
    render(StatusCode::OK, page)
}

/// Percent-encodes everything but RFC 3986's unreserved characters: safe
/// in a path segment and in a query value.
pub fn url_encode(s: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Display helpers shared by the templates' structs.
pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::CompanySystemAdministrator => "Company system administrator",
        Role::CompanyOfficeAdministrator => "Company office administrator",
        Role::CompanyMatterCreator => "Company matter creator",
        Role::CompanyUser => "Company user",
        Role::FirmAdministrator => "Firm administrator",
        Role::FirmUser => "Firm user",
    }
}

pub fn matter_role_label(r: domain::MatterRole) -> &'static str {
    use domain::MatterRole::*;
    match r {
        MatterAdministrator => "Matter administrator",
        MatterEditor => "Matter editor",
        MatterReader => "Matter reader",
        BillingOnly => "Billing only",
        ReportOnly => "Report only",
    }
}

/// `2025-03-01 14:05 UTC`, or an em dash.
pub fn when(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "—".into() };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "—".into())
}

/// Pages of a list.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub first: i64,
    pub last: i64,
    /// The current query without `page`, to build links.
    pub base: String,
}

impl Pager {
    pub fn new(page: i64, per_page: i64, total: i64, base: String) -> Self {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let first = if total == 0 { 0 } else { (page - 1) * per_page + 1 };
        let last = (page * per_page).min(total);
        Self {
            page,
            pages,
            total,
            first,
            last,
            base,
        }
    }

    pub fn href(&self, page: i64) -> String {
        if self.base.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{}&page={page}", self.base)
        }
    }

    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }
}

/// `?page=` of a paged list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageParam {
    pub page: Option<String>,
}

/// A page number from the query: anything but 1 to 1,000,000 is page 1,
/// so that a hand-edited URL shows the list rather than an error.
pub fn page_number(p: &Option<String>) -> i64 {
    p.as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

/// Query-string pairs, percent-encoded, without empty values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A checkbox is sent only when ticked.
pub fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// An empty field means "not given".
pub fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}
