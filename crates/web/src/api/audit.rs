//! The audit log.

use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::types::{AuditOut, AuditVerifyOut, ListOut};
use app::audit::AuditFilter;
use app::{App, AppError, Page};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    /// e.g. `user.deactivated`.
    pub action: Option<String>,
    /// Inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

/// The filters of `GET /audit` without its paging, for the CSV export,
/// which streams every matching entry.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditExportQuery {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    /// e.g. `user.deactivated`.
    pub action: Option<String>,
    /// Inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
}

impl From<AuditExportQuery> for AuditQuery {
    fn from(q: AuditExportQuery) -> Self {
        Self {
            actor_id: q.actor_id,
            target_id: q.target_id,
            action: q.action,
            from: q.from,
            to: q.to,
            page: None,
            per_page: None,
        }
    }
}

fn parse_time(field: &'static str, s: &str) -> Result<i64, AppError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            AppError::bad_request(
                "invalid_query",
                format!("{field}: use an RFC 3339 time such as 2026-11-22T10:00:00Z"),
            )
            .on_field(field)
        })
}

/// The filter of `GET /audit` (and of its CSV export).
pub fn audit_filter(q: &AuditQuery) -> Result<AuditFilter, AppError> {
    Ok(AuditFilter {
        actor_id: q.actor_id.clone(),
        target_id: q.target_id.clone(),
        action: q.action.clone(),
        from: q.from.as_deref().map(|s| parse_time("from", s)).transpose()?,
        to: q.to.as_deref().map(|s| parse_time("to", s)).transpose()?,
    })
}

/// Every change, newest first (company system administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = ListOut<AuditOut>), (status = 403), (status = 422)))]
pub async fn audit_log(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult<Json<ListOut<AuditOut>>> {
    let filter = audit_filter(&q)?;
    let l = app.audit_log(&caller.ctx, filter, Page::new(q.page, q.per_page)?).await?;
    Ok(Json(ListOut::of(&l, |x| AuditOut::from(x))))
}

/// A1: walks the audit hash chain (company system administrators).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = AuditVerifyOut), (status = 403)))]
pub async fn audit_verify(State(app): State<App>, caller: Caller) -> ApiResult<Json<AuditVerifyOut>> {
    let report = app.audit_verify(&caller.ctx).await?;
    Ok(Json(AuditVerifyOut::from(&report)))
}
