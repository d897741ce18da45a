//! Offices/regions and firms.

use super::schema::{EmailText, NameText, PersonNameText};
use super::PageQuery;
use crate::error::ApiResult;
use crate::extract::{nullable, ApiJson, ApiQuery, Caller};
use crate::types::{FirmOut, ListOut, OfficeOut, UserOut};
use app::firms::{NewFirm, NewFirmAdministrator};
use app::offices::OfficeInput;
use app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::{FirmId, OfficeId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new office or region.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficeIn {
    #[schema(value_type = NameText)]
    pub name: String,
    pub active: Option<bool>,
    /// An active company user.
    pub coordinator_id: Option<String>,
    pub backup_coordinator_id: Option<String>,
}

impl From<NewOfficeIn> for OfficeInput {
    fn from(o: NewOfficeIn) -> Self {
        OfficeInput {
            name: Some(o.name),
            active: o.active,
            coordinator_id: o.coordinator_id.map(Some),
            backup_coordinator_id: o.backup_coordinator_id.map(Some),
        }
    }
}

/// Changes to an office: only the fields present.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeIn {
    #[schema(value_type = Option<NameText>)]
    pub name: Option<String>,
    pub active: Option<bool>,
    /// An active company user; `null` clears.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub coordinator_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub backup_coordinator_id: Option<Option<String>>,
}

impl From<OfficeIn> for OfficeInput {
    fn from(o: OfficeIn) -> Self {
        OfficeInput {
            name: o.name,
            active: o.active,
            coordinator_id: o.coordinator_id,
            backup_coordinator_id: o.backup_coordinator_id,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/offices", tag = "offices", params(PageQuery), responses((status = 200, body = ListOut<OfficeOut>), (status = 403), (status = 422)))]
pub async fn list_offices(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<OfficeOut>>> {
    let l = app.list_offices(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| OfficeOut::from(x))))
}

#[utoipa::path(post, path = "/api/v1/offices", tag = "offices", request_body = NewOfficeIn, responses((status = 201, body = OfficeOut), (status = 403), (status = 409), (status = 422)))]
pub async fn create_office(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NewOfficeIn>,
) -> ApiResult<(StatusCode, Json<OfficeOut>)> {
    let o = app.create_office(&caller.ctx, b.into()).await?;
    Ok((StatusCode::CREATED, Json(OfficeOut::from(&o))))
}

#[utoipa::path(get, path = "/api/v1/offices/{id}", tag = "offices", responses((status = 200, body = OfficeOut), (status = 403)))]
pub async fn get_office(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<OfficeOut>> {
    Ok(Json(OfficeOut::from(&app.office(&caller.ctx, &OfficeId::from(id)).await?)))
}

#[utoipa::path(patch, path = "/api/v1/offices/{id}", tag = "offices", request_body = OfficeIn, responses((status = 200, body = OfficeOut), (status = 403), (status = 409), (status = 422)))]
pub async fn patch_office(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OfficeIn>,
) -> ApiResult<Json<OfficeOut>> {
    Ok(Json(OfficeOut::from(
        &app.update_office(&caller.ctx, &OfficeId::from(id), b.into()).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmAdminIn {
    #[schema(value_type = EmailText)]
    pub email: String,
    #[schema(value_type = PersonNameText)]
    pub first_name: String,
    #[schema(value_type = PersonNameText)]
    pub last_name: String,
    #[serde(default)]
    pub hold_new_user_email: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmIn {
    #[schema(value_type = NameText)]
    pub name: String,
    /// The firm's first user, its Firm Administrator (N1 applies).
    pub administrator: FirmAdminIn,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedFirm {
    #[serde(flatten)]
    pub firm: FirmOut,
    pub administrator: UserOut,
}

#[utoipa::path(get, path = "/api/v1/firms", tag = "firms", params(PageQuery), responses((status = 200, body = ListOut<FirmOut>), (status = 403), (status = 422)))]
pub async fn list_firms(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<FirmOut>>> {
    let l = app.list_firms(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| FirmOut::from(x))))
}

/// Create a firm and its Firm Administrator.
#[utoipa::path(post, path = "/api/v1/firms", tag = "firms", request_body = FirmIn, responses((status = 201, body = CreatedFirm), (status = 403), (status = 409), (status = 422)))]
pub async fn create_firm(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<FirmIn>,
) -> ApiResult<(StatusCode, Json<CreatedFirm>)> {
    let a = b.administrator;
    let (firm, admin) = app
        .create_firm(
            &caller.ctx,
            NewFirm {
                name: b.name,
                administrator: NewFirmAdministrator {
                    email: a.email,
                    first_name: a.first_name,
                    last_name: a.last_name,
                    hold_new_user_email: a.hold_new_user_email,
                },
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedFirm {
            firm: FirmOut::from(&firm),
            administrator: UserOut::details(&admin, app.now()),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/firms/{id}", tag = "firms", responses((status = 200, body = FirmOut), (status = 403)))]
pub async fn get_firm(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<FirmOut>> {
    Ok(Json(FirmOut::from(&app.firm(&caller.ctx, &FirmId::from(id)).await?)))
}
