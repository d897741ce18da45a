//! Users › User list (R2) with its two selectors and *Change view*, the
//! add-user forms (N1's hold checkbox), and *Email new users* (N3).

use super::page::{
    form_problem, given, ok, query, redirect_with, render, role_label, ticked, when, Choice, Flash, FormErrors, Layout, PageResult, Pager,
    Posted, Session,
};
use app::users::{NewUser, StatusFilter, UserFilter};
use app::{App, Page};
use askama::Template;
use axum::extract::{Query, State};
use domain::model::{EmailStatus, User};
use domain::{FirmId, Role, Side};
use serde::Deserialize;
use std::collections::HashMap;
use store::{Org, SortKey};

pub const PER_PAGE: i64 = 50;

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
        let page = q
            .page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1);
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
    pub total: i64,
    pub next: Option<String>,
    pub first_page: Option<String>,
}

impl CursorPager {
    fn new(v: &View, shown: i64, total: i64, next: Option<&str>) -> Self {
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
            total,
            next: next.map(|c| href(&query(&[("cursor", c), ("at", &at.to_string())]))),
            first_page: (v.before > 0).then(|| href("")),
        }
    }
}

pub struct SortLink {
    pub href: String,
    pub mark: &'static str,
}

/// One row of the list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub role: &'static str,
    pub last_sign_in: String,
    pub active: bool,
    pub locked: bool,
    pub email_status: &'static str,
    pub email_title: String,
    /// Once the account is activated a never-needed email is no news.
    pub show_email: bool,
    /// O3: "leaves on …" when a deactivation is scheduled.
    pub leaves_on: String,
}

pub fn email_title(u: &User) -> String {
    let n = &u.new_user_email;
    match n.status {
        EmailStatus::Held if n.sent_at.is_none() => "New user email held: never sent".into(),
        EmailStatus::Held => format!("New user email last sent {}", when(n.sent_at)),
        EmailStatus::Queued => "New user email on its way".into(),
        EmailStatus::Sent => format!("New user email sent {} ({} time(s))", when(n.sent_at), n.send_count),
        EmailStatus::Failed => "The new user email could not be delivered".into(),
    }
}

