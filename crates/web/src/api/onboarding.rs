//! N3: *Email new users* — the report, then the confirm step.

use super::PageQuery;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::types::{ListOut, UserOut};
use app::App;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Active users in the caller's scope never sent the new user email.
#[utoipa::path(get, path = "/api/v1/new-user-emails/pending", tag = "onboarding", params(PageQuery), responses((status = 200, body = ListOut<UserOut>), (status = 403), (status = 422)))]
pub async fn pending(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<UserOut>>> {
    let l = app.pending_new_user_emails(&caller.ctx, q.page()?).await?;
    let now = app.now();
    Ok(Json(ListOut {
        items: UserOut::page_items(&l, now),
        total: l.total,
        page: l.page.page,
        per_page: l.page.per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SentOut {
    pub sent: i64,
    pub message: String,
}

/// Sends the new user email to all of them; when none, says they all have it.
#[utoipa::path(post, path = "/api/v1/new-user-emails/send", tag = "onboarding", responses((status = 200, body = SentOut), (status = 403)))]
pub async fn send_all(State(app): State<App>, caller: Caller) -> ApiResult<Json<SentOut>> {
    let r = app.send_pending_new_user_emails(&caller.ctx).await?;
    Ok(Json(SentOut {
        sent: r.sent,
        message: r.message,
    }))
}
