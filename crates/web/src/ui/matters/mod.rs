//! Matters: the list, and creating and editing one (here); a matter's page
//! with its participants (`participants`: a deactivated one shows *User
//! Deactivated*, D2); and D9's bulk update of the lead company person
//! (`bulk`).

mod bulk;
mod participants;

pub use bulk::{bulk, bulk_page};
pub use participants::{add_participant, remove_participant, show};

use crate::ui::page::{
    form_problem, given, ok, page_number, person_choices, redirect_with, render, ticked, Area, Choice, Flash, FormErrors, Layout,
    PageError, PageParam, PageResult, Pager, PeopleSearch, PickerQuery, Posted, Session,
};
use app::matters::MatterInput;
use app::ui_support::{Person, Purpose};
use app::{App, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use domain::model::Matter;
use domain::MatterId;
use serde::Deserialize;
use std::collections::HashMap;

const PER_PAGE: i64 = 50;

pub struct MatterRow {
    pub id: String,
    pub name: String,
    pub number: String,
    pub lead: String,
    pub lead_inactive: bool,
    pub state: &'static str,
    pub open: bool,
}

fn state(m: &Matter) -> &'static str {
    match (m.open_for_editing, m.open_for_invoicing) {
        (true, true) => "Open",
        (true, false) => "Open for editing only",
        (false, true) => "Open for invoicing only",
        (false, false) => "Closed",
    }
}

#[derive(Template)]
#[template(path = "matters/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<MatterRow>,
    pager: Pager,
    can_create: bool,
}

/// The leads of matters the caller can see (S14: only those).
async fn leads(app: &App, s: &Session, ids: Vec<MatterId>) -> Result<HashMap<MatterId, Person>, PageError> {
    Ok(app.matter_leads(&s.ctx, &ids).await?)
}

pub async fn list(State(app): State<App>, s: Session, Query(q): Query<PageParam>) -> PageResult {
    let page = page_number(&q.page);
    let l = app.list_matters(&s.ctx, Page { page, per_page: PER_PAGE }).await?;
    let people = leads(&app, &s, l.items.iter().map(|m| m.id.clone()).collect()).await?;
    let rows = l
        .items
        .iter()
        .map(|m| {
            let lead = people.get(&m.id);
            MatterRow {
                id: m.id.to_string(),
                name: m.name.to_string(),
                number: m.number.clone(),
                lead: lead.map(|p| p.name.clone()).unwrap_or_default(),
                lead_inactive: lead.is_some_and(|p| !p.active),
                state: state(m),
                open: m.is_open(),
            }
        })
        .collect();
    let out = ListPage {
        layout: s.layout("Matters", "matters"),
        rows,
        pager: Pager::new(page, PER_PAGE, l.total, String::new()),
        can_create: s.may(Area::NewMatter),
    };
    Ok(ok(&out))
}

/// The matter form's values, kept when it comes back refused.
#[derive(Deserialize, Default, Clone)]
pub struct MatterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    lead_company_person_id: String,
    open_for_editing: Option<String>,
    open_for_invoicing: Option<String>,
}

#[derive(Template)]
#[template(path = "matters/form.html")]
struct FormPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    /// `None` while creating.
    id: Option<String>,
    f: MatterForm,
    leads: Vec<Choice>,
    editing: bool,
    invoicing: bool,
}

