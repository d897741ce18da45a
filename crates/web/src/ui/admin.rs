//! Company settings (Tracker Coordinator, Active Directory sync D6, password
//! policy S3, lockout S4, link lifetime N6) and the audit log with filters.

use super::page::page_number;
use super::page::{
    form_problem, given, keep_chosen, ok, person_choices, query, redirect_with, render, ticked, when, Choice, Flash, FormErrors, Layout,
    PageError, PageResult, Pager, PeopleSearch, PickerQuery, Posted, Session,
};
use super::profile::{action_label, summarize};
use app::audit::AuditFilter;
use app::settings::{SettingsPatch, SsoPatch};
use app::ui_support::Purpose;
use app::users::{StatusFilter, UserFilter};
use app::{App, Page};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use domain::audit::AuditAction;
use domain::model::{Lockout, Settings};
use domain::password::PasswordPolicy;
use domain::UserId;
use serde::Deserialize;
use store::{Org, SortKey};

/// The settings form, as text so that a mistyped number comes back as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    company_name: String,
    tracker_coordinator_id: Option<String>,
    active_directory_sync: Option<String>,
    #[serde(default)]
    min_length: String,
    #[serde(default)]
    min_classes: String,
    #[serde(default)]
    history: String,
    #[serde(default)]
    max_failures: String,
    #[serde(default)]
    window_minutes: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    inactivity_days: String,
    #[serde(default)]
    link_ttl_hours: String,
    #[serde(default)]
    idle_minutes: String,
    #[serde(default)]
    lifetime_hours: String,
    #[serde(default)]
    offboarding_reminder_days: String,
    /// SSO1: an empty issuer turns single sign-on off; an empty secret
    /// keeps the stored one (it is never sent to the page).
    #[serde(default)]
    sso_issuer: String,
    #[serde(default)]
    sso_client_id: String,
    #[serde(default)]
    sso_client_secret: String,
    sso_only: Option<String>,
}

impl SettingsForm {
    fn of(s: &Settings) -> Self {
        Self {
            company_name: s.company_name.to_string(),
            tracker_coordinator_id: s.tracker_coordinator_id.as_ref().map(|u| u.to_string()),
            active_directory_sync: s.active_directory_sync.then(|| "1".into()),
            min_length: s.password_policy.min_length.to_string(),
            min_classes: s.password_policy.min_classes.to_string(),
            history: s.password_policy.history.to_string(),
            max_failures: s.lockout.max_failures.to_string(),
            window_minutes: s.lockout.window_minutes.to_string(),
            duration_minutes: s.lockout.duration_minutes.to_string(),
            inactivity_days: s.lockout.inactivity_days.to_string(),
            link_ttl_hours: s.link_ttl_hours.to_string(),
            idle_minutes: s.sessions.idle_minutes.to_string(),
            lifetime_hours: s.sessions.lifetime_hours.to_string(),
            offboarding_reminder_days: s.offboarding_reminder_days.to_string(),
            sso_issuer: s.sso.as_ref().map(|x| x.issuer.clone()).unwrap_or_default(),
            sso_client_id: s.sso.as_ref().map(|x| x.client_id.clone()).unwrap_or_default(),
            sso_client_secret: String::new(),
            sso_only: s.sso.as_ref().and_then(|x| x.only_sso_for_company_users.then(|| "1".into())),
        }
    }

