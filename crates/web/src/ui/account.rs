//! Account › Preferences: the signed-in person's own delegates, at most
//! five active people of their organisation (the use case checks it).

use super::page::{
    form_problem, ok, person_choices, redirect_with, render, Choice, Flash, FormErrors, Layout, PageError, PageResult, Posted, Session,
};
use app::delegates::MAX_DELEGATES;
use app::ui_support::Pick;
use app::App;
use askama::Template;
use axum::extract::State;
use serde::Deserialize;

pub struct Slot {
    pub number: usize,
    pub choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct PrefsPage {
    layout: Layout,
    errors: FormErrors,
    slots: Vec<Slot>,
    delegators: Vec<String>,
    max: usize,
}

async fn prefs_page(app: &App, s: &Session, chosen: Vec<String>, errors: FormErrors) -> Result<PrefsPage, PageError> {
    let people = app.people(&s.ctx, Pick::Colleagues).await?;
    let view = app.my_delegates(&s.ctx).await?;
    let slots = (0..MAX_DELEGATES)
        .map(|i| {
            let sel = chosen.get(i).cloned().unwrap_or_default();
            // A delegate since deactivated stays visible until replaced.
            let kept = view
                .delegates
                .iter()
                .find(|d| d.id.as_str() == sel && !d.active)
                .map(|d| (d.id.to_string(), format!("{} — {} (deactivated)", d.full_name(), d.email)));
            Slot {
                number: i + 1,
                choices: person_choices(&people, &[sel], kept.as_ref().map(|(a, b)| (a.as_str(), b.as_str()))),
            }
        })
        .collect();
    let delegators = view.delegators.iter().map(|u| format!("{} — {}", u.full_name(), u.email)).collect();
    Ok(PrefsPage {
        layout: s.layout("Preferences", "account"),
        errors,
        slots,
        delegators,
        max: MAX_DELEGATES,
    })
}

pub async fn page(State(app): State<App>, s: Session) -> PageResult {
    let current = app.my_delegates(&s.ctx).await?.delegates.iter().map(|d| d.id.to_string()).collect();
    Ok(ok(&prefs_page(&app, &s, current, FormErrors::none()).await?))
}

#[derive(Deserialize, Default)]
pub struct DelegatesForm {
    #[serde(default)]
    delegate: Vec<String>,
}

pub async fn save(State(app): State<App>, s: Session, Posted(f): Posted<DelegatesForm>) -> PageResult {
    let ids: Vec<String> = f.delegate.into_iter().filter(|d| !d.is_empty()).take(50).collect();
    match app.set_my_delegates(&s.ctx, ids.clone()).await {
        Ok(list) => Ok(redirect_with(
            "/account/preferences",
            &[Flash::ok(format!("Your delegates are saved ({} of {MAX_DELEGATES}).", list.len()))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &prefs_page(&app, &s, ids, errors).await?))
        }
    }
}
