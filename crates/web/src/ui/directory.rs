//! DIR1–DIR3 pages: the *Directory* section of Settings (SCIM tokens:
//! made, shown once, listed with their last use, revoked; the mapping of
//! directory groups to roles, saved through the settings use case) and the *Open
//! offboarding items* page. Both call the same use cases as the API, so
//! only company system administrators get past them.

use super::page::{form_problem, ok, redirect_with, render, role_label, when, Flash, FormErrors, Layout, PageResult, Posted, Session};
use app::settings::SettingsPatch;
use app::{App, Page};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::{Role, Side};
use serde::Deserialize;

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    layout: Layout,
    errors: FormErrors,
    tokens: Vec<TokenRow>,
    /// The token just made: shown this once.
    new_token: Option<(String, String)>,
    scim_url: String,
    name: String,
    /// The group → role mapping, with blank rows to add to it.
    mapping: Vec<MappingRow>,
    roles: Vec<(&'static str, &'static str)>,
}

pub struct MappingRow {
    pub n: usize,
    pub group: String,
    pub role: String,
}

/// Blank rows offered after the mapping's own.
const BLANK_ROWS: usize = 2;

fn mapping_rows(pairs: Vec<(String, String)>) -> Vec<MappingRow> {
    pairs
        .into_iter()
        .chain(std::iter::repeat_n(
            (String::new(), Role::CompanyUser.as_str().to_owned()),
            BLANK_ROWS,
        ))
        .enumerate()
        .map(|(i, (group, role))| MappingRow { n: i + 1, group, role })
        .collect()
}

async fn page(
    app: &App,
    s: &Session,
    errors: FormErrors,
    new_token: Option<(String, String)>,
    name: String,
) -> Result<DirectoryPage, super::page::PageError> {
    let saved = app
        .settings(&s.ctx)
        .await?
        .directory_group_roles
        .into_iter()
        .map(|m| (m.group, m.role.as_str().to_owned()))
        .collect();
    page_with(app, s, errors, new_token, name, saved).await
}

async fn page_with(
    app: &App,
    s: &Session,
    errors: FormErrors,
    new_token: Option<(String, String)>,
    name: String,
    mapping: Vec<(String, String)>,
) -> Result<DirectoryPage, super::page::PageError> {
    let tokens = app
        .scim_tokens(&s.ctx)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            created: when(Some(t.created_at)),
            last_used: t.last_used_at.map_or_else(|| "never".into(), |t| when(Some(t))),
            revoked: t.revoked_at.map(|t| when(Some(t))),
        })
        .collect();
    Ok(DirectoryPage {
        layout: s.layout("Directory", "settings"),
        errors,
        tokens,
        new_token,
        scim_url: format!("{}/scim/v2", app.config.public_url),
        name,
        mapping: mapping_rows(mapping),
        roles: Role::ALL
            .iter()
            .filter(|r| r.side() == Side::Company)
            .map(|r| (r.as_str(), role_label(*r)))
            .collect(),
    })
}

pub async fn show(State(app): State<App>, s: Session) -> PageResult {
    Ok(ok(&page(&app, &s, FormErrors::none(), None, String::new()).await?))
}

#[derive(Deserialize, Default)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

/// Makes a token and shows it on the answer itself (never in a redirect
/// or a cookie), the one time it is shown.
pub async fn create(State(app): State<App>, s: Session, Posted(f): Posted<TokenForm>) -> PageResult {
    match app.create_scim_token(&s.ctx, &f.name).await {
        Ok((t, token)) => Ok(render(
            StatusCode::CREATED,
            &page(&app, &s, FormErrors::none(), Some((t.name, token)), String::new()).await?,
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &page(&app, &s, errors, None, f.name).await?))
        }
    }
}

pub async fn revoke(State(app): State<App>, s: Session, Path(id): Path<String>, Posted(_): Posted<TokenForm>) -> PageResult {
    app.revoke_scim_token(&s.ctx, &id).await?;
    Ok(redirect_with(
        "/settings/directory",
        &[Flash::ok("The token is revoked: the directory can no longer use it.")],
    ))
}

#[derive(Deserialize, Default)]
pub struct MappingForm {
    #[serde(default)]
    group: Vec<String>,
    #[serde(default)]
    role: Vec<String>,
}

/// DIR1: saves the group → role mapping (rows with a blank group are left
/// out) through the settings use case, as `PATCH /settings` does.
pub async fn save_mapping(State(app): State<App>, s: Session, Posted(f): Posted<MappingForm>) -> PageResult {
    let pairs: Vec<(String, String)> = f.group.into_iter().zip(f.role).filter(|(g, _)| !g.trim().is_empty()).collect();
    let patch = SettingsPatch {
        directory_group_roles: Some(pairs.clone()),
        ..SettingsPatch::default()
    };
    match app.update_settings(&s.ctx, patch).await {
        Ok(_) => Ok(redirect_with(
            "/settings/directory",
            &[Flash::ok(
                "The group mapping is saved: members of the mapped groups have their roles.",
            )],
        )),
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(status, &page_with(&app, &s, errors, None, String::new(), pairs).await?))
        }
    }
}

pub struct ItemRow {
    pub user_href: String,
    pub kind: String,
    pub target: String,
    pub target_href: String,
    pub fix: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "offboarding_items.html")]
struct ItemsPage {
    layout: Layout,
    rows: Vec<ItemRow>,
    total: i64,
}

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    page: Option<i64>,
}

pub async fn items(State(app): State<App>, s: Session, Query(q): Query<ItemsQuery>) -> PageResult {
    let page = Page::new(q.page, Some(100))?;
    let list = app.offboarding_items(&s.ctx, page).await?;
    let rows = list
        .items
        .iter()
        .map(|i| ItemRow {
            user_href: format!("/users/{}", i.user_id),
            kind: i.kind.as_str().replace('_', " "),
            target: format!("{}: {}", i.target_type, i.target_name),
            target_href: match i.target_type.as_str() {
                "matter" => format!("/matters/{}", i.target_id),
                "office" => format!("/offices/{}", i.target_id),
                _ => format!("/approval-routes/{}", i.target_id),
            },
            fix: i.fix.clone(),
            since: when(Some(i.created_at)),
        })
        .collect();
    Ok(ok(&ItemsPage {
        layout: s.layout("Open offboarding items", "settings"),
        rows,
        total: list.total,
    }))
}
