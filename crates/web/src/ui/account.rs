//! Account › Preferences: the signed-in person's own delegates, at most
//! five active people of their organisation (the use case checks it).

use super::page::{
    form_problem, keep_chosen, ok, person_choices, redirect_with, render, Choice, Flash, FormErrors, Layout, PageError, PageResult,
    PeopleSearch, PickerQuery, Posted, Session,
};
use app::delegates::MAX_DELEGATES;
use app::ui_support::{Person, Purpose};
use app::App;
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

pub struct Slot {
    pub number: usize,
    pub choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct PrefsPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    slots: Vec<Slot>,
    delegators: Vec<String>,
    max: usize,
}

async fn prefs_page(app: &App, s: &Session, chosen: Vec<String>, errors: FormErrors, q: &PickerQuery) -> Result<PrefsPage, PageError> {
    let mut search = PeopleSearch::new("/account/preferences", q);
    let people = search.require(app, &s.ctx, Purpose::Delegate).await?;
    let view = app.my_delegates(&s.ctx).await?;
    // Current delegates stay visible (deactivated since, or outside the
    // search) until replaced.
    let known = view.delegates.iter().map(|d| (d.id.clone(), Person::from(d))).collect();
    let slots = (0..MAX_DELEGATES)
        .map(|i| {
            let sel = chosen.get(i).cloned().unwrap_or_default();
            let mut choices = person_choices(&people, std::slice::from_ref(&sel), None);
            keep_chosen(&mut choices, &[sel], &known);
            Slot { number: i + 1, choices }
        })
        .collect();
    let delegators = view.delegators.iter().map(|u| format!("{} — {}", u.full_name(), u.email)).collect();
    Ok(PrefsPage {
        layout: s.layout("Preferences", "account"),
        search,
        errors,
        slots,
        delegators,
        max: MAX_DELEGATES,
    })
}

pub async fn page(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>) -> PageResult {
    let current = app.my_delegates(&s.ctx).await?.delegates.iter().map(|d| d.id.to_string()).collect();
    Ok(ok(&prefs_page(&app, &s, current, FormErrors::none(), &q).await?))
}

#[derive(Deserialize, Default)]
pub struct DelegatesForm {
    #[serde(default)]
    delegate: Vec<String>,
}

pub async fn save(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, Posted(f): Posted<DelegatesForm>) -> PageResult {
    let ids: Vec<String> = f.delegate.into_iter().filter(|d| !d.is_empty()).take(50).collect();
    match app.set_my_delegates(&s.ctx, ids.clone()).await {
        Ok(list) => Ok(redirect_with(
            "/account/preferences",
            &[Flash::ok(format!("Your delegates are saved ({} of {MAX_DELEGATES}).", list.len()))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &prefs_page(&app, &s, ids, errors, &q).await?))
        }
    }
}
