//! The User Administrative Profile: the fields, the *Active* checkbox
//! (D1–D8, R1), *Save & close*, and its ⋯ menu: *Reset password* after a
//! confirmation (N5), *Send new user email* (N4), *Unlock* (S4), *View
//! history* (R3) and the deactivation check (D5).

use super::blockers::Blockers;
use super::page::{
    form_problem, given, ok, page_number, redirect_with, render, role_label, sentence, ticked, when, Choice, Flash, FormErrors, Layout,
    OrgPicker, PageError, PageParam, PageResult, Pager, Posted, Session,
};
use super::users::{email_title, PersonFields};
use app::users::{UserDetails, UserPatch};
use app::{App, AppError, ErrorKind, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::{Role, Side, UserId};
use serde::Deserialize;
use serde_json::Value;

/// The profile form's values, kept when it comes back refused.
#[derive(Deserialize, Default, Clone)]
pub struct ProfileForm {
    #[serde(flatten)]
    person: PersonFields,
    office_id: Option<String>,
    /// The office picker was on the form (absent for roles that cannot list offices).
    office_shown: Option<String>,
    active: Option<String>,
    /// The *Active* checkbox was on the form (absent when the directory owns it).
    active_shown: Option<String>,
}

impl ProfileForm {
    fn of(d: &UserDetails) -> Self {
        let u = &d.user;
        Self {
            person: PersonFields {
                first_name: u.first_name.to_string(),
                last_name: u.last_name.to_string(),
                email: u.email.to_string(),
                role: u.role.as_str().into(),
            },
            office_id: u.office_id.as_ref().map(|o| o.to_string()),
            office_shown: None,
            active: u.active.then(|| "1".into()),
            active_shown: None,
        }
    }
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "users/profile.html")]
struct ProfilePage {
    layout: Layout,
    errors: FormErrors,
    id: String,
    heading: String,
    f: ProfileForm,
    active_checked: bool,
    /// D6/DIR3: the Active box is the directory's.
    lifecycle_in_directory: bool,
    is_self: bool,
    is_active: bool,
    locked: bool,
    roles: Vec<Choice>,
    offices: OrgPicker,
    facts: Vec<Fact>,
    email_status: &'static str,
    email_title: String,
    blockers: Blockers,
    blockers_title: String,
    blockers_intro: String,
}

async fn profile_page(
    app: &App,
    s: &Session,
    d: &UserDetails,
    f: ProfileForm,
    errors: FormErrors,
    blockers: Blockers,
) -> Result<ProfilePage, PageError> {
    let u = &d.user;
    let now = app.now();
    let office_sel = f.office_id.clone().unwrap_or_default();
    let mut offices = OrgPicker::offices(app, s, &office_sel).await?;
    // The user's office stays visible even when the list no longer has it.
    if let Some(o) = &d.office {
        if offices.problem.is_none() && !offices.choices.iter().any(|c| c.value == o.id.as_str()) {
            offices
                .choices
                .insert(0, Choice::new(o.id.to_string(), o.name.to_string(), office_sel == o.id.as_str()));
        }
    }
    let roles = Role::ALL
        .iter()
        .filter(|r| r.side() == u.side)
        .map(|r| Choice::new(r.as_str(), role_label(*r), r.as_str() == f.person.role))
        .collect();
    let n = &u.new_user_email;
    let mut facts = vec![
        Fact {
            label: "Organisation",
            value: if u.side == Side::Firm {
                d.firm
                    .as_ref()
                    .map(|f| format!("Firm: {}", f.name))
                    .unwrap_or_else(|| "Firm".into())
            } else {
                "Company".into()
            },
        },
        Fact {
            label: "Account",
            value: if u.activated_at.is_some() {
                format!("Activated {}", when(u.activated_at))
            } else {
                "Never activated".into()
            },
        },
        Fact {
            label: "Last sign-in",
            value: if u.last_sign_in_at.is_some() {
                when(u.last_sign_in_at)
            } else {
                "Never".into()
            },
        },
        Fact {
            label: "New user email",
            value: match n.sent_at {
                Some(_) => format!("Sent {} ({}×)", when(n.sent_at), n.send_count),
                None => "Never sent".into(),
            },
        },
        Fact {
            label: "Created",
            value: when(Some(u.created_at)),
        },
    ];
    if let Some(at) = u.deactivated_at {
        facts.push(Fact {
            label: "Deactivated",
            value: when(Some(at)),
        });
    }
    // O3: a scheduled deactivation shows as the leaving date.
    if let Ok(dates) = app.leaving_dates(&s.ctx, std::slice::from_ref(&u.id)).await {
        if let Some(at) = dates.get(&u.id) {
            facts.push(Fact {
                label: "Leaves on",
                value: when(Some(*at)),
            });
        }
    }
    if u.is_locked(now) {
        facts.push(Fact {
            label: "Locked out until",
            value: when(u.locked_until),
        });
    }
    let n_blockers = blockers.items.len();
    Ok(ProfilePage {
        layout: s.layout(format!("{} — User Administrative Profile", u.full_name()), "users"),
        errors,
        id: u.id.to_string(),
        heading: u.full_name(),
        active_checked: ticked(&f.active),
        f,
        lifecycle_in_directory: d.directory_owns_lifecycle,
        is_self: u.id == s.user.id,
        is_active: u.active,
        locked: u.is_locked(now),
        roles,
        offices,
        facts,
        email_status: n.status.as_str(),
        email_title: email_title(u),
        blockers,
        blockers_title: format!("{} cannot be deactivated yet", u.full_name()),
        blockers_intro: format!("Nothing was saved. Clear all {n_blockers} item(s) below, then clear Active and save again."),
    })
}

