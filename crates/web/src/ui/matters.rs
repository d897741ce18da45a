//! Matters: the list, creating and editing one, its participants (a
//! deactivated one shows *User Deactivated*, D2), and D9's bulk update of
//! the lead company person.

use super::page::{
    form_problem, given, matter_role_label, ok, person_choices, redirect_with, render, sentence, ticked, when, Choice, Flash, FormErrors,
    Layout, PageError, PageResult, Pager, PeopleSearch, PickerQuery, Posted, Session,
};
use super::profile::{page_number, PageParam};
use app::matters::{MatterInput, NewParticipant};
use app::ui_support::{Person, Purpose};
use app::{App, AppError, ErrorKind, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use domain::model::Matter;
use domain::{MatterId, MatterRole, UserId};
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
                name: m.name.clone(),
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
        can_create: s.user.role.may_create_matters(),
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
        name: m.name.clone(),
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

pub struct ParticipantRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub side: &'static str,
    pub role: &'static str,
    pub notified: bool,
    pub deactivated: bool,
    pub is_lead: bool,
    pub added: String,
}

#[derive(Template)]
#[template(path = "matters/show.html")]
struct ShowPage {
    layout: Layout,
    id: String,
    name: String,
    number: String,
    state: &'static str,
    lead: String,
    rows: Vec<ParticipantRow>,
    total: i64,
    /// The caller may change the matter and its participants.
    can_edit: bool,
    search: PeopleSearch,
    people: Vec<Choice>,
    roles: Vec<Choice>,
    can_manage_users: bool,
}

pub async fn show(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PickerQuery>) -> PageResult {
    let mid = MatterId::from(id);
    let m = app.matter(&s.ctx, &mid).await?;
    let l = app
        .participants(
            &s.ctx,
            &mid,
            Page {
                page: 1,
                per_page: Page::MAX_PER_PAGE,
            },
        )
        .await?;
    let rows: Vec<ParticipantRow> = l
        .items
        .iter()
        .map(|p| ParticipantRow {
            user_id: p.user.id.to_string(),
            name: p.user.full_name(),
            email: p.user.email.clone(),
            side: if p.user.side == domain::Side::Firm { "Firm" } else { "Company" },
            role: matter_role_label(p.participant.role),
            notified: p.participant.receives_notifications,
            deactivated: !p.user.active,
            is_lead: p.user.id == m.lead_company_person_id,
            added: when(Some(p.participant.added_at)),
        })
        .collect();
    let lead = rows.iter().find(|r| r.is_lead).map(|r| r.name.clone()).unwrap_or_default();
    let already: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    // The add-participant form is for who may add participants (S14): the
    // picker answers 403 to anyone else, and then there is no form.
    let mut search = PeopleSearch::new(format!("/matters/{}", m.id), &q);
    let (can_edit, everyone) = match search.offer(&app, &s.ctx, Purpose::Participant(m.id.clone())).await? {
        Ok(people) => (true, people),
        Err(e) if e.kind() == ErrorKind::Forbidden => (false, Vec::new()),
        Err(e) => {
            search
                .problems
                .push(format!("People cannot be listed here: {}", sentence(&e.message())));
            (true, Vec::new())
        }
    };
    let candidates: Vec<Person> = everyone.into_iter().filter(|p| !already.contains(&p.id.as_str())).collect();
    let page = ShowPage {
        layout: s.layout(m.name.clone(), "matters"),
        id: m.id.to_string(),
        name: m.name.clone(),
        number: m.number.clone(),
        state: state(&m),
        lead,
        rows,
        total: l.total,
        can_edit,
        search,
        people: person_choices(&candidates, &[], None),
        roles: MatterRole::ALL
            .iter()
            .map(|r| Choice::new(r.as_str(), matter_role_label(*r), *r == MatterRole::MatterReader))
            .collect(),
        can_manage_users: s.user.role.is_user_administrator(),
    };
    Ok(ok(&page))
}

#[derive(Deserialize)]
pub struct ParticipantForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
    receives_notifications: Option<String>,
}

/// A refusal on the matter page becomes a notice there.
fn refused_on(to: &str, e: AppError) -> PageResult {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Unauthorized | ErrorKind::Internal => Err(PageError::App(e)),
        _ => Ok(redirect_with(to, &[Flash::error(sentence(&e.message()))])),
    }
}

/// M1/N2: the added person is emailed by the use case.
pub async fn add_participant(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(f): Posted<ParticipantForm>) -> PageResult {
    let to = format!("/matters/{id}");
    if f.user_id.is_empty() {
        return Ok(redirect_with(&to, &[Flash::error("Choose the person to add.")]));
    }
    let input = NewParticipant {
        user_id: f.user_id,
        role: f.role,
        receives_notifications: ticked(&f.receives_notifications),
    };
    match app.add_participant(&s.ctx, &MatterId::from(id.as_str()), input).await {
        Ok(_) => Ok(redirect_with(
            &to,
            &[Flash::ok("The participant is added and will be emailed about the matter.")],
        )),
        Err(e) => refused_on(&to, e),
    }
}

