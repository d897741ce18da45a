//! What every page shares: the signed-in session read from the cookie
//! (S6: re-checked on every request), the CSRF check of every posted form
//! (S5), the layout with its navigation, one-time notices carried across a
//! redirect, and how errors of the use cases become pages.

use crate::extract::{client_ip, csrf_token, same, SESSION_COOKIE};
use app::{App, AppError, Ctx, ErrorKind};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use domain::model::User;
use domain::Role;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;

/// A notice shown once on the next page (after a redirect).
pub const FLASH_COOKIE: &str = "tracker_flash";
/// Before sign-in: a random value whose hash is the CSRF token of the
/// sign-in and set-password forms (S5 covers them too).
pub const PRE_COOKIE: &str = "tracker_pre";

/// One line of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok`, `warn` or `error`: the colour of the notice.
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            kind: "ok",
            text: text.into(),
        }
    }
    pub fn warn(text: impl Into<String>) -> Self {
        Self {
            kind: "warn",
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }
}

/// Cookie values are base64url (no padding): any text, in cookie-safe
/// characters.
fn cookie_text(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn from_cookie_text(raw: &str) -> Option<String> {
    use base64::Engine;
    if raw.len() > 8000 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes).ok()
}

fn encode_flash(lines: &[Flash]) -> String {
    let mut text = String::new();
    for l in lines {
        let line: String = l.text.chars().filter(|c| *c != '\n').take(600).collect();
        text.push_str(&format!("{}:{}\n", l.kind, line));
    }
    cookie_text(&text)
}

fn decode_flash(raw: &str) -> Vec<Flash> {
    let Some(text) = from_cookie_text(raw) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (kind, text) = l.split_once(':')?;
            let kind = match kind {
                "ok" => "ok",
                "warn" => "warn",
                _ => "error",
            };
            Some(Flash {
                kind,
                text: text.to_owned(),
            })
        })
        .collect()
}

fn read_flash(parts: &Parts) -> Vec<Flash> {
    CookieJar::from_headers(&parts.headers)
        .get(FLASH_COOKIE)
        .map(|c| decode_flash(c.value()))
        .unwrap_or_default()
}

/// Redirect-after-post (303), carrying notices to the next page.
pub fn redirect_with(to: &str, flash: &[Flash]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    if !flash.is_empty() {
        let cookie = format!("{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", encode_flash(flash));
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Clears the notice once a page has shown it.
pub fn clear_flash_cookie() -> HeaderValue {
    HeaderValue::from_static("tracker_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// What the navigation offers: only the areas the role can use (the use
/// cases still decide; this only avoids links that lead to "not allowed").
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
    fn of(u: &User) -> Self {
        let sysadmin = u.role == Role::CompanySystemAdministrator;
        Self {
            name: u.full_name(),
            email: u.email.clone(),
            role: role_label(u.role),
            users: u.role.is_user_administrator(),
            offices: matches!(u.role, Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator),
            firms: matches!(
                u.role,
                Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator | Role::FirmAdministrator
            ),
            routes: sysadmin,
            settings: sysadmin,
            audit: sysadmin,
            bulk: sysadmin,
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

/// A signed-in person on a page (S5, S6). Without a valid session the page
/// redirects to the sign-in page and comes back afterwards.
pub struct Session {
    pub ctx: Ctx,
    pub user: User,
    pub token_hash: String,
    pub csrf: String,
    pub flash: Vec<Flash>,
}

impl Session {
    pub fn layout(&self, title: impl Into<String>, section: &'static str) -> Layout {
        Layout {
            title: title.into(),
            section,
            user: Some(NavUser::of(&self.user)),
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
        }
    }
}

fn sign_in_target(parts: &Parts) -> String {
    if parts.method != axum::http::Method::GET {
        return "/".into();
    }
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

impl FromRequestParts<App> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(PageError::SignIn(sign_in_target(parts)));
        };
        let auth = match app.authenticate(&token).await {
            Ok(a) => a,
            Err(e) if e.kind() == ErrorKind::Unauthorized => return Err(PageError::SignIn(sign_in_target(parts))),
            Err(e) => return Err(PageError::App(e)),
        };
        crate::observe::record_user(&auth.user.id);
        let ctx = Ctx::user(&auth.user, client_ip(parts, app));
        Ok(Session {
            ctx,
            user: auth.user,
            token_hash: auth.token_hash,
            csrf: csrf_token(&token),
            flash: read_flash(parts),
        })
    }
}

/// A visitor before sign-in: the sign-in and set-password pages.
pub struct Visitor {
    pub csrf: String,
    pub flash: Vec<Flash>,
    pub ip: Option<String>,
    /// A fresh pre-session value to set as a cookie with the page.
    new_pre: Option<String>,
}

impl Visitor {
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout::bare(title, self.csrf.clone(), self.flash.clone())
    }

    /// Adds the pre-session cookie the form's CSRF token comes from.
    pub fn respond(&self, resp: impl IntoResponse) -> Response {
        let mut resp = resp.into_response();
        if let Some(pre) = &self.new_pre {
            if let Ok(v) = HeaderValue::from_str(&format!("{PRE_COOKIE}={pre}; Path=/; HttpOnly; SameSite=Lax")) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }
}

impl FromRequestParts<App> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let existing = jar
            .get(PRE_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| domain::secret::looks_like_token(v));
        let (pre, new_pre) = match existing {
            Some(v) => (v, None),
            None => {
                let (token, _) = domain::secret::new_token();
                (token.clone(), Some(token))
            }
        };
        Ok(Visitor {
            csrf: csrf_token(&pre),
            flash: read_flash(parts),
            ip: client_ip(parts, app),
            new_pre,
        })
    }
}

/// A posted HTML form of a signed-in page: its hidden `csrf` field must be
/// the CSRF token of the session cookie it came with (S5, S13: bound to
/// that session), compared in constant time. The pre-session token of the
/// sign-in forms is not accepted here, so a value planted before sign-in
/// can never authorize a signed-in change.
pub struct Posted<T>(pub T);

/// A posted form of a page shown before sign-in (sign-in, set-password):
/// its `csrf` field must be the token of the pre-session cookie (S5).
pub struct VisitorPosted<T>(pub T);

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// Reads a form whose `csrf` field must match the token derived from
/// `cookie`.
async fn checked_form<T: DeserializeOwned>(req: Request, state: &App, cookie: &str) -> Result<T, PageError> {
    let expected = CookieJar::from_headers(req.headers()).get(cookie).map(|c| csrf_token(c.value()));
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| PageError::Bad("the form could not be read".into()))?;
    let sent = serde_html_form::from_bytes::<CsrfField>(&body)
        .ok()
        .and_then(|c| c.csrf)
        .unwrap_or_default();
    if !expected.is_some_and(|token| same(&sent, &token)) {
        return Err(PageError::Csrf);
    }
    serde_html_form::from_bytes::<T>(&body).map_err(|e| PageError::Bad(format!("the form is not valid: {e}")))
}

impl<T: DeserializeOwned> FromRequest<App> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        checked_form(req, state, SESSION_COOKIE).await.map(Posted)
    }
}

