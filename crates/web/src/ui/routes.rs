//! Invoice approval routes: levels of a primary approver, an optional
//! alternate approver and optional delegates (D3 looks at approvers).
//! *Add a level* re-shows the form with one more empty level, so the form
//! works without JavaScript.

use super::page::{
    form_problem, keep_chosen, ok, person_choices, redirect_with, render, ticked, Choice, Flash, FormErrors, Layout, PageError, PageResult,
    PeopleSearch, PickerQuery, Session,
};
use app::routes::{LevelInput, RouteInput};
use app::ui_support::Purpose;
use app::{App, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::model::ApprovalRoute;
use domain::{RouteId, UserId};
use std::collections::HashMap;

pub struct RouteRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub levels: usize,
    pub approvers: String,
}

#[derive(Template)]
#[template(path = "routes/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<RouteRow>,
}

pub async fn list(State(app): State<App>, s: Session) -> PageResult {
    let l = app
        .list_routes(
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
        .flat_map(|r| r.levels.iter().map(|l| l.primary_approver_id.clone()))
        .collect();
    let people = app.people_by_id(&s.ctx, &ids).await?;
    let rows = l
        .items
        .iter()
        .map(|r| RouteRow {
            id: r.id.to_string(),
            name: r.name.to_string(),
            active: r.active,
            levels: r.levels.len(),
            approvers: r
                .levels
                .iter()
                .map(|l| people.get(&l.primary_approver_id).map(|p| p.name.clone()).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" → "),
        })
        .collect();
    Ok(ok(&ListPage {
        layout: s.layout("Approval routes", "routes"),
        rows,
    }))
}

/// One level as the form holds it.
#[derive(Debug, Clone, Default)]
pub struct LevelForm {
    primary: String,
    alternate: String,
    delegates: Vec<String>,
}

/// The route form: flat field names (`primary_0`, `alternate_0`,
/// `delegates_0` repeated), read from the posted pairs.
#[derive(Debug, Clone, Default)]
pub struct RouteForm {
    name: String,
    active: bool,
    levels: Vec<LevelForm>,
    add_level: bool,
}

impl RouteForm {
    fn of(r: &ApprovalRoute) -> Self {
        Self {
            name: r.name.to_string(),
            active: r.active,
            levels: r
                .levels
                .iter()
                .map(|l| LevelForm {
                    primary: l.primary_approver_id.to_string(),
                    alternate: l.alternate_approver_id.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                    delegates: l.delegate_ids.iter().map(|d| d.to_string()).collect(),
                })
                .collect(),
            add_level: false,
        }
    }

    fn parse(pairs: &[(String, String)]) -> Self {
        let mut f = RouteForm::default();
        let mut levels: HashMap<usize, LevelForm> = HashMap::new();
        for (k, v) in pairs {
            let level = |prefix: &str| {
                k.strip_prefix(prefix)
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n < app::routes::MAX_LEVELS + 1)
            };
            match k.as_str() {
                "name" => f.name = v.clone(),
                "active" => f.active = ticked(&Some(v.clone())),
                "add_level" => f.add_level = true,
                _ => {
                    if let Some(i) = level("primary_") {
                        levels.entry(i).or_default().primary = v.clone();
                    } else if let Some(i) = level("alternate_") {
                        levels.entry(i).or_default().alternate = v.clone();
                    } else if let Some(i) = level("delegates_") {
                        if !v.is_empty() {
                            levels.entry(i).or_default().delegates.push(v.clone());
                        }
                    }
                }
            }
        }
        let mut keys: Vec<usize> = levels.keys().copied().collect();
        keys.sort_unstable();
        // Rows left without a primary approver are empty rows, not levels.
        f.levels = keys
            .into_iter()
            .filter_map(|k| levels.remove(&k))
            .filter(|l| !l.primary.is_empty() || !l.alternate.is_empty() || !l.delegates.is_empty())
            .collect();
        f
    }

    fn input(&self) -> RouteInput {
        RouteInput {
            name: Some(self.name.clone()),
            active: Some(self.active),
            levels: Some(
                self.levels
                    .iter()
                    .map(|l| LevelInput {
                        primary_approver_id: l.primary.clone(),
                        alternate_approver_id: Some(l.alternate.clone()).filter(|a| !a.is_empty()),
                        delegate_ids: l.delegates.clone(),
                    })
                    .collect(),
            ),
        }
    }
}

pub struct LevelRow {
    pub index: usize,
    pub number: usize,
    pub primary: Vec<Choice>,
    pub alternate: Vec<Choice>,
    pub delegates: Vec<Choice>,
    pub primary_error: Option<String>,
    pub alternate_error: Option<String>,
    pub delegates_error: Option<String>,
}

#[derive(Template)]
#[template(path = "routes/form.html")]
struct FormPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    name: String,
    active: bool,
    levels: Vec<LevelRow>,
}