pub async fn remove_participant(
    State(app): State<App>,
    s: Session,
    Path((id, user_id)): Path<(String, String)>,
    Posted(_): Posted<super::auth::Empty>,
) -> PageResult {
    let to = format!("/matters/{id}");
    match app
        .remove_participant(&s.ctx, &MatterId::from(id.as_str()), &UserId::from(user_id))
        .await
    {
        Ok(()) => Ok(redirect_with(&to, &[Flash::ok("The participant is removed from the matter.")])),
        Err(e) => refused_on(&to, e),
    }
}

#[derive(Deserialize, Default)]
pub struct BulkQuery {
    from: Option<String>,
    q: Option<String>,
}

pub struct LedRow {
    pub id: String,
    pub name: String,
    pub number: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "matters/bulk.html")]
struct BulkPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    from: String,
    from_name: String,
    from_inactive: bool,
    froms: Vec<Choice>,
    tos: Vec<Choice>,
    matters: Vec<LedRow>,
}

async fn bulk_form(
    app: &App,
    s: &Session,
    from: String,
    to: String,
    ticked_ids: Option<Vec<String>>,
    errors: FormErrors,
    q: &PickerQuery,
) -> Result<BulkPage, PageError> {
    // D9 is for company system administrators only, like the bulk update.
    app.require_bulk_update(&s.ctx)?;
    let mut search = PeopleSearch::new("/bulk-update/lead-company-person", q);
    if !from.is_empty() {
        search.hidden.push(("from".into(), from.clone()));
    }
    let people = search.require(app, &s.ctx, Purpose::Lead(None)).await?;
    let (mut from_name, mut from_inactive, mut matters) = (String::new(), false, Vec::new());
    let mut keep = None;
    if !from.is_empty() {
        let (who, led) = app.open_matters_led_by(&s.ctx, &UserId::from(from.as_str())).await?;
        from_name = who.name.clone();
        from_inactive = !who.active;
        keep = Some((who.id.to_string(), format!("{} — {} (deactivated)", who.name, who.email)));
        matters = led
            .into_iter()
            .map(|m| LedRow {
                checked: ticked_ids.as_ref().is_none_or(|ids| ids.contains(&m.id)),
                id: m.id,
                name: m.name,
                number: m.number,
            })
            .collect();
    }
    let froms = person_choices(
        &people,
        std::slice::from_ref(&from),
        keep.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    let others: Vec<Person> = people.into_iter().filter(|p| p.id.as_str() != from).collect();
    let tos = person_choices(&others, &[to], None);
    Ok(BulkPage {
        layout: s.layout("Bulk update of lead company person", "bulk"),
        search,
        errors,
        from,
        from_name,
        from_inactive,
        froms,
        tos,
        matters,
    })
}

/// D9's form, prefilled with `?from=<user id>` from a refused deactivation.
pub async fn bulk_page(State(app): State<App>, s: Session, Query(q): Query<BulkQuery>) -> PageResult {
    let search = PickerQuery { q: q.q };
    let from = q.from.unwrap_or_default();
    Ok(ok(
        &bulk_form(&app, &s, from, String::new(), None, FormErrors::none(), &search).await?
    ))
}

#[derive(Deserialize, Default)]
pub struct BulkForm {
    #[serde(default)]
    from_user_id: String,
    #[serde(default)]
    to_user_id: String,
    #[serde(default)]
    matter_ids: Vec<String>,
    /// How many matters the form listed: all ticked means "all of them",
    /// including any opened since the page was shown.
    listed: Option<String>,
}

pub async fn bulk(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, Posted(f): Posted<BulkForm>) -> PageResult {
    let listed: usize = f.listed.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
    let chosen = if listed > 0 && f.matter_ids.len() >= listed {
        None
    } else {
        Some(f.matter_ids.clone())
    };
    if f.to_user_id.is_empty() {
        let errors = FormErrors::field("to_user_id", "choose the new lead company person");
        return Ok(render(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            &bulk_form(&app, &s, f.from_user_id, f.to_user_id, Some(f.matter_ids), errors, &q).await?,
        ));
    }
    match app.bulk_update_lead(&s.ctx, &f.from_user_id, &f.to_user_id, chosen).await {
        Ok(r) => {
            let to = app.people_by_id(&s.ctx, &[UserId::from(f.to_user_id.as_str())]).await?;
            let to_name = to.values().next().map(|p| p.name.clone()).unwrap_or_default();
            let msg = format!("{} matter(s) now have {} as lead company person.", r.updated.len(), to_name);
            Ok(redirect_with(&format!("/users/{}", f.from_user_id), &[Flash::ok(msg)]))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(
                status,
                &bulk_form(&app, &s, f.from_user_id, f.to_user_id, Some(f.matter_ids), errors, &q).await?,
            ))
        }
    }
}