impl<T: DeserializeOwned> FromRequest<App> for VisitorPosted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        checked_form(req, state, PRE_COOKIE).await.map(VisitorPosted)
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

pub use crate::error::status_of;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): sign in, then come back here.
    SignIn(String),
    App(AppError),
    Csrf,
    Bad(String),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

pub type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::bare(heading, String::new(), Vec::new()),
        heading: heading.to_owned(),
        message: message.to_owned(),
    };
    render(status, &page)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn(next) => {
                // S13: only a same-site path is carried to the sign-in page.
                let next = crate::redirect::same_site_path(Some(&next));
                let to = if next == "/" {
                    "/sign-in".to_owned()
                } else {
                    format!("/sign-in?next={}", url_encode(&next))
                };
                Redirect::to(&to).into_response()
            }
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from a current Tracker page (or your session changed). Go back, reload the page and try again.",
            ),
            PageError::Bad(msg) => error_page(StatusCode::BAD_REQUEST, "Something is wrong with this request", &msg),
            PageError::App(e) => match e.kind() {
                ErrorKind::Unauthorized => Redirect::to("/sign-in").into_response(),
                ErrorKind::NotFound => error_page(
                    StatusCode::NOT_FOUND,
                    "Page not found",
                    "There is nothing here, or it is outside what your role can see.",
                ),
                ErrorKind::Forbidden => error_page(StatusCode::FORBIDDEN, "Not allowed", &sentence(&e.message())),
                ErrorKind::Internal => {
                    tracing::error!(code = %e.code(), message = %e.message(), "page failed");
                    error_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Something went wrong on our side; nothing was changed. Try again in a moment.",
                    )
                }
                kind => {
                    let mut resp = error_page(status_of(kind), "This could not be done", &sentence(&e.message()));
                    crate::error::retry_after(&mut resp, &e);
                    resp
                }
            },
        }
    }
}

/// Messages of the use cases start in lower case; pages show sentences.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
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

/// Problems of a refused form, by field, to show next to the inputs.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub summary: Option<String>,
    fields: HashMap<String, String>,
}

impl FormErrors {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn from_app(e: &AppError) -> Self {
        let mut fields = HashMap::new();
        if let AppError::Invalid(problems) = e {
            for p in problems {
                fields.entry(p.field.to_string()).or_insert_with(|| sentence(&p.message));
            }
        }
        if let Some(f) = e.field() {
            fields.entry(f.into_owned()).or_insert_with(|| sentence(&e.message()));
        }
        Self {
            summary: Some(sentence(&e.message())),
            fields,
        }
    }