pub async fn show(State(app): State<App>, s: Session, Path(id): Path<String>) -> PageResult {
    let d = app.user_details(&s.ctx, &UserId::from(id)).await?;
    let f = ProfileForm::of(&d);
    Ok(ok(&profile_page(&app, &s, &d, f, FormErrors::none(), Blockers::default()).await?))
}

/// *Save & close*: names, email, role, office and *Active* in one use case
/// call. A refused deactivation comes back with every blocker (D5).
pub async fn save(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(f): Posted<ProfileForm>) -> PageResult {
    let id = UserId::from(id);
    let before = app.user_details(&s.ctx, &id).await?;
    let active = ticked(&f.active_shown).then(|| ticked(&f.active));
    let patch = UserPatch {
        active,
        first_name: Some(f.person.first_name.clone()),
        last_name: Some(f.person.last_name.clone()),
        email: Some(f.person.email.trim().to_owned()),
        role: Some(f.person.role.clone()).filter(|r| !r.is_empty()),
        office_id: ticked(&f.office_shown).then(|| given(&f.office_id)),
    };
    match app.update_user(&s.ctx, &id, patch).await {
        Ok(outcome) => {
            let name = format!("{} {}", f.person.first_name.trim(), f.person.last_name.trim());
            let mut flash = vec![match active {
                Some(false) if before.user.active => Flash::ok(format!(
                    "{name} is deactivated: they can no longer sign in, and stay listed as User Deactivated on their matters."
                )),
                Some(true) if !before.user.active => {
                    Flash::ok(format!("{name} is active again and has back the access and delegations they had."))
                }
                _ => Flash::ok(format!("Changes to {name} are saved.")),
            }];
            for w in &outcome.warnings {
                let b = Blockers::from_domain(id.as_str(), std::slice::from_ref(w));
                if let Some(v) = b.items.first() {
                    flash.push(Flash::warn(format!("Note — {}: {}. {}", v.kind, v.what, v.fix)));
                }
            }
            Ok(redirect_with("/users", &flash))
        }
        Err(AppError::DeactivationBlocked { blockers, .. }) => {
            let blockers = Blockers::from_domain(id.as_str(), &blockers);
            Ok(render(
                StatusCode::CONFLICT,
                &profile_page(&app, &s, &before, f, FormErrors::none(), blockers).await?,
            ))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(
                status,
                &profile_page(&app, &s, &before, f, errors, Blockers::default()).await?,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "users/reset.html")]
struct ResetPage {
    layout: Layout,
    id: String,
    name: String,
    email: String,
}

/// N5's confirmation step.
pub async fn reset_page(State(app): State<App>, s: Session, Path(id): Path<String>) -> PageResult {
    let d = app.user_details(&s.ctx, &UserId::from(id)).await?;
    let page = ResetPage {
        layout: s.layout("Reset password", "users"),
        id: d.user.id.to_string(),
        name: d.user.full_name(),
        email: d.user.email.to_string(),
    };
    Ok(ok(&page))
}

/// An action's refusal becomes a notice on the profile; what a notice
/// cannot help with becomes a page.
fn refused(id: &str, e: AppError) -> PageResult {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Unauthorized | ErrorKind::Internal => Err(PageError::App(e)),
        _ => Ok(redirect_with(&format!("/users/{id}"), &[Flash::error(sentence(&e.message()))])),
    }
}

pub async fn reset(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(_): Posted<super::auth::Empty>) -> PageResult {
    match app.reset_password(&s.ctx, &UserId::from(id.as_str())).await {
        Ok(u) => Ok(redirect_with(
            &format!("/users/{id}"),
            &[Flash::ok(format!("{}'s password is reset. Their old password, earlier links and sessions no longer work; a new sign-in link is on its way to {}.", u.full_name(), u.email))],
        )),
        Err(e) => refused(&id, e),
    }
}

/// N4: the new user email to this one user.
pub async fn send_email(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(_): Posted<super::auth::Empty>) -> PageResult {
    match app.send_new_user_email(&s.ctx, &UserId::from(id.as_str())).await {
        Ok(u) => Ok(redirect_with(
            &format!("/users/{id}"),
            &[Flash::ok(format!("The new user email is on its way to {}.", u.email))],
        )),
        Err(e) => refused(&id, e),
    }
}

/// S4: ends a lockout.
pub async fn unlock(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(_): Posted<super::auth::Empty>) -> PageResult {
    match app.unlock_user(&s.ctx, &UserId::from(id.as_str())).await {
        Ok(u) => Ok(redirect_with(
            &format!("/users/{id}"),
            &[Flash::ok(format!("{} is unlocked and can sign in again.", u.full_name()))],
        )),
        Err(e) => refused(&id, e),
    }
}

pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "users/history.html")]
struct HistoryPage {
    layout: Layout,
    id: String,
    name: String,
    rows: Vec<HistoryRow>,
    pager: Pager,
}

