//! O4: *Offboard…* (every responsibility with a successor picker, a
//! default successor, a preview, then confirm) and *Scheduled
//! deactivations*. The pickers come from `App::people` (purpose
//! `successor`), the preview and the change from the same use cases as the
//! API.

use super::page::{
    form_problem, ok, redirect_with, render, when, Choice, Flash, FormErrors, Layout, PageResult, PeopleSearch, PickerQuery, Posted,
    Session,
};
use crate::api::offboarding::parse_moment;
use app::offboarding::{OffboardInput, Preview};
use app::ui_support::{Person, Purpose};
use app::{App, AppError};
use askama::Template;
use axum::extract::{Path, Query, State};
use domain::offboarding::Item;
use domain::UserId;
use std::collections::{BTreeMap, HashMap};

/// A group shows this many items at a time, each with its own picker; the
/// group's *Previous*/*Next* buttons post the form back to show others,
/// keeping every choice made (so every item, however many, can be given
/// its own successor).
const ITEMS_PER_PAGE: usize = 25;

/// The posted choices: `default_successor_id`, `effective_at`
/// (`datetime-local`, read as UTC) and `s.<key or kind>` per picker; the
/// page's own state: `at.<kind>`, the first item shown of a group, and
/// `show` = `<kind>:<first>` from a group's paging button.
type Fields = BTreeMap<String, String>;

struct Row {
    key: String,
    label: String,
    required: bool,
    choices: Vec<Choice>,
}

struct Group {
    kind: String,
    label: String,
    blocking: bool,
    choices: Vec<Choice>,
    rows: Vec<Row>,
    /// The first item shown (from 0), and how many the group has.
    from: usize,
    total: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

impl Group {
    /// "26–50 of 120", as a person counts.
    fn shown(&self) -> String {
        format!("{}–{} of {}", self.from + 1, self.from + self.rows.len(), self.total)
    }
}

#[derive(Template)]
#[template(path = "users/offboard.html")]
struct OffboardPage {
    layout: Layout,
    id: String,
    name: String,
    groups: Vec<Group>,
    default_choices: Vec<Choice>,
    effective_at: String,
    search: PeopleSearch,
    errors: FormErrors,
    /// Choices for items of other pages of a group, carried along.
    kept: Vec<(String, String)>,
}

struct PreviewRow {
    what: String,
    target: String,
    to: String,
}

#[derive(Template)]
#[template(path = "users/offboard_preview.html")]
struct PreviewPage {
    layout: Layout,
    id: String,
    name: String,
    when: String,
    rows: Vec<PreviewRow>,
    fields: Vec<(String, String)>,
}

fn options(people: &[Person], chosen: Option<&str>, suggested: Option<&str>, empty: &str) -> Vec<Choice> {
    let mut out = vec![Choice::new("", empty, chosen.unwrap_or("").is_empty())];
    for p in people {
        let id = p.id.as_str();
        let tag = if Some(id) == suggested { " (suggested)" } else { "" };
        out.push(Choice::new(id, format!("{} — {}{tag}", p.name, p.email), chosen == Some(id)));
    }
    out
}

fn input(fields: &Fields) -> Result<OffboardInput, AppError> {
    let successors: HashMap<String, String> = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, v)| k.strip_prefix("s.").map(|k| (k.to_owned(), v.clone())))
        .collect();
    let effective_at = match fields.get("effective_at").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        // `datetime-local` has no zone and may leave out the seconds.
        Some(local) => {
            let with_seconds = if local.len() == 16 {
                format!("{local}:00")
            } else {
                local.to_owned()
            };
            Some(parse_moment("effective_at", &format!("{with_seconds}Z"))?)
        }
    };
    Ok(OffboardInput {
        default_successor_id: fields.get("default_successor_id").filter(|v| !v.is_empty()).cloned(),
        successors,
        effective_at,
    })
}

/// The first item to show of the group `kind` with `total` items: the
/// paging button just pressed, else where the group was, else the page
/// holding the group's first refused item; always the start of a page.
fn first_shown(fields: &Fields, kind: &str, total: usize, first_error: Option<usize>) -> usize {
    let pressed = fields
        .get("show")
        .and_then(|v| v.rsplit_once(':'))
        .filter(|(k, _)| *k == kind)
        .and_then(|(_, n)| n.parse().ok());
    let kept = fields.get(&format!("at.{kind}")).and_then(|n| n.parse().ok());
    let at: usize = pressed.or(kept).or(first_error).unwrap_or(0);
    let at = at.min(total.saturating_sub(1));
    at - at % ITEMS_PER_PAGE
}