    /// Reads the numbers; a field that is not a whole number is reported
    /// under the name the use case uses for it.
    fn patch(&self) -> Result<SettingsPatch, FormErrors> {
        let num = |v: &str, field: &str| {
            v.trim().parse::<i64>().map_err(|_| {
                FormErrors::field(
                    field,
                    &format!(
                        "{}: enter a whole number",
                        field.rsplit('.').next().unwrap_or(field).replace('_', " ")
                    ),
                )
            })
        };
        Ok(SettingsPatch {
            company_name: Some(self.company_name.clone()),
            active_directory_sync: Some(ticked(&self.active_directory_sync)),
            tracker_coordinator_id: Some(given(&self.tracker_coordinator_id)),
            password_policy: Some(PasswordPolicy {
                min_length: num(&self.min_length, "password_policy.min_length")?,
                min_classes: num(&self.min_classes, "password_policy.min_classes")?,
                history: num(&self.history, "password_policy.history")?,
            }),
            lockout: Some(Lockout {
                max_failures: num(&self.max_failures, "lockout.max_failures")?,
                window_minutes: num(&self.window_minutes, "lockout.window_minutes")?,
                duration_minutes: num(&self.duration_minutes, "lockout.duration_minutes")?,
                inactivity_days: num(&self.inactivity_days, "lockout.inactivity_days")?,
            }),
            link_ttl_hours: Some(num(&self.link_ttl_hours, "link_ttl_hours")?),
            session_idle_minutes: Some(num(&self.idle_minutes, "sessions.idle_minutes")?),
            session_lifetime_hours: Some(num(&self.lifetime_hours, "sessions.lifetime_hours")?),
            // Left out of the form: unchanged.
            offboarding_reminder_days: match self.offboarding_reminder_days.trim() {
                "" => None,
                v => Some(num(v, "offboarding_reminder_days")?),
            },
            // On the Directory page.
            directory_group_roles: None,
            sso: Some(match (self.sso_issuer.trim(), self.sso_client_id.trim()) {
                ("", "") => None,
                (issuer, client_id) => Some(SsoPatch {
                    issuer: Some(issuer.to_owned()),
                    client_id: Some(client_id.to_owned()),
                    client_secret: Some(self.sso_client_secret.clone()).filter(|x| !x.is_empty()),
                    only_sso_for_company_users: Some(ticked(&self.sso_only)),
                }),
            }),
        })
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    f: SettingsForm,
    ad_sync: bool,
    coordinators: Vec<Choice>,
    sso_only: bool,
    /// SSO1: what to register at the identity provider.
    sso_redirect_uri: String,
    sso_secret_set: bool,
}

/// Also the page of a refused form: the picker is authorized like the
/// settings (company system administrators), so nobody else sees it.
async fn settings_page(app: &App, s: &Session, f: SettingsForm, errors: FormErrors, q: &PickerQuery) -> Result<SettingsPage, PageError> {
    let mut search = PeopleSearch::new("/settings", q);
    let people = search.require(app, &s.ctx, Purpose::TrackerCoordinator).await?;
    let current = f.tracker_coordinator_id.clone().unwrap_or_default();
    let known = if current.is_empty() {
        Default::default()
    } else {
        app.people_by_id(&s.ctx, &[UserId::from(current.as_str())]).await?
    };
    let mut coordinators = person_choices(&people, std::slice::from_ref(&current), None);
    keep_chosen(&mut coordinators, &[current], &known);
    Ok(SettingsPage {
        layout: s.layout("Settings", "settings"),
        search,
        errors,
        ad_sync: ticked(&f.active_directory_sync),
        sso_only: ticked(&f.sso_only),
        sso_redirect_uri: app.sso_redirect_uri(),
        sso_secret_set: app.sso_configured().await?.is_some(),
        f,
        coordinators,
    })
}

pub async fn settings(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>) -> PageResult {
    let current = app.settings(&s.ctx).await?;
    Ok(ok(
        &settings_page(&app, &s, SettingsForm::of(&current), FormErrors::none(), &q).await?
    ))
}

pub async fn save_settings(
    State(app): State<App>,
    s: Session,
    Query(q): Query<PickerQuery>,
    Posted(f): Posted<SettingsForm>,
) -> PageResult {
    let patch = match f.patch() {
        Ok(p) => p,
        Err(errors) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &settings_page(&app, &s, f, errors, &q).await?,
            ))
        }
    };
    match app.update_settings(&s.ctx, patch).await {
        Ok(_) => Ok(redirect_with("/settings", &[Flash::ok("The settings are saved.")])),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &settings_page(&app, &s, f, errors, &q).await?))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    actor: Option<String>,
    target: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub actor_href: String,
    pub action: String,
    pub target: String,
    pub target_href: String,
    pub target_filter: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    actors: Vec<Choice>,
    actions: Vec<Choice>,
    target: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    pager: Pager,
    problem: Option<String>,
    /// A1: the chain head, an anchor to write down.
    head_seq: i64,
    head_hash: String,
    /// A2: these entries, as CSV.
    csv_href: String,
}

/// Milliseconds as the API's RFC 3339 time.
fn rfc3339(ms: i64) -> String {
    crate::types::ts(ms)
}

