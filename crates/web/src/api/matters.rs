//! Matters, participants and D9's bulk update of the lead company person.

use super::schema::{MatterNumberText, MatterRoleName, NameText};
use super::PageQuery;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::types::{ListOut, MatterOut, ParticipantOut};
use app::matters::{MatterInput, NewParticipant};
use app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::{MatterId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new matter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMatterIn {
    #[schema(value_type = NameText)]
    pub name: String,
    #[schema(value_type = MatterNumberText)]
    pub number: String,
    /// An active company user; always a matter administrator of the matter.
    pub lead_company_person_id: String,
    pub open_for_editing: Option<bool>,
    pub open_for_invoicing: Option<bool>,
}

impl From<NewMatterIn> for MatterInput {
    fn from(m: NewMatterIn) -> Self {
        MatterInput {
            name: Some(m.name),
            number: Some(m.number),
            lead_company_person_id: Some(m.lead_company_person_id),
            open_for_editing: m.open_for_editing,
            open_for_invoicing: m.open_for_invoicing,
        }
    }
}

/// Changes to a matter: only the fields present.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatterIn {
    #[schema(value_type = Option<NameText>)]
    pub name: Option<String>,
    #[schema(value_type = Option<MatterNumberText>)]
    pub number: Option<String>,
    /// An active company user; always a matter administrator of the matter.
    pub lead_company_person_id: Option<String>,
    pub open_for_editing: Option<bool>,
    pub open_for_invoicing: Option<bool>,
}

impl From<MatterIn> for MatterInput {
    fn from(m: MatterIn) -> Self {
        MatterInput {
            name: m.name,
            number: m.number,
            lead_company_person_id: m.lead_company_person_id,
            open_for_editing: m.open_for_editing,
            open_for_invoicing: m.open_for_invoicing,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/matters", tag = "matters", params(PageQuery), responses((status = 200, body = ListOut<MatterOut>), (status = 422)))]
pub async fn list_matters(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<MatterOut>>> {
    let l = app.list_matters(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| MatterOut::from(x))))
}

#[utoipa::path(post, path = "/api/v1/matters", tag = "matters", request_body = NewMatterIn, responses((status = 201, body = MatterOut), (status = 403), (status = 409), (status = 422)))]
pub async fn create_matter(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<NewMatterIn>,
) -> ApiResult<(StatusCode, Json<MatterOut>)> {
    let m = app.create_matter(&caller.ctx, b.into()).await?;
    Ok((StatusCode::CREATED, Json(MatterOut::from(&m))))
}

#[utoipa::path(get, path = "/api/v1/matters/{id}", tag = "matters", responses((status = 200, body = MatterOut), (status = 404, body = super::ErrorBody)))]
pub async fn get_matter(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<MatterOut>> {
    Ok(Json(MatterOut::from(&app.matter(&caller.ctx, &MatterId::from(id)).await?)))
}

/// Edit a matter; closing it for editing or invoicing notifies (M2).
#[utoipa::path(patch, path = "/api/v1/matters/{id}", tag = "matters", request_body = MatterIn, responses((status = 200, body = MatterOut), (status = 403), (status = 409), (status = 422)))]
pub async fn patch_matter(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MatterIn>,
) -> ApiResult<Json<MatterOut>> {
    Ok(Json(MatterOut::from(
        &app.update_matter(&caller.ctx, &MatterId::from(id), b.into()).await?,
    )))
}

/// Participants, deactivated users included with `user_deactivated`.
#[utoipa::path(get, path = "/api/v1/matters/{id}/participants", tag = "matters", params(PageQuery), responses((status = 200, body = ListOut<ParticipantOut>), (status = 422)))]
pub async fn list_participants(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<ParticipantOut>>> {
    let l = app.participants(&caller.ctx, &MatterId::from(id), q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| ParticipantOut::from(x))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantIn {
    pub user_id: String,
    #[schema(value_type = MatterRoleName)]
    pub role: String,
    #[serde(default = "yes")]
    pub receives_notifications: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct ParticipantSaved {
    pub matter_id: String,
    pub user_id: String,
    #[schema(value_type = MatterRoleName)]
    pub role: String,
    pub receives_notifications: bool,
}

/// Add a participant (or change their role); emails them (M1, N2).
#[utoipa::path(post, path = "/api/v1/matters/{id}/participants", tag = "matters", request_body = ParticipantIn, responses((status = 201, body = ParticipantSaved), (status = 403), (status = 409), (status = 422)))]
pub async fn add_participant(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ParticipantIn>,
) -> ApiResult<(StatusCode, Json<ParticipantSaved>)> {
    let p = app
        .add_participant(
            &caller.ctx,
            &MatterId::from(id),
            NewParticipant {
                user_id: b.user_id,
                role: b.role,
                receives_notifications: b.receives_notifications,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ParticipantSaved {
            matter_id: p.matter_id.to_string(),
            user_id: p.user_id.to_string(),
            role: p.role.as_str().into(),
            receives_notifications: p.receives_notifications,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/matters/{id}/participants/{user_id}", tag = "matters", responses((status = 204), (status = 403), (status = 409)))]
pub async fn remove_participant(
    State(app): State<App>,
    caller: Caller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.remove_participant(&caller.ctx, &MatterId::from(id), &UserId::from(user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkLeadIn {
    pub from_user_id: String,
    pub to_user_id: String,
    /// Only these open matters of `from_user_id`; all of them when absent.
    #[schema(min_items = 1, max_items = 1000)]
    pub matter_ids: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkLeadOut {
    pub updated: usize,
    pub matter_ids: Vec<String>,
}

/// D9: reassign the lead company person of open matters in one step.
#[utoipa::path(post, path = "/api/v1/bulk-update/lead-company-person", tag = "matters", request_body = BulkLeadIn, responses((status = 200, body = BulkLeadOut), (status = 403), (status = 409), (status = 422)))]
pub async fn bulk_update_lead(State(app): State<App>, caller: Caller, ApiJson(b): ApiJson<BulkLeadIn>) -> ApiResult<Json<BulkLeadOut>> {
    let r = app
        .bulk_update_lead(&caller.ctx, &b.from_user_id, &b.to_user_id, b.matter_ids)
        .await?;
    Ok(Json(BulkLeadOut {
        updated: r.updated.len(),
        matter_ids: r.updated.iter().map(|m| m.to_string()).collect(),
    }))
}