/// Audit actions as a person reads them; a code this build does not know
/// (written by a newer version) is shown as its words.
pub fn action_label(action: &str) -> String {
    match domain::audit::AuditAction::parse(action) {
        Some(a) => a.label().to_owned(),
        None => sentence(&action.replace(['.', '_'], " ")).trim_end_matches('.').to_owned(),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// What changed, from an audit entry's before and after snapshots.
pub fn summarize(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    let (b, a) = (parse(before), parse(after));
    // Some entries nest the user's snapshot under "user".
    let flat = |v: Option<Value>| match v {
        Some(Value::Object(mut m)) => {
            if let Some(Value::Object(inner)) = m.remove("user") {
                for (k, v) in inner {
                    m.entry(k).or_insert(v);
                }
            }
            Some(m)
        }
        _ => None,
    };
    let (b, a) = (flat(b), flat(a));
    let mut parts = Vec::new();
    match (&b, &a) {
        (Some(b), Some(a)) => {
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) if bv != av => parts.push(format!("{}: {} → {}", k.replace('_', " "), short(bv), short(av))),
                    None if !matches!(av, Value::Null) => parts.push(format!("{}: {}", k.replace('_', " "), short(av))),
                    _ => {}
                }
            }
        }
        (None, Some(a)) | (Some(a), None) => {
            for (k, v) in a.iter().take(6) {
                if !matches!(v, Value::Null | Value::Object(_) | Value::Array(_)) {
                    parts.push(format!("{}: {}", k.replace('_', " "), short(v)));
                }
            }
        }
        (None, None) => {}
    }
    parts.join("; ")
}

/// R3: every administrative change and sign-in of the user.
pub async fn history(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PageParam>) -> PageResult {
    let uid = UserId::from(id);
    let d = app.user_details(&s.ctx, &uid).await?;
    let page = page_number(&q.page);
    let l = app.user_history(&s.ctx, &uid, Page { page, per_page: 50 }).await?;
    let rows = l
        .items
        .iter()
        .map(|r| HistoryRow {
            at: when(Some(r.at)),
            actor: r.actor_label.clone(),
            action: action_label(&r.action),
            detail: summarize(r.before_json.as_deref(), r.after_json.as_deref()),
            ip: r.source_ip.clone().unwrap_or_default(),
        })
        .collect();
    let out = HistoryPage {
        layout: s.layout(format!("History of {}", d.user.full_name()), "users"),
        id: uid.to_string(),
        name: d.user.full_name(),
        rows,
        pager: Pager::new(page, 50, l.total, String::new()),
    };
    Ok(ok(&out))
}

#[derive(Template)]
#[template(path = "users/check.html")]
struct CheckPage {
    layout: Layout,
    id: String,
    name: String,
    can_deactivate: bool,
    /// D6/DIR3: the Active box is the directory's.
    lifecycle_in_directory: bool,
    blockers: Blockers,
    blockers_title: String,
    blockers_intro: String,
    warnings: Blockers,
}

/// D5 beforehand: the same list a refused deactivation shows.
pub async fn check(State(app): State<App>, s: Session, Path(id): Path<String>) -> PageResult {
    let uid = UserId::from(id);
    let d = app.user_details(&s.ctx, &uid).await?;
    let c = app.deactivation_check(&s.ctx, &uid).await?;
    let blockers = Blockers::from_domain(uid.as_str(), &c.blockers);
    let page = CheckPage {
        layout: s.layout("Deactivation check", "users"),
        id: uid.to_string(),
        name: d.user.full_name(),
        can_deactivate: c.can_deactivate,
        lifecycle_in_directory: c.directory_owns_lifecycle,
        blockers_title: format!("{} cannot be deactivated yet", d.user.full_name()),
        blockers_intro: format!("Clear all {} item(s) below first.", blockers.items.len()),
        blockers,
        warnings: Blockers::from_domain(uid.as_str(), &c.warnings),
    };
    Ok(ok(&page))
}