/// One row; `firm` is the name of the user's firm.
fn row(u: &User, firm: Option<&str>, now: i64) -> Row {
    let organisation = match (&u.side, &u.firm_id) {
        (Side::Firm, Some(_)) => firm.unwrap_or("Firm").to_owned(),
        (Side::Firm, None) => "Firm".into(),
        (Side::Company, _) => "Company".into(),
    };
    Row {
        id: u.id.to_string(),
        name: format!("{}, {}", u.last_name, u.first_name),
        email: u.email.clone(),
        organisation,
        role: role_label(u.role),
        last_sign_in: if u.last_sign_in_at.is_some() {
            when(u.last_sign_in_at)
        } else {
            "Never".into()
        },
        active: u.active,
        locked: u.is_locked(now),
        email_status: u.new_user_email.status.as_str(),
        email_title: email_title(u),
        show_email: u.activated_at.is_none() || u.new_user_email.status != EmailStatus::Held,
        leaves_on: String::new(),
    }
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    layout: Layout,
    orgs: Vec<Choice>,
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

/// Firms the caller may see, by id: for the organisation selector and the
/// list's Organisation column. A role without firm access gets none.
async fn firm_names(app: &App, s: &Session) -> Vec<(String, String)> {
    match app
        .list_firms(
            &s.ctx,
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await
    {
        Ok(l) => l.items.iter().map(|f| (f.id.to_string(), f.name.clone())).collect(),
        Err(_) => Vec::new(),
    }
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
    let firms = firm_names(&app, &s).await;
    let now = app.now();
    let ids: Vec<domain::UserId> = listing.items.iter().map(|u| u.id.clone()).collect();
    let leaving = app.leaving_dates(&s.ctx, &ids).await?;
    let mut orgs = vec![
        Choice::new("all", "All users", v.org == "all"),
        Choice::new("company", "Company users", v.org == "company"),
        Choice::new("firms", "Firm users", v.org == "firms"),
    ];
    if s.user.side == Side::Firm {
        orgs.retain(|c| c.value == "all");
    }
    for (id, name) in &firms {
        let value = format!("firm:{id}");
        let selected = v.org == value;
        orgs.push(Choice::new(value, format!("Firm: {name}"), selected));
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
        statuses,
        q: v.q.clone(),
        sort: v.sort.clone(),
        order: if v.desc { "desc".into() } else { String::new() },
        rows: listing
            .items
            .iter()
            .zip(&listing.org_names)
            .map(|(u, names)| {
                let mut r = row(u, names.firm.as_deref(), now);
                if let Some(at) = leaving.get(&u.id) {
                    r.leaves_on = when(Some(*at));
                }
                r
            })
            .collect(),
        pager: CursorPager::new(&v, listing.items.len() as i64, listing.total, listing.next.as_deref()),
        by_name: v.sort_link("name"),
        by_email: v.sort_link("email"),
        by_sign_in: v.sort_link("last_sign_in"),
        can_add_company: s.user.side == Side::Company,
        can_add_firm: s.user.role != Role::CompanyOfficeAdministrator || s.user.office_id.is_some(),
        status_word,
        csv_href: format!("/api/v1/users.csv?{}", v.query(&v.sort, v.desc)),
    };
    Ok(ok(&page))
}

/// The add-user form's values, kept when it comes back with errors.
#[derive(Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    side: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    firm_id: Option<String>,
    office_id: Option<String>,
    hold_new_user_email: Option<String>,
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewUserPage {
    layout: Layout,
    errors: FormErrors,
    firm_side: bool,
    f: NewUserForm,
    hold: bool,
    roles: Vec<Choice>,
    firms: Vec<Choice>,
    offices: Vec<Choice>,
}

#[derive(Deserialize, Default)]
pub struct SideQuery {
    side: Option<String>,
}

fn roles_for(side: Side, selected: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .filter(|r| r.side() == side)
        .map(|r| Choice::new(r.as_str(), role_label(*r), r.as_str() == selected))
        .collect()
}

async fn new_user_page(app: &App, s: &Session, f: NewUserForm, errors: FormErrors) -> NewUserPage {
    let firm_side = f.side == "firm";
    let side = if firm_side { Side::Firm } else { Side::Company };
    let default_role = if firm_side { Role::FirmUser } else { Role::CompanyUser };
    let role = if f.role.is_empty() {
        default_role.as_str().to_owned()
    } else {
        f.role.clone()
    };
    let firm_sel = f.firm_id.clone().unwrap_or_default();
    let office_sel = f.office_id.clone().unwrap_or_default();
    let firms = firm_names(app, s)
        .await
        .into_iter()
        .map(|(id, name)| Choice::new(id.clone(), name, id == firm_sel))
        .collect();
    let offices = match app
        .list_offices(
            &s.ctx,
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await
    {
        Ok(l) => l
            .items
            .iter()
            .map(|o| Choice::new(o.id.to_string(), o.name.clone(), o.id.as_str() == office_sel))
            .collect(),
        Err(_) => Vec::new(),
    };
    let title = if firm_side { "Add firm user" } else { "Add company user" };
    let hold = ticked(&f.hold_new_user_email);
    NewUserPage {
        layout: s.layout(title, "users"),
        errors,
        firm_side,
        roles: roles_for(side, &role),
        firms,
        offices,
        hold,
        f,
    }
}

/// Only for user administrators, as `POST /users` answers 403 to others.
pub async fn new_page(State(app): State<App>, s: Session, Query(q): Query<SideQuery>) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    let side = if q.side.as_deref() == Some("firm") { "firm" } else { "company" };
    let f = NewUserForm {
        side: side.into(),
        ..Default::default()
    };
    Ok(ok(&new_user_page(&app, &s, f, FormErrors::none()).await))
}

/// N1: the new user email goes out at once unless held.
pub async fn create(State(app): State<App>, s: Session, Posted(f): Posted<NewUserForm>) -> PageResult {
    let side = if f.side == "firm" { "firm" } else { "company" };
    let input = NewUser {
        email: f.email.trim().to_owned(),
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        side: Some(side.into()),
        firm_id: if side == "firm" { given(&f.firm_id) } else { None },
        office_id: given(&f.office_id),
        role: f.role.clone(),
        hold_new_user_email: ticked(&f.hold_new_user_email),
    };
    match app.create_user(&s.ctx, input).await {
        Ok(d) => {
            let u = &d.user;
            let mail = if ticked(&f.hold_new_user_email) {
                "The new user email is held until you send it or add them to a matter."
            } else {
                "The new user email is on its way."
            };
            Ok(redirect_with(
                "/users",
                &[Flash::ok(format!("{} was added ({}). {mail}", u.full_name(), u.email))],
            ))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            app.require_user_administrator(&s.ctx)?;
            Ok(render(status, &new_user_page(&app, &s, f, errors).await))
        }
    }
}

#[derive(Template)]
#[template(path = "users/email_new_users.html")]
struct EmailNewUsersPage {
    layout: Layout,
    rows: Vec<Row>,
    total: i64,
    pager: Pager,
    all_sent: &'static str,
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    page: Option<String>,
}

/// N3's report: every active user never sent the new user email, 50 a
/// page (P3) with the kept total.
pub async fn email_new_users(State(app): State<App>, s: Session, Query(q): Query<ReportQuery>) -> PageResult {
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let l = app.pending_new_user_emails(&s.ctx, Page { page, per_page: PER_PAGE }).await?;
    let firm_map: HashMap<String, String> = firm_names(&app, &s).await.into_iter().collect();
    let now = app.now();
    let page = EmailNewUsersPage {
        layout: s.layout("Email new users", "users"),
        rows: l
            .items
            .iter()
            .map(|u| {
                row(
                    u,
                    u.firm_id.as_ref().and_then(|f| firm_map.get(f.as_str())).map(String::as_str),
                    now,
                )
            })
            .collect(),
        total: l.total,
        pager: Pager::new(page, PER_PAGE, l.total, String::new()),
        all_sent: app::onboarding::ALL_SENT_MESSAGE,
    };
    Ok(ok(&page))
}

/// N3's confirm step.
pub async fn send_new_user_emails(State(app): State<App>, s: Session, Posted(_): Posted<super::auth::Empty>) -> PageResult {
    let r = app.send_pending_new_user_emails(&s.ctx).await?;
    let flash = if r.sent == 0 {
        Flash::warn(r.message)
    } else {
        Flash::ok(r.message)
    };
    Ok(redirect_with("/users", &[flash]))
}
