//! Sign-in, sign-out, set password from a link, and the caller's own views.

use super::PageQuery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{csrf_token, session_cookie, ApiJson, ApiQuery, Caller, ClientIp, SESSION_COOKIE};
use crate::types::{ListOut, MatterOut, UserOut, UserRef};
use app::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use axum_extra::extract::cookie::Cookie;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    /// For cookie sessions: send as `X-CSRF-Token` on every change.
    pub csrf_token: String,
    pub user: UserOut,
}

/// Sign in (S1, S2). Every failure answers 401 `invalid_credentials`.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = SignIn, security(()),
    responses((status = 201, body = SessionOut), (status = 401, description = "S2: unknown, wrong password, inactive or locked, all alike."), (status = 429)))]
pub async fn sign_in(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<(StatusCode, CookieJar, Json<SessionOut>)> {
    let s = app.sign_in(&body.email, &body.password, ip).await?;
    let now = app.now();
    let out = SessionOut {
        csrf_token: csrf_token(&s.token),
        expires_at: crate::types::ts(s.expires_at),
        user: UserOut::new(&s.user, now, app.directory_managed(&s.user).await?),
        token: s.token.clone(),
    };
    Ok((StatusCode::CREATED, jar.add(session_cookie(&app, s.token)), Json(out)))
}

/// Sign out: the session ends at once.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", responses((status = 204)))]
pub async fn sign_out(State(app): State<App>, caller: Caller, jar: CookieJar) -> ApiResult<(StatusCode, CookieJar)> {
    app.sign_out(&caller.ctx, &caller.token_hash).await?;
    Ok((StatusCode::NO_CONTENT, jar.remove(Cookie::build(SESSION_COOKIE).path("/").build())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The token of the emailed link.
    pub token: String,
    pub password: String,
}

/// N6: set a password from a one-time link; activates the account.
#[utoipa::path(post, path = "/api/v1/password/set", tag = "sessions", request_body = SetPassword, security(()),
    responses((status = 200, body = UserOut), (status = 422), (status = 429)))]
pub async fn set_password(State(app): State<App>, ClientIp(ip): ClientIp, ApiJson(body): ApiJson<SetPassword>) -> ApiResult<Json<UserOut>> {
    let user = app.set_password_with_link(&body.token, &body.password, ip).await?;
    Ok(Json(UserOut::new(&user, app.now(), app.directory_managed(&user).await?)))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = UserOut), (status = 401, body = super::ErrorBody)))]
pub async fn me(State(app): State<App>, caller: Caller) -> ApiResult<Json<UserOut>> {
    let d = app.user_details(&caller.ctx, &caller.user.id).await?;
    Ok(Json(UserOut::details(&d, app.now())))
}

/// Matters the caller can reach: directly, through an active delegator, or
/// all of them as a company system administrator.
#[utoipa::path(get, path = "/api/v1/me/matters", tag = "me", params(PageQuery), responses((status = 200, body = ListOut<MatterOut>), (status = 422)))]
pub async fn my_matters(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ListOut<MatterOut>>> {
    let l = app.list_matters(&caller.ctx, q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| MatterOut::from(x))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegatesIn {
    /// At most 5 different active users of the caller's organisation (a
    /// repeated id counts once), never the caller.
    #[schema(max_items = 10)]
    pub delegate_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DelegatesOut {
    pub delegates: Vec<UserRef>,
    /// Who has named this user as delegate.
    pub delegators: Vec<UserRef>,
}

/// The caller's delegates.
#[utoipa::path(get, path = "/api/v1/me/delegates", tag = "me", responses((status = 200, body = DelegatesOut)))]
pub async fn my_delegates(State(app): State<App>, caller: Caller) -> ApiResult<Json<DelegatesOut>> {
    let v = app.my_delegates(&caller.ctx).await?;
    Ok(Json(DelegatesOut {
        delegates: v.delegates.iter().map(UserRef::from).collect(),
        delegators: v.delegators.iter().map(UserRef::from).collect(),
    }))
}

/// Replace the caller's delegates (at most 5).
#[utoipa::path(put, path = "/api/v1/me/delegates", tag = "me", request_body = DelegatesIn, responses((status = 200, body = DelegatesOut), (status = 409), (status = 422)))]
pub async fn set_my_delegates(
    State(app): State<App>,
    caller: Caller,
    ApiJson(body): ApiJson<DelegatesIn>,
) -> ApiResult<Json<DelegatesOut>> {
    if body.delegate_ids.len() > 100 {
        return Err(ApiError(
            domain::Invalid::new("delegate_ids", "too_many_delegates", "at most 5 delegates").into(),
        ));
    }
    app.set_my_delegates(&caller.ctx, body.delegate_ids).await?;
    my_delegates(State(app), caller).await
}