/// `YYYY-MM-DD` as the start of that day (UTC), in milliseconds.
fn day_start(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &fmt)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
}

pub async fn audit(State(app): State<App>, s: Session, Query(q): Query<AuditQuery>) -> PageResult {
    let page = page_number(&q.page);
    let actor = given(&q.actor);
    let target = given(&q.target);
    let action = given(&q.action).filter(|a| AuditAction::parse(a).is_some());
    let from_text = q.from.clone().unwrap_or_default();
    let to_text = q.to.clone().unwrap_or_default();
    let mut problem = None;
    let from = given(&q.from).and_then(|f| {
        day_start(&f).or_else(|| {
            problem = Some("The From date is not a date.".to_owned());
            None
        })
    });
    // "To" includes the whole day.
    let to = given(&q.to).and_then(|t| {
        day_start(&t).map(|d| d + 86_400_000).or_else(|| {
            problem = Some("The To date is not a date.".to_owned());
            None
        })
    });
    let target_for_csv = target.clone().unwrap_or_default();
    let filter = AuditFilter {
        actor_id: actor.clone(),
        target_id: target.clone(),
        action: action.clone(),
        from,
        to,
    };
    let l = app.audit_log(&s.ctx, filter, Page { page, per_page: 50 }).await?;
    let (head_seq, head_hash) = app.audit_head(&s.ctx).await?;
    let admins = app
        .list_users(
            &s.ctx,
            UserFilter {
                org: Org::All,
                status: StatusFilter::All,
                q: None,
                sort: SortKey::Name,
                descending: false,
                cursor: None,
            },
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await?;
    let actor_sel = actor.clone().unwrap_or_default();
    let actors = admins
        .items
        .iter()
        .map(|u| {
            Choice::new(
                u.id.to_string(),
                format!("{} — {}", u.full_name(), u.email),
                u.id.as_str() == actor_sel,
            )
        })
        .collect();
    let action_sel = action.clone().unwrap_or_default();
    let actions = AuditAction::ALL
        .iter()
        .map(|a| Choice::new(a.as_str(), a.label(), a.as_str() == action_sel))
        .collect();
    let base = query(&[
        ("actor", &actor_sel),
        ("target", target.as_deref().unwrap_or("")),
        ("action", &action_sel),
        ("from", &from_text),
        ("to", &to_text),
    ]);
    let rows = l
        .items
        .iter()
        .map(|r| {
            let tid = r.target_id.clone().unwrap_or_default();
            let target_href = match (r.target_kind.as_str(), tid.is_empty()) {
                (_, true) => String::new(),
                ("user", _) => format!("/users/{tid}"),
                ("matter", _) => format!("/matters/{tid}"),
                ("office", _) => format!("/offices/{tid}"),
                ("route", _) => format!("/approval-routes/{tid}"),
                _ => String::new(),
            };
            AuditRow {
                at: when(Some(r.at)),
                actor: r.actor_label.clone(),
                actor_href: r
                    .actor_id
                    .as_ref()
                    .map(|a| format!("/audit?{}", query(&[("actor", a)])))
                    .unwrap_or_default(),
                action: action_label(&r.action),
                target: r.target_kind.clone(),
                target_filter: if tid.is_empty() {
                    String::new()
                } else {
                    format!("/audit?{}", query(&[("target", &tid)]))
                },
                target_href,
                detail: summarize(r.before_json.as_deref(), r.after_json.as_deref()),
                ip: r.source_ip.clone().unwrap_or_default(),
            }
        })
        .collect();
    let out = AuditPage {
        layout: s.layout("Audit log", "audit"),
        actors,
        actions,
        target: target.unwrap_or_default(),
        from: from_text,
        to: to_text,
        rows,
        pager: Pager::new(page, 50, l.total, base),
        problem,
        head_seq,
        head_hash,
        csv_href: format!(
            "/api/v1/audit.csv?{}",
            query(&[
                ("actor_id", &actor_sel),
                ("target_id", target_for_csv.as_str()),
                ("action", &action_sel),
                ("from", &from.map(rfc3339).unwrap_or_default()),
                ("to", &to.map(rfc3339).unwrap_or_default()),
            ])
        ),
    };
    Ok(ok(&out))
}
