//! Offices/regions with their coordinator and backup coordinator (D3), and
//! firms, created together with their Firm Administrator (N1 applies).

use super::page::{
    form_problem, given, ok, person_choices, redirect_with, render, ticked, Area, Choice, Flash, FormErrors, Layout, PageResult,
    PeopleSearch, PickerQuery, Posted, Session,
};
use app::firms::{NewFirm, NewFirmAdministrator};
use app::offices::OfficeInput;
use app::ui_support::{Person, Purpose};
use app::{App, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use domain::model::Office;
use domain::{OfficeId, UserId};
use serde::Deserialize;
use std::collections::HashMap;

pub struct OfficeRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub coordinator: String,
    pub backup: String,
}

#[derive(Template)]
#[template(path = "orgs/offices.html")]
struct OfficesPage {
    layout: Layout,
    rows: Vec<OfficeRow>,
    can_create: bool,
}

fn name_of(people: &HashMap<UserId, Person>, id: &Option<UserId>) -> String {
    match id.as_ref().and_then(|i| people.get(i)) {
        Some(p) if p.active => p.name.clone(),
        Some(p) => format!("{} (User Deactivated)", p.name),
        // Nobody, or someone outside the caller's scope (S14).
        None if id.is_some() => "Someone outside your scope".into(),
        None => "—".into(),
    }
}

pub async fn offices(State(app): State<App>, s: Session) -> PageResult {
    let l = app
        .list_offices(
            &s.ctx,
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await?;
    let ids: Vec<UserId> = l
        .items
        .iter()
        .flat_map(|o| [o.coordinator_id.clone(), o.backup_coordinator_id.clone()])
        .flatten()
        .collect();
    let people = app.people_by_id(&s.ctx, &ids).await?;
    let rows = l
        .items
        .iter()
        .map(|o| OfficeRow {
            id: o.id.to_string(),
            name: o.name.to_string(),
            active: o.active,
            coordinator: name_of(&people, &o.coordinator_id),
            backup: name_of(&people, &o.backup_coordinator_id),
        })
        .collect();
    Ok(ok(&OfficesPage {
        layout: s.layout("Offices", "offices"),
        rows,
        can_create: s.may(Area::NewOffice),
    }))
}

/// The office form's values, kept when it comes back refused.
#[derive(Deserialize, Default, Clone)]
pub struct OfficeForm {
    #[serde(default)]
    name: String,
    active: Option<String>,
    coordinator_id: Option<String>,
    backup_coordinator_id: Option<String>,
}

#[derive(Template)]
#[template(path = "orgs/office.html")]
struct OfficePage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    f: OfficeForm,
    active: bool,
    coordinators: Vec<Choice>,
    backups: Vec<Choice>,
}