    /// One problem found while reading the form (before any use case).
    pub fn field(field: &str, message: &str) -> Self {
        let mut fields = HashMap::new();
        fields.insert(field.to_owned(), sentence(message));
        Self {
            summary: Some("Please correct the marked fields.".into()),
            fields,
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }
}

/// A refused form comes back with its problems; errors a form cannot
/// help with (gone, outside scope, signed out, our fault) become pages.
pub fn form_problem(e: AppError) -> Result<(StatusCode, FormErrors), PageError> {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Unauthorized | ErrorKind::Internal => Err(PageError::App(e)),
        kind => Ok((status_of(kind), FormErrors::from_app(&e))),
    }
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

/// An `<option>` of a picker.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// People as options, with `selected` marked; `keep` adds a current value
/// that is no longer offered (e.g. an inactive coordinator) so that it is
/// visible rather than silently dropped.
pub fn person_choices(people: &[app::ui_support::Person], selected: &[String], keep: Option<(&str, &str)>) -> Vec<Choice> {
    let mut out: Vec<Choice> = people
        .iter()
        .map(|p| {
            Choice::new(
                p.id.to_string(),
                format!("{} — {}", p.name, p.email),
                selected.iter().any(|s| s == p.id.as_str()),
            )
        })
        .collect();
    if let Some((id, label)) = keep {
        if !id.is_empty() && !out.iter().any(|c| c.value == id) {
            out.insert(0, Choice::new(id, label, true));
        }
    }
    out
}

/// Keeps chosen people a picker does not list (deactivated since, or
/// outside the search) as selected options, so that saving the form does
/// not silently drop them. `known` names them: only people the caller may
/// see (see `App::people_by_id`).
pub fn keep_chosen(choices: &mut Vec<Choice>, selected: &[String], known: &HashMap<domain::UserId, app::ui_support::Person>) {
    for id in selected.iter().filter(|s| !s.is_empty()) {
        if choices.iter().any(|c| &c.value == id) {
            continue;
        }
        if let Some(p) = known.get(&domain::UserId::from(id.as_str())) {
            let state = if p.active { "" } else { " (deactivated)" };
            choices.insert(0, Choice::new(id.clone(), format!("{} — {}{state}", p.name, p.email), true));
        }
    }
}

/// How many people one picker of a page lists; a search narrows them.
pub const PAGE_CHOICES: i64 = 200;

/// `?q=` of a page with pickers: narrows every picker on it, so that they
/// stay usable without JavaScript however many people there are.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PickerQuery {
    pub q: Option<String>,
}

/// The pickers of one page, filled by the picker use case (S14: the same
/// answer `GET /api/v1/people` gives), with the search box's state and
/// what a picker could not show: its error, never a silently empty list.
#[derive(Debug, Clone, Default)]
pub struct PeopleSearch {
    /// The page the search box submits to.
    pub action: String,
    pub q: String,
    /// Some picker holds only the first [`PAGE_CHOICES`] matches.
    pub more: bool,
    pub problems: Vec<String>,
    /// Other fields of the page's query the search keeps (name, value).
    pub hidden: Vec<(String, String)>,
}

impl PeopleSearch {
    pub fn new(action: impl Into<String>, q: &PickerQuery) -> Self {
        Self {
            action: action.into(),
            q: q.q.as_deref().unwrap_or("").trim().chars().take(100).collect(),
            ..Default::default()
        }
    }

    /// `?q=…` to keep the search on a form's action, or nothing.
    pub fn suffix(&self) -> String {
        if self.q.is_empty() {
            String::new()
        } else {
            format!("?q={}", url_encode(&self.q))
        }
    }

    fn query(&self, purpose: app::ui_support::Purpose) -> app::ui_support::PeopleQuery {
        app::ui_support::PeopleQuery {
            purpose,
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
            limit: PAGE_CHOICES,
        }
    }

    /// A picker the page cannot do without: any refusal is the page's answer
    /// (403, 404), as the API would give it.
    pub async fn require(
        &mut self,
        app: &App,
        ctx: &Ctx,
        purpose: app::ui_support::Purpose,
    ) -> Result<Vec<app::ui_support::Person>, PageError> {
        let picked = app.people(ctx, &self.query(purpose)).await?;
        self.more |= picked.more;
        Ok(picked.people)
    }

    /// A picker beside other content: a refusal is shown where its options
    /// would be and the rest of the page stays. `Err` only for errors no
    /// page can show (signed out, our fault).
    pub async fn offer(
        &mut self,
        app: &App,
        ctx: &Ctx,
        purpose: app::ui_support::Purpose,
    ) -> Result<Result<Vec<app::ui_support::Person>, AppError>, PageError> {
        match app.people(ctx, &self.query(purpose)).await {
            Ok(picked) => {
                self.more |= picked.more;
                Ok(Ok(picked.people))
            }
            Err(e) if matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Internal) => Err(PageError::App(e)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// [`PeopleSearch::offer`], with the refusal noted for the page.
    pub async fn offer_or_note(
        &mut self,
        app: &App,
        ctx: &Ctx,
        purpose: app::ui_support::Purpose,
    ) -> Result<Vec<app::ui_support::Person>, PageError> {
        match self.offer(app, ctx, purpose).await? {
            Ok(people) => Ok(people),
            Err(e) => {
                let note = format!("People cannot be listed here: {}", sentence(&e.message()));
                if !self.problems.contains(&note) {
                    self.problems.push(note);
                }
                Ok(Vec::new())
            }
        }
    }
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