/// The matter form. Creating needs the lead picker (who may create
/// matters); editing was authorized by the caller, and a lead picker the
/// caller may not use (firm users) says so and keeps the current lead.
async fn form_page(
    app: &App,
    s: &Session,
    id: Option<String>,
    f: MatterForm,
    errors: FormErrors,
    current_lead: Option<&Person>,
    q: &PickerQuery,
) -> Result<FormPage, PageError> {
    let action = match &id {
        Some(i) => format!("/matters/{i}/edit"),
        None => "/matters/new".to_owned(),
    };
    let mut search = PeopleSearch::new(action, q);
    let people = match &id {
        None => search.require(app, &s.ctx, Purpose::Lead(None)).await?,
        Some(i) => {
            search
                .offer_or_note(app, &s.ctx, Purpose::Lead(Some(MatterId::from(i.as_str()))))
                .await?
        }
    };
    let keep = current_lead.map(|p| {
        let label = if p.active {
            format!("{} — {}", p.name, p.email)
        } else {
            format!("{} — {} (deactivated)", p.name, p.email)
        };
        (p.id.as_str().to_owned(), label)
    });
    let leads = person_choices(
        &people,
        std::slice::from_ref(&f.lead_company_person_id),
        keep.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    let title = if id.is_some() {
        format!("Edit {}", f.name)
    } else {
        "New matter".to_owned()
    };
    Ok(FormPage {
        layout: s.layout(title, "matters"),
        search,
        errors,
        id,
        editing: ticked(&f.open_for_editing),
        invoicing: ticked(&f.open_for_invoicing),
        f,
        leads,
    })
}

pub async fn new_page(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>) -> PageResult {
    let f = MatterForm {
        open_for_editing: Some("1".into()),
        open_for_invoicing: Some("1".into()),
        ..Default::default()
    };
    Ok(ok(&form_page(&app, &s, None, f, FormErrors::none(), None, &q).await?))
}

fn input(f: &MatterForm) -> MatterInput {
    MatterInput {
        name: Some(f.name.clone()),
        number: Some(f.number.clone()),
        lead_company_person_id: given(&Some(f.lead_company_person_id.clone())),
        open_for_editing: Some(ticked(&f.open_for_editing)),
        open_for_invoicing: Some(ticked(&f.open_for_invoicing)),
    }
}

pub async fn create(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, Posted(f): Posted<MatterForm>) -> PageResult {
    match app.create_matter(&s.ctx, input(&f)).await {
        Ok(m) => Ok(redirect_with(
            &format!("/matters/{}", m.id),
            &[Flash::ok(format!("Matter {} ({}) is created.", m.name, m.number))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &form_page(&app, &s, None, f, errors, None, &q).await?))
        }
    }
}

/// Only for who may edit the matter: 404 outside their reach, 403 for a
/// participant who does not administer it (as `PATCH /matters/{id}`).
pub async fn edit_page(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PickerQuery>) -> PageResult {
    let m = app.matter_to_edit(&s.ctx, &MatterId::from(id)).await?;
    let lead = leads(&app, &s, vec![m.id.clone()]).await?.remove(&m.id);
    let f = MatterForm {
        name: m.name.to_string(),
        number: m.number.clone(),
        lead_company_person_id: m.lead_company_person_id.to_string(),
        open_for_editing: m.open_for_editing.then(|| "1".into()),
        open_for_invoicing: m.open_for_invoicing.then(|| "1".into()),
    };
    Ok(ok(&form_page(
        &app,
        &s,
        Some(m.id.to_string()),
        f,
        FormErrors::none(),
        lead.as_ref(),
        &q,
    )
    .await?))
}

/// Closing a matter notifies its participants (M2); the lead must be an
/// active company user (D2). The use case decides both.
pub async fn save(
    State(app): State<App>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<PickerQuery>,
    Posted(f): Posted<MatterForm>,
) -> PageResult {
    let mid = MatterId::from(id.as_str());
    let m = app.matter_to_edit(&s.ctx, &mid).await?;
    let mut patch = input(&f);
    // An unchanged lead is not re-checked: a matter led by someone since
    // deactivated can still be closed.
    if patch.lead_company_person_id.as_deref() == Some(m.lead_company_person_id.as_str()) {
        patch.lead_company_person_id = None;
    }
    match app.update_matter(&s.ctx, &mid, patch).await {
        Ok(m) => Ok(redirect_with(
            &format!("/matters/{id}"),
            &[Flash::ok(format!("Matter {} ({}) is saved.", m.name, m.number))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            let lead = leads(&app, &s, vec![m.id.clone()]).await?.remove(&m.id);
            Ok(render(status, &form_page(&app, &s, Some(id), f, errors, lead.as_ref(), &q).await?))
        }
    }
}
