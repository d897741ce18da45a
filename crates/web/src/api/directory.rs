//! DIR2: SCIM tokens; DIR3: open offboarding items.

use super::PageQuery;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::types::ListOut;
use app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimTokenIn {
    /// What the token is for, e.g. "Microsoft Entra ID".
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A SCIM token; `token` only in the answer to its creation.
#[derive(Serialize, ToSchema)]
pub struct ScimTokenOut {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn token_out(t: &store::ScimToken, token: Option<String>) -> ScimTokenOut {
    ScimTokenOut {
        id: t.id.clone(),
        name: t.name.clone(),
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
        token,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScimTokenList {
    pub items: Vec<ScimTokenOut>,
}

#[utoipa::path(post, path = "/api/v1/scim-tokens", tag = "directory", request_body = ScimTokenIn,
    responses((status = 201, body = ScimTokenOut), (status = 403), (status = 422)))]
pub async fn create_scim_token(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<ScimTokenIn>,
) -> ApiResult<(StatusCode, Json<ScimTokenOut>)> {
    let (t, token) = app.create_scim_token(&caller.ctx, &b.name).await?;
    Ok((StatusCode::CREATED, Json(token_out(&t, Some(token)))))
}

#[utoipa::path(get, path = "/api/v1/scim-tokens", tag = "directory", responses((status = 200, body = ScimTokenList), (status = 403)))]
pub async fn list_scim_tokens(State(app): State<App>, caller: Caller) -> ApiResult<Json<ScimTokenList>> {
    let items = app.scim_tokens(&caller.ctx).await?.iter().map(|t| token_out(t, None)).collect();
    Ok(Json(ScimTokenList { items }))
}

#[utoipa::path(delete, path = "/api/v1/scim-tokens/{id}", tag = "directory", params(("id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn revoke_scim_token(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    app.revoke_scim_token(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DIR3: a responsibility a directory-deactivated user still held.
#[derive(Serialize, ToSchema)]
pub struct OffboardingItemOut {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub target: OffboardingTarget,
    pub fix: String,
    pub created_at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OffboardingTarget {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
}

pub fn item_out(i: &store::OffboardingItem) -> OffboardingItemOut {
    OffboardingItemOut {
        id: i.id.clone(),
        user_id: i.user_id.clone(),
        kind: i.kind.as_str().to_owned(),
        target: OffboardingTarget {
            kind: i.target_type.to_string(),
            id: i.target_id.clone(),
            name: i.target_name.clone(),
        },
        fix: i.fix.clone(),
        created_at: i.created_at,
    }
}

#[utoipa::path(get, path = "/api/v1/offboarding-items", tag = "directory", params(PageQuery),
    responses((status = 200, body = ListOut<OffboardingItemOut>), (status = 403), (status = 422)))]
pub async fn offboarding_items(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<OffboardingItemOut>>> {
    let l = app.offboarding_items(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, item_out)))
}
