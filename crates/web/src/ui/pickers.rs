//! The people pickers of the pages: options filled by the picker use case
//! (S14, the same answer `GET /api/v1/people` gives), showing their errors.

use super::page::*;
use app::{App, AppError, Ctx, ErrorKind};
use serde::Deserialize;
use std::collections::HashMap;

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

/// An office or firm picker of a form: its options, or why it has none.
/// Only roles that work with offices (firms) are asked for them
/// (`domain::access::Area`); for them a refused list is shown as a
/// problem, never as an empty picker.
#[derive(Debug, Clone, Default)]
pub struct OrgPicker {
    pub choices: Vec<Choice>,
    /// Why the options could not be listed, as a sentence for the page.
    pub problem: Option<String>,
}

impl OrgPicker {
    /// `(id, name)` pairs as options, `selected` marked; or the problem of
    /// the list. `Err` only for errors no page can show (signed out, our
    /// fault).
    fn of(what: &str, listed: Result<Vec<(String, String)>, AppError>, selected: &str) -> Result<Self, PageError> {
        match listed {
            Ok(items) => Ok(Self {
                choices: items
                    .into_iter()
                    .map(|(id, name)| {
                        let on = id == selected;
                        Choice::new(id, name, on)
                    })
                    .collect(),
                problem: None,
            }),
            Err(e) if matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Internal) => Err(PageError::App(e)),
            Err(e) => Ok(Self {
                choices: Vec::new(),
                problem: Some(format!("{what} cannot be listed here: {}", sentence(&e.message()))),
            }),
        }
    }

    /// The offices the session may list (`GET /api/v1/offices`), if its
    /// role works with offices.
    pub async fn offices(app: &App, s: &Session, selected: &str) -> Result<Self, PageError> {
        if !s.may(Area::Offices) {
            return Ok(Self::default());
        }
        let listed = app
            .list_offices(&s.ctx, all_at_once())
            .await
            .map(|l| l.items.into_iter().map(|o| (o.id.to_string(), o.name.into_string())).collect());
        Self::of("Offices", listed, selected)
    }

    /// The firms the session may list (`GET /api/v1/firms`), if its role
    /// works with firms.
    pub async fn firms(app: &App, s: &Session, selected: &str) -> Result<Self, PageError> {
        if !s.may(Area::Firms) {
            return Ok(Self::default());
        }
        let listed = app
            .list_firms(&s.ctx, all_at_once())
            .await
            .map(|l| l.items.into_iter().map(|f| (f.id.to_string(), f.name.into_string())).collect());
        Self::of("Firms", listed, selected)
    }
}

/// Offices and firms are few: a picker lists them on one page.
fn all_at_once() -> app::Page {
    app::Page {
        page: 1,
        per_page: app::Page::MAX_PER_PAGE,
    }
}
