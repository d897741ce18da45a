//! A matter's page: its participants, adding one (M1/N2) and removing one.

use super::state;
use crate::ui::auth::Empty;
use crate::ui::page::{
    matter_role_label, ok, person_choices, redirect_with, sentence, ticked, when, Area, Choice, Flash, Layout, PageError, PageResult,
    PeopleSearch, PickerQuery, Posted, Session,
};
use app::matters::NewParticipant;
use app::ui_support::{Person, Purpose};
use app::{App, AppError, ErrorKind, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use domain::{MatterId, MatterRole, UserId};
use serde::Deserialize;

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
            email: p.user.email.to_string(),
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
        layout: s.layout(m.name.to_string(), "matters"),
        id: m.id.to_string(),
        name: m.name.to_string(),
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
        can_manage_users: s.may(Area::Users),
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
    Posted(_): Posted<Empty>,
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