async fn form_page(
    app: &App,
    s: &Session,
    id: &UserId,
    q: &PickerQuery,
    fields: &Fields,
    errors: FormErrors,
) -> Result<OffboardPage, super::page::PageError> {
    let plan = app.offboarding_plan(&s.ctx, id).await?;
    let mut search = PeopleSearch::new(format!("/users/{id}/offboard"), q);
    let mut people = search.require(app, &s.ctx, Purpose::Successor(id.clone())).await?;
    // A successor chosen before a search stays chosen when the search does
    // not list them: their picker keeps them (if still in scope).
    let chosen: std::collections::BTreeSet<&str> = fields
        .iter()
        .filter(|(k, v)| (k.starts_with("s.") || k.as_str() == "default_successor_id") && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .filter(|v| !people.iter().any(|p| p.id.as_str() == *v))
        .collect();
    for v in chosen {
        if let Ok(d) = app.user_details(&s.ctx, &UserId::from(v)).await {
            people.push(app::ui_support::Person::from(&d.user));
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut kept = Vec::new();
    for kind in plan.items.iter().map(|i| i.kind).collect::<std::collections::BTreeSet<_>>() {
        let of_kind: Vec<&Item> = plan.items.iter().filter(|i| i.kind == kind).collect();
        let total = of_kind.len();
        let refused = of_kind.iter().position(|i| errors.has(format!("successors.{}", i.key).as_str()));
        let from = first_shown(fields, kind.as_str(), total, refused);
        let mut rows = Vec::new();
        for (n, item) in of_kind.iter().enumerate() {
            let field = format!("s.{}", item.key);
            if !(from..from + ITEMS_PER_PAGE).contains(&n) {
                if let Some(v) = fields.get(&field).filter(|v| !v.is_empty()) {
                    kept.push((field, v.clone()));
                }
                continue;
            }
            let suggested = item.suggested_successor_id.as_ref().map(|u| u.as_str());
            let chosen = fields.get(&field).map(String::as_str).or(suggested);
            rows.push(Row {
                key: item.key.clone(),
                label: item.target.name.clone(),
                required: item.needs_successor(),
                choices: options(&people, chosen, suggested, "— the group's or the default —"),
            });
        }
        groups.push(Group {
            kind: kind.as_str().to_owned(),
            label: kind.label(total),
            blocking: of_kind.iter().any(|i| i.blocking),
            choices: options(
                &people,
                fields.get(&format!("s.{}", kind.as_str())).map(String::as_str),
                None,
                "— each below, or the default —",
            ),
            rows,
            from,
            total,
            prev: from.checked_sub(ITEMS_PER_PAGE),
            next: Some(from + ITEMS_PER_PAGE).filter(|n| *n < total),
        });
    }
    Ok(OffboardPage {
        layout: s.layout(format!("Offboard {}", plan.user.full_name()), "users"),
        id: id.to_string(),
        name: plan.user.full_name(),
        default_choices: options(&people, fields.get("default_successor_id").map(String::as_str), None, "— nobody —"),
        effective_at: fields.get("effective_at").cloned().unwrap_or_default(),
        groups,
        search,
        errors,
        kept,
    })
}

/// O4: the plan with a picker per item (and per group), the default
/// successor and the leaving date.
pub async fn page(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PickerQuery>) -> PageResult {
    let page = form_page(&app, &s, &UserId::from(id), &q, &Fields::new(), FormErrors::none()).await?;
    Ok(ok(&page))
}

fn what_happens(item: &Item, to: Option<&domain::model::User>) -> String {
    match to {
        Some(u) => format!("{} — {}", u.full_name(), u.email),
        None if item.kind.may_be_vacated() => "left empty".into(),
        None => "stays with the deactivated user".into(),
    }
}

/// O4: the form again with other items of a group shown (its *Previous*
/// or *Next* button), every choice made so far kept.
/// Its *Find* button lands here too: the pickers then offer the people the
/// search finds, and every choice made so far is kept.
pub async fn items(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(fields): Posted<Fields>) -> PageResult {
    let q = PickerQuery {
        q: fields.get("q").cloned(),
    };
    let page = form_page(&app, &s, &UserId::from(id), &q, &fields, FormErrors::none()).await?;
    Ok(ok(&page))
}

/// O4: what will change, checked like the change itself; then confirm.
pub async fn preview(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(fields): Posted<Fields>) -> PageResult {
    let uid = UserId::from(id.as_str());
    let checked = match input(&fields) {
        Ok(i) => app.offboarding_preview(&s.ctx, &uid, &i).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(Preview { user, rows, effective_at }) => {
            let page = PreviewPage {
                layout: s.layout(format!("Offboard {}: preview", user.full_name()), "users"),
                id,
                name: user.full_name(),
                when: match effective_at {
                    Some(at) => format!("on {}", when(Some(at))),
                    None => "now".into(),
                },
                rows: rows
                    .iter()
                    .map(|(item, to)| PreviewRow {
                        what: item.kind.label(1),
                        target: item.target.name.clone(),
                        to: what_happens(item, to.as_ref()),
                    })
                    .collect(),
                fields: fields
                    .into_iter()
                    .filter(|(k, v)| k != "csrf" && k != "show" && !v.is_empty())
                    .collect(),
            };
            Ok(ok(&page))
        }
        Err(e) => refused(&app, &s, &uid, &fields, e).await,
    }
}

async fn refused(app: &App, s: &Session, id: &UserId, fields: &Fields, e: AppError) -> PageResult {
    let (status, errors) = form_problem(e)?;
    let page = form_page(app, s, id, &PickerQuery::default(), fields, errors).await?;
    Ok(render(status, &page))
}

/// O2/O3 from the page: offboard now, or schedule it.
pub async fn confirm(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(fields): Posted<Fields>) -> PageResult {
    let uid = UserId::from(id.as_str());
    let done = match input(&fields) {
        Ok(i) => app.offboard(&s.ctx, &uid, i).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(d) => {
            let text = match &d.scheduled {
                Some(plan) => format!(
                    "{} leaves on {}: the deactivation is scheduled.",
                    d.user.full_name(),
                    when(Some(plan.effective_at))
                ),
                None => format!(
                    "{} is deactivated; {} responsibilities were handed over.",
                    d.user.full_name(),
                    d.reassigned
                ),
            };
            Ok(redirect_with(&format!("/users/{id}"), &[Flash::ok(text)]))
        }
        Err(e) => refused(&app, &s, &uid, &fields, e).await,
    }
}

struct ScheduledRow {
    id: String,
    name: String,
    when: String,
    status: String,
    failure: String,
    by: String,
}

#[derive(Template)]
#[template(path = "users/scheduled.html")]
struct ScheduledPage {
    layout: Layout,
    rows: Vec<ScheduledRow>,
}

/// O3: the *Scheduled deactivations* page.
pub async fn scheduled(State(app): State<App>, s: Session) -> PageResult {
    let views = app.scheduled_deactivations(&s.ctx).await?;
    let page = ScheduledPage {
        layout: s.layout("Scheduled deactivations", "scheduled"),
        rows: views
            .iter()
            .map(|v| ScheduledRow {
                id: v.user.id.to_string(),
                name: v.user.full_name(),
                when: when(Some(v.plan.effective_at)),
                status: v.plan.status.to_string(),
                failure: v.plan.failure.clone().unwrap_or_default(),
                by: v.plan.created_by_label.clone(),
            })
            .collect(),
    };
    Ok(ok(&page))
}

/// O3: cancel from the page.
pub async fn cancel(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(_): Posted<super::auth::Empty>) -> PageResult {
    match app.cancel_scheduled_deactivation(&s.ctx, &UserId::from(id.as_str())).await {
        Ok(()) => Ok(redirect_with(
            "/scheduled-deactivations",
            &[Flash::ok("The scheduled deactivation is cancelled.")],
        )),
        Err(e) => {
            let (_, errors) = form_problem(e)?;
            Ok(redirect_with(
                "/scheduled-deactivations",
                &[Flash::error(errors.summary.unwrap_or_default())],
            ))
        }
    }
}
