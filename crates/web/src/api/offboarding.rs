//! SPEC §5b: the offboarding plan, offboarding now or on a date, and the
//! scheduled deactivations.

use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};
use crate::types::{ts, UserOut};
use app::offboarding::{OffboardInput, Plan};
use app::{App, AppError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::offboarding::Item;
use domain::UserId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use store::ScheduledDeactivation;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TargetOut {
    /// `matter`, `office`, `route`, `user` or `settings`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    /// The route level (from 1), for route items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanItemOut {
    /// Stable while the responsibility lasts; the key of `successors`.
    pub key: String,
    /// `lead_company_person`, `office_coordinator`, `office_backup_coordinator`,
    /// `route_primary_approver`, `route_alternate_approver`,
    /// `only_firm_user_on_matter`, `only_notified_firm_user_on_matter`,
    /// `matter_participation`, `delegation_given`, `delegation_received`,
    /// `route_delegate` or `tracker_coordinator`.
    pub kind: String,
    pub target: TargetOut,
    /// Stands in the way of the deactivation (D3/D4) until handed over.
    pub blocking: bool,
    /// Blocking, and cannot be left empty (a backup or alternate can).
    pub successor_required: bool,
    pub suggested_successor_id: Option<String>,
    /// The matter role a successor takes, for participations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matter_role: Option<String>,
}

/// Items of one kind together ("Lead company person of 3 open matters").
#[derive(Serialize, ToSchema)]
pub struct PlanGroupOut {
    /// Also a key of `successors`: one successor for the whole group.
    pub kind: String,
    pub label: String,
    pub count: usize,
    pub blocking: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleOut {
    pub user_id: String,
    #[schema(format = DateTime)]
    pub effective_at: String,
    /// `scheduled`, or `failed` (with `failure`: why nothing was changed).
    pub status: String,
    pub failure: Option<String>,
    pub successors: BTreeMap<String, String>,
    pub default_successor_id: Option<String>,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&ScheduledDeactivation> for ScheduleOut {
    fn from(s: &ScheduledDeactivation) -> Self {
        Self {
            user_id: s.user_id.clone(),
            effective_at: ts(s.effective_at),
            status: s.status.to_string(),
            failure: s.failure.clone(),
            successors: serde_json::from_str(&s.successors_json).unwrap_or_default(),
            default_successor_id: s.default_successor_id.clone(),
            created_by: s.created_by_label.clone(),
            created_at: ts(s.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlanOut {
    pub user_id: String,
    pub items: Vec<PlanItemOut>,
    pub groups: Vec<PlanGroupOut>,
    /// Nothing blocking: the user could be deactivated as things stand.
    pub can_deactivate: bool,
    pub scheduled: Option<ScheduleOut>,
}

fn item_out(i: &Item) -> PlanItemOut {
    PlanItemOut {
        key: i.key.clone(),
        kind: i.kind.as_str().into(),
        target: TargetOut {
            kind: i.target.kind.as_str().into(),
            id: i.target.id.clone(),
            name: i.target.name.clone(),
            level: i.target.level,
        },
        blocking: i.blocking,
        successor_required: i.needs_successor(),
        suggested_successor_id: i.suggested_successor_id.as_ref().map(|u| u.to_string()),
        matter_role: i.matter_role.map(|r| r.as_str().into()),
    }
}

pub fn plan_out(p: &Plan) -> PlanOut {
    let mut groups: Vec<PlanGroupOut> = Vec::new();
    for i in &p.items {
        match groups.iter_mut().find(|g| g.kind == i.kind.as_str()) {
            Some(g) => {
                g.count += 1;
                g.blocking |= i.blocking;
            }
            None => groups.push(PlanGroupOut {
                kind: i.kind.as_str().into(),
                label: String::new(),
                count: 1,
                blocking: i.blocking,
            }),
        }
    }
    for g in &mut groups {
        if let Some(k) = domain::offboarding::ItemKind::parse(&g.kind) {
            g.label = k.label(g.count);
        }
    }
    PlanOut {
        user_id: p.user.id.to_string(),
        can_deactivate: !p.items.iter().any(|i| i.blocking),
        items: p.items.iter().map(item_out).collect(),
        groups,
        scheduled: p.scheduled.as_ref().map(ScheduleOut::from),
    }
}

/// O1: every responsibility of the user, blocking or not, with suggested successors.
#[utoipa::path(get, path = "/api/v1/users/{id}/offboarding-plan", tag = "users",
    responses((status = 200, body = PlanOut), (status = 403), (status = 404, body = super::ErrorBody)))]
pub async fn plan(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<PlanOut>> {
    let p = app.offboarding_plan(&caller.ctx, &UserId::from(id)).await?;
    Ok(Json(plan_out(&p)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardIn {
    /// Takes every item nobody is named for.
    pub default_successor_id: Option<String>,
    /// `{item key or item kind: user id}`.
    #[serde(default)]
    pub successors: HashMap<String, String>,
    /// RFC 3339. In the future: the plan is stored and carried out then.
    #[schema(format = DateTime)]
    pub effective_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OffboardedOut {
    pub user: UserOut,
    /// Responsibilities handed over, one audit entry each.
    pub reassigned: usize,
    /// Set when the deactivation was scheduled rather than done.
    pub scheduled: Option<ScheduleOut>,
}

/// Parses an RFC 3339 moment into milliseconds since the epoch.
pub fn parse_moment(field: &'static str, s: &str) -> Result<i64, AppError> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            domain::Invalid::new(
                field,
                "invalid_date",
                format!("{field}: an RFC 3339 date and time, e.g. 2026-05-04T17:00:00Z"),
            )
            .into()
        })
}

/// O2/O3: hand every responsibility over and deactivate, now or on `effective_at`.
/// 422 lists every invalid successor (`fields[].field` = `successors.<key>`) and changes nothing.
#[utoipa::path(post, path = "/api/v1/users/{id}/offboard", tag = "users", request_body = OffboardIn,
    responses(
        (status = 200, body = OffboardedOut, links(
            // A deactivation set for later can be cancelled. The id is the
            // scheduled one's: an offboarding done at once (no `scheduled`)
            // leaves nothing to cancel, and then the link gives no value.
            ("CancelScheduledDeactivation" = (operation_id = "cancel", parameters(("id" = "$response.body#/scheduled/user_id")))),
        )),
        (status = 403), (status = 404, body = super::ErrorBody), (status = 409), (status = 422)))]
pub async fn offboard(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OffboardIn>,
) -> ApiResult<Json<OffboardedOut>> {
    let effective_at = b.effective_at.as_deref().map(|s| parse_moment("effective_at", s)).transpose()?;
    let done = app
        .offboard(
            &caller.ctx,
            &UserId::from(id),
            OffboardInput {
                default_successor_id: b.default_successor_id,
                successors: b.successors,
                effective_at,
            },
        )
        .await?;
    let managed = app.directory_managed(&done.user).await?;
    Ok(Json(OffboardedOut {
        user: UserOut::new(&done.user, app.now(), managed),
        reassigned: done.reassigned,
        scheduled: done.scheduled.as_ref().map(ScheduleOut::from),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ScheduledItemOut {
    #[serde(flatten)]
    pub plan: ScheduleOut,
    pub user: UserOut,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduledListOut {
    pub items: Vec<ScheduledItemOut>,
    pub total: usize,
}

/// O3: deactivations to come (and those that could not be carried out), soonest first.
#[utoipa::path(get, path = "/api/v1/scheduled-deactivations", tag = "users", responses((status = 200, body = ScheduledListOut), (status = 403)))]
pub async fn list(State(app): State<App>, caller: Caller) -> ApiResult<Json<ScheduledListOut>> {
    let views = app.scheduled_deactivations(&caller.ctx).await?;
    let now = app.now();
    let items: Vec<ScheduledItemOut> = views
        .iter()
        .map(|v| ScheduledItemOut {
            plan: ScheduleOut::from(&v.plan),
            user: UserOut::new(&v.user, now, v.directory_managed),
        })
        .collect();
    Ok(Json(ScheduledListOut { total: items.len(), items }))
}

/// O3: cancel a scheduled deactivation.
#[utoipa::path(delete, path = "/api/v1/users/{id}/scheduled-deactivation", tag = "users",
    responses((status = 204), (status = 403), (status = 404, body = super::ErrorBody)))]
pub async fn cancel(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    app.cancel_scheduled_deactivation(&caller.ctx, &UserId::from(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