async fn form_page(
    app: &App,
    s: &Session,
    id: Option<String>,
    f: RouteForm,
    errors: FormErrors,
    extra_row: bool,
    q: &PickerQuery,
) -> Result<FormPage, PageError> {
    // Who may edit routes: company system administrators (403 otherwise).
    let action = match &id {
        Some(i) => format!("/approval-routes/{i}"),
        None => "/approval-routes/new".to_owned(),
    };
    let mut search = PeopleSearch::new(action, q);
    let company = search.require(app, &s.ctx, Purpose::Approver).await?;
    let everyone = search.require(app, &s.ctx, Purpose::RouteDelegate).await?;
    // People named on the route who are no longer active stay visible.
    let named: Vec<UserId> = f
        .levels
        .iter()
        .flat_map(|l| {
            [l.primary.clone(), l.alternate.clone()]
                .into_iter()
                .chain(l.delegates.iter().cloned())
        })
        .filter(|i| !i.is_empty())
        .map(UserId::from)
        .collect();
    let known = app.people_by_id(&s.ctx, &named).await?;
    let choices = |people: &[app::ui_support::Person], selected: &[String]| {
        let mut c = person_choices(people, selected, None);
        keep_chosen(&mut c, selected, &known);
        c
    };
    let mut rows: Vec<LevelForm> = f.levels.clone();
    if extra_row || rows.is_empty() {
        rows.push(LevelForm::default());
    }
    let levels = rows
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = |f: &str| errors.get(&format!("levels[{i}].{f}")).map(str::to_owned);
            LevelRow {
                index: i,
                number: i + 1,
                primary: choices(&company, std::slice::from_ref(&l.primary)),
                alternate: choices(&company, std::slice::from_ref(&l.alternate)),
                delegates: choices(&everyone, &l.delegates),
                primary_error: field("primary_approver_id"),
                alternate_error: field("alternate_approver_id"),
                delegates_error: field("delegate_ids"),
            }
        })
        .collect();
    let title = if id.is_some() {
        format!("Approval route {}", f.name)
    } else {
        "New approval route".into()
    };
    Ok(FormPage {
        layout: s.layout(title, "routes"),
        search,
        errors,
        name: f.name,
        active: f.active,
        levels,
    })
}

pub async fn new_page(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>) -> PageResult {
    let f = RouteForm {
        active: true,
        ..Default::default()
    };
    Ok(ok(&form_page(&app, &s, None, f, FormErrors::none(), false, &q).await?))
}

pub async fn edit_page(State(app): State<App>, s: Session, Path(id): Path<String>, Query(q): Query<PickerQuery>) -> PageResult {
    let r = app.route(&s.ctx, &RouteId::from(id)).await?;
    Ok(ok(&form_page(
        &app,
        &s,
        Some(r.id.to_string()),
        RouteForm::of(&r),
        FormErrors::none(),
        false,
        &q,
    )
    .await?))
}

/// The posted pairs of a route form (CSRF-checked like every form).
pub struct RoutePost(RouteForm);

impl axum::extract::FromRequest<App> for RoutePost {
    type Rejection = PageError;

    async fn from_request(req: axum::extract::Request, state: &App) -> Result<Self, Self::Rejection> {
        let super::page::Posted(pairs) = super::page::Posted::<Vec<(String, String)>>::from_request(req, state).await?;
        Ok(RoutePost(RouteForm::parse(&pairs)))
    }
}

fn no_levels() -> FormErrors {
    FormErrors::field("levels", "a route needs at least one level with a primary approver")
}

pub async fn create(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, RoutePost(f): RoutePost) -> PageResult {
    if f.add_level {
        return Ok(ok(&form_page(&app, &s, None, f, FormErrors::none(), true, &q).await?));
    }
    if f.levels.is_empty() {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&app, &s, None, f, no_levels(), false, &q).await?,
        ));
    }
    match app.create_route(&s.ctx, f.input()).await {
        Ok(r) => Ok(redirect_with(
            "/approval-routes",
            &[Flash::ok(format!("Approval route {} is created.", r.name))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &form_page(&app, &s, None, f, errors, false, &q).await?))
        }
    }
}

pub async fn save(
    State(app): State<App>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<PickerQuery>,
    RoutePost(f): RoutePost,
) -> PageResult {
    let rid = RouteId::from(id.as_str());
    app.route(&s.ctx, &rid).await?;
    if f.add_level {
        return Ok(ok(&form_page(&app, &s, Some(id), f, FormErrors::none(), true, &q).await?));
    }
    if f.levels.is_empty() {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&app, &s, Some(id), f, no_levels(), false, &q).await?,
        ));
    }
    match app.update_route(&s.ctx, &rid, f.input()).await {
        Ok(r) => Ok(redirect_with(
            "/approval-routes",
            &[Flash::ok(format!("Approval route {} is saved.", r.name))],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &form_page(&app, &s, Some(id), f, errors, false, &q).await?))
        }
    }
}
