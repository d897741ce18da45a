//! DIR1: `/Groups` (RFC 7643 §4.2). Group membership sets the role of
//! directory users through the mapping in settings; the rules are
//! `app::directory::groups`'.

use super::{filtered_page, list_params, one, search_query, selection, Directory, ScimResult, Selection, Write, WriteWithBody};
use app::directory::groups::GroupView;
use app::App;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::scim;
use serde_json::{json, Value};
use std::collections::HashMap;
use store::GroupLookup;

fn group_json(app: &App, g: &GroupView) -> Value {
    let mut v = g.to_scim();
    v["meta"]["location"] = json!(format!("{}/scim/v2/Groups/{}", app.config.public_url, g.group.id));
    v
}

/// Whether the answer shows members (Entra ID asks for groups with
/// `excludedAttributes=members`; then they are not read at all).
fn wants_members(sel: &Selection) -> bool {
    let named = |p: &scim::AttrPath| p.urn.is_none() && p.name.eq_ignore_ascii_case("members");
    let excluded = sel.except.iter().any(|p| named(p) && p.sub.is_none());
    let left_out = !sel.only.is_empty() && !sel.only.iter().any(named);
    !excluded && !left_out
}

async fn list_with(app: &App, q: &HashMap<String, String>) -> ScimResult<Response> {
    let p = list_params(q)?;
    let lookup = match &p.filter {
        Some(f) => match (f.equality_on("displayName"), f.equality_on("externalId")) {
            (Some(v), _) => GroupLookup::DisplayName(v.to_owned()),
            (None, Some(v)) => GroupLookup::ExternalId(v.to_owned()),
            _ => GroupLookup::All,
        },
        None => GroupLookup::All,
    };
    // A filter may name members, so it sees them.
    let with_members = p.filter.is_some() || wants_members(&p.sel);
    let groups = app.directory_groups(&lookup, with_members).await?;
    Ok(filtered_page(groups.iter().map(|g| group_json(app, g)).collect(), &p))
}

pub async fn list(State(app): State<App>, Directory(_): Directory, Query(q): Query<HashMap<String, String>>) -> ScimResult<Response> {
    list_with(&app, &q).await
}

/// `POST /Groups/.search`.
pub async fn search(State(app): State<App>, Directory(_): Directory, headers: HeaderMap, body: Bytes) -> ScimResult<Response> {
    list_with(&app, &search_query(&headers, &body)?).await
}

pub async fn get(
    State(app): State<App>,
    Directory(_): Directory,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let g = app.directory_group(&id).await?;
    Ok(one(StatusCode::OK, group_json(&app, &g), &selection(&q)?))
}

pub async fn create(State(app): State<App>, Directory(ctx): Directory, WriteWithBody(w): WriteWithBody) -> ScimResult<Response> {
    let g = app.directory_group_create(&ctx, w.body()).await?;
    Ok(one(StatusCode::CREATED, group_json(&app, &g), &Selection::default()))
}

pub async fn replace(
    State(app): State<App>,
    Directory(ctx): Directory,
    Path(id): Path<String>,
    WriteWithBody(w): WriteWithBody,
) -> ScimResult<Response> {
    let g = app.directory_group_replace(&ctx, &id, w.body(), w.version()?).await?;
    Ok(one(StatusCode::OK, group_json(&app, &g), &Selection::default()))
}

/// Entra ID and Okta send member changes as PATCH and expect 204 or 200;
/// the group is returned (200) so the client sees its new version.
pub async fn patch(
    State(app): State<App>,
    Directory(ctx): Directory,
    Path(id): Path<String>,
    WriteWithBody(w): WriteWithBody,
) -> ScimResult<Response> {
    let g = app.directory_group_patch(&ctx, &id, &w.ops()?, w.version()?).await?;
    Ok(one(StatusCode::OK, group_json(&app, &g), &Selection::default()))
}

pub async fn delete(State(app): State<App>, Directory(ctx): Directory, Path(id): Path<String>, w: Write) -> ScimResult<StatusCode> {
    app.directory_group_delete(&ctx, &id, w.version()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