async fn office_page(
    app: &App,
    s: &Session,
    id: Option<String>,
    f: OfficeForm,
    errors: FormErrors,
    current: Option<&Office>,
    q: &PickerQuery,
) -> Result<OfficePage, super::page::PageError> {
    // A new office needs the picker (company system administrators); an
    // office its administrator may view shows why it cannot be chosen.
    let action = match &id {
        Some(i) => format!("/offices/{i}"),
        None => "/offices/new".to_owned(),
    };
    let mut search = PeopleSearch::new(action, q);
    let people = if id.is_none() {
        search.require(app, &s.ctx, Purpose::Coordinator).await?
    } else {
        search.offer_or_note(app, &s.ctx, Purpose::Coordinator).await?
    };
    // Current holders who are no longer active stay visible in the pickers.
    let holders: Vec<UserId> = current
        .map(|o| {
            [o.coordinator_id.clone(), o.backup_coordinator_id.clone()]
                .into_iter()
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    let known = app.people_by_id(&s.ctx, &holders).await?;
    let keep = |id: &Option<UserId>| {
        id.as_ref().and_then(|i| known.get(i)).map(|p| {
            let state = if p.active { "" } else { " (deactivated)" };
            (p.id.to_string(), format!("{} — {}{state}", p.name, p.email))
        })
    };
    let kc = current.and_then(|o| keep(&o.coordinator_id));
    let kb = current.and_then(|o| keep(&o.backup_coordinator_id));
    let coordinators = person_choices(
        &people,
        &[f.coordinator_id.clone().unwrap_or_default()],
        kc.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    let backups = person_choices(
        &people,
        &[f.backup_coordinator_id.clone().unwrap_or_default()],
        kb.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    let title = if id.is_some() {
        format!("Office {}", f.name)
    } else {
        "New office".into()
    };
    Ok(OfficePage {
        layout: s.layout(title, "offices"),
        search,
        errors,
        active: ticked(&f.active),
        f,
        coordinators,
        backups,
    })
}

pub async fn new_office(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>) -> PageResult {
    let f = OfficeForm {
        active: Some("1".into()),
        ..Default::default()
    };
    Ok(ok(&office_page(&app, &s, None, f, FormErrors::none(), None, &q).await?))
}

fn office_input(f: &OfficeForm) -> OfficeInput {
    OfficeInput {
        name: Some(f.name.clone()),
        active: Some(ticked(&f.active)),
        coordinator_id: Some(given(&f.coordinator_id)),
        backup_coordinator_id: Some(given(&f.backup_coordinator_id)),
    }
}

pub async fn create_office(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, Posted(f): Posted<OfficeForm>) -> PageResult {
    match app.create_office(&s.ctx, office_input(&f)).await {
        Ok(o) => Ok(redirect_with("/offices", &[Flash::ok(format!("Office {} is created.", o.name))])),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &office_page(&app, &s, None, f, errors, None, &q).await?))
        }
    }
}

pub async fn office(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PickerQuery>) -> PageResult {
    let o = app.office(&s.ctx, &OfficeId::from(id)).await?;
    let f = OfficeForm {
        name: o.name.to_string(),
        active: o.active.then(|| "1".into()),
        coordinator_id: o.coordinator_id.as_ref().map(|u| u.to_string()),
        backup_coordinator_id: o.backup_coordinator_id.as_ref().map(|u| u.to_string()),
    };
    Ok(ok(&office_page(
        &app,
        &s,
        Some(o.id.to_string()),
        f,
        FormErrors::none(),
        Some(&o),
        &q,
    )
    .await?))
}

pub async fn save_office(
    State(app): State<App>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<PickerQuery>,
    Posted(f): Posted<OfficeForm>,
) -> PageResult {
    let oid = OfficeId::from(id.as_str());
    let current = app.office(&s.ctx, &oid).await?;
    match app.update_office(&s.ctx, &oid, office_input(&f)).await {
        Ok(o) => Ok(redirect_with("/offices", &[Flash::ok(format!("Office {} is saved.", o.name))])),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(
                status,
                &office_page(&app, &s, Some(id), f, errors, Some(&current), &q).await?,
            ))
        }
    }
}

pub struct FirmRow {
    pub id: String,
    pub name: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "orgs/firms.html")]
struct FirmsPage {
    layout: Layout,
    rows: Vec<FirmRow>,
    can_create: bool,
}

pub async fn firms(State(app): State<App>, s: Session) -> PageResult {
    let l = app
        .list_firms(
            &s.ctx,
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await?;
    let rows = l
        .items
        .iter()
        .map(|f| FirmRow {
            id: f.id.to_string(),
            name: f.name.to_string(),
            active: f.active,
        })
        .collect();
    Ok(ok(&FirmsPage {
        layout: s.layout("Firms", "firms"),
        rows,
        can_create: s.may(Area::NewFirm),
    }))
}

/// The new firm form's values, kept when it comes back refused.
#[derive(Deserialize, Default, Clone)]
pub struct FirmForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    admin_first_name: String,
    #[serde(default)]
    admin_last_name: String,
    #[serde(default)]
    admin_email: String,
    hold_new_user_email: Option<String>,
}

#[derive(Template)]
#[template(path = "orgs/new_firm.html")]
struct NewFirmPage {
    layout: Layout,
    errors: FormErrors,
    f: FirmForm,
    hold: bool,
}

pub async fn new_firm(s: Session) -> PageResult {
    Ok(ok(&NewFirmPage {
        layout: s.layout("New firm", "firms"),
        errors: FormErrors::none(),
        f: FirmForm::default(),
        hold: false,
    }))
}

pub async fn create_firm(State(app): State<App>, s: Session, Posted(f): Posted<FirmForm>) -> PageResult {
    let input = NewFirm {
        name: f.name.clone(),
        administrator: NewFirmAdministrator {
            email: f.admin_email.trim().to_owned(),
            first_name: f.admin_first_name.clone(),
            last_name: f.admin_last_name.clone(),
            hold_new_user_email: ticked(&f.hold_new_user_email),
        },
    };
    match app.create_firm(&s.ctx, input).await {
        Ok((firm, admin)) => {
            let mail = if ticked(&f.hold_new_user_email) {
                "Their new user email is held."
            } else {
                "Their new user email is on its way."
            };
            Ok(redirect_with(
                "/firms",
                &[Flash::ok(format!(
                    "Firm {} is created with {} as its Firm Administrator. {mail}",
                    firm.name,
                    admin.user.full_name()
                ))],
            ))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            let hold = ticked(&f.hold_new_user_email);
            Ok(render(
                status,
                &NewFirmPage {
                    layout: s.layout("New firm", "firms"),
                    errors,
                    f,
                    hold,
                },
            ))
        }
    }
}
