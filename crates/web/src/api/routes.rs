//! Invoice approval routes.

use super::schema::NameText;
use super::PageQuery;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::types::{ListOut, RouteOut};
use app::routes::{LevelInput, RouteInput};
use app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::RouteId;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelIn {
    pub primary_approver_id: String,
    /// Another active company user than the primary.
    pub alternate_approver_id: Option<String>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub delegate_ids: Vec<String>,
}

/// A new approval route.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRouteIn {
    #[schema(value_type = NameText)]
    pub name: String,
    pub active: Option<bool>,
    #[schema(min_items = 1, max_items = 20)]
    pub levels: Vec<LevelIn>,
}

impl From<NewRouteIn> for RouteInput {
    fn from(r: NewRouteIn) -> Self {
        RouteIn {
            name: Some(r.name),
            active: r.active,
            levels: Some(r.levels),
        }
        .into()
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteIn {
    #[schema(value_type = Option<NameText>)]
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Replaces every level when present.
    #[schema(min_items = 1, max_items = 20)]
    pub levels: Option<Vec<LevelIn>>,
}

impl From<RouteIn> for RouteInput {
    fn from(r: RouteIn) -> Self {
        RouteInput {
            name: r.name,
            active: r.active,
            levels: r.levels.map(|ls| {
                ls.into_iter()
                    .map(|l| LevelInput {
                        primary_approver_id: l.primary_approver_id,
                        alternate_approver_id: l.alternate_approver_id,
                        delegate_ids: l.delegate_ids,
                    })
                    .collect()
            }),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/approval-routes", tag = "approval routes", params(PageQuery), responses((status = 200, body = ListOut<RouteOut>), (status = 403), (status = 422)))]
pub async fn list_routes(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<RouteOut>>> {
    let l = app.list_routes(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| RouteOut::from(x))))
}

// The answer links to the new route's own operations (OpenAPI `links`), so
// that clients and schemathesis' stateful phase can follow the new `id`.
#[utoipa::path(post, path = "/api/v1/approval-routes", tag = "approval routes", request_body = NewRouteIn,
    responses(
        (status = 201, body = RouteOut, links(
            ("GetRoute" = (operation_id = "get_route", parameters(("id" = "$response.body#/id")))),
            ("PatchRoute" = (operation_id = "patch_route", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 403), (status = 409), (status = 422)))]
pub async fn create_route(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NewRouteIn>,
) -> ApiResult<(StatusCode, Json<RouteOut>)> {
    let r = app.create_route(&caller.ctx, b.into()).await?;
    Ok((StatusCode::CREATED, Json(RouteOut::from(&r))))
}

#[utoipa::path(get, path = "/api/v1/approval-routes/{id}", tag = "approval routes", responses((status = 200, body = RouteOut), (status = 403)))]
pub async fn get_route(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<RouteOut>> {
    Ok(Json(RouteOut::from(&app.route(&caller.ctx, &RouteId::from(id)).await?)))
}

#[utoipa::path(patch, path = "/api/v1/approval-routes/{id}", tag = "approval routes", request_body = RouteIn, responses((status = 200, body = RouteOut), (status = 403), (status = 409), (status = 422)))]
pub async fn patch_route(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RouteIn>,
) -> ApiResult<Json<RouteOut>> {
    Ok(Json(RouteOut::from(
        &app.update_route(&caller.ctx, &RouteId::from(id), b.into()).await?,
    )))
}
