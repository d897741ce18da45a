//! Users: list, create, read, edit (with deactivation and reactivation),
//! the deactivation check, sending, reset, history and delegates.

use super::schema::{BlockerOut, EmailText, OrgSelector, PersonNameText, RoleName, SideName, SortOrder, UserSortKey, UserStatusFilter};
use super::PageQuery;
use crate::error::blocker_json;
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, ApiJson, ApiQuery, Caller};
use crate::types::{AuditOut, ListOut, SizedJson, UserOut, UserRef};
use app::users::{NewUser, StatusFilter, UserFilter, UserPatch};
use app::{App, AppError, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::{FirmId, UserId};
use serde::{Deserialize, Serialize};
use store::{Org, SortKey};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// `all` (default), `company`, `firms` or `firm:<id>`.
    #[param(value_type = Option<OrgSelector>)]
    pub org: Option<String>,
    /// `active` (default), `inactive`, `all` or `locked`.
    #[param(value_type = Option<UserStatusFilter>)]
    pub status: Option<String>,
    /// Starts of first name, last name or email.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `name` (default), `email` or `last_sign_in`.
    #[param(value_type = Option<UserSortKey>)]
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(value_type = Option<SortOrder>)]
    pub order: Option<String>,
    /// Shallow pages; for deep pages follow `next`.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
    /// The `next` cursor of the previous answer (P1): the page after it,
    /// as cheap as the first; `page` is then ignored.
    pub cursor: Option<String>,
}

/// A page of users, with the cursor of the next page.
#[derive(Serialize, ToSchema)]
pub struct UserListOut {
    pub items: Vec<UserOut>,
    /// Exact, kept up to date by every change rather than counted. A
    /// search (`q`) counts its matches up to 1,000: with more, `total` is
    /// 1,000 and `total_exact` is false.
    pub total: i64,
    /// False when `total` is a lower bound: a search with more than 1,000
    /// matches (refine `q`, or page on with `next`).
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn bad(field: &'static str, msg: &str) -> AppError {
    AppError::bad_request("invalid_query", format!("{field}: {msg}")).on_field(field)
}

/// Parses R2's selectors.
pub fn user_filter(q: &UserListQuery) -> Result<(UserFilter, Page), AppError> {
    let org = match q.org.as_deref().unwrap_or("all") {
        "all" => Org::All,
        "company" => Org::Company,
        "firms" => Org::Firms,
        other => match other.strip_prefix("firm:") {
            Some(id) if !id.is_empty() => Org::Firm(FirmId::from(id)),
            _ => return Err(bad("org", "use all, company, firms or firm:<id>")),
        },
    };
    let status = match q.status.as_deref().unwrap_or("active") {
        "active" => StatusFilter::Active,
        "inactive" => StatusFilter::Inactive,
        "all" => StatusFilter::All,
        "locked" => StatusFilter::Locked,
        _ => return Err(bad("status", "use active, inactive, all or locked")),
    };
    let sort = match q.sort.as_deref().unwrap_or("name") {
        "name" => SortKey::Name,
        "email" => SortKey::Email,
        "last_sign_in" => SortKey::LastSignIn,
        _ => return Err(bad("sort", "use name, email or last_sign_in")),
    };
    let descending = match q.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        _ => return Err(bad("order", "use asc or desc")),
    };
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(bad("q", "at most 100 characters"));
    }
    Ok((
        UserFilter {
            org,
            status,
            q: q.q.clone(),
            sort,
            descending,
            cursor: q.cursor.clone(),
        },
        Page::new(q.page, q.per_page)?,
    ))
}

/// R2: the user list, within the caller's scope (S7).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListQuery), responses((status = 200, body = UserListOut), (status = 403), (status = 422)))]
pub async fn list_users(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<UserListQuery>) -> ApiResult<SizedJson<UserListOut>> {
    let (filter, page) = user_filter(&q)?;
    let l = app.list_users(&caller.ctx, filter, page).await?;
    let now = app.now();
    let items = UserOut::page_items(&l, now);
    Ok(SizedJson {
        // A user is about 650 bytes of JSON.
        capacity: 256 + items.len() * 768,
        value: UserListOut {
            items,
            total: l.total,
            total_exact: l.total_exact,
            page: l.page.page,
            per_page: l.page.per_page,
            next: l.next,
        },
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(value_type = EmailText)]
    pub email: String,
    #[schema(value_type = PersonNameText)]
    pub first_name: String,
    #[schema(value_type = PersonNameText)]
    pub last_name: String,
    /// `company` or `firm`; must match the role.
    #[schema(value_type = Option<SideName>)]
    pub side: Option<String>,
    /// Required for firm users; company users have none.
    pub firm_id: Option<String>,
    pub office_id: Option<String>,
    #[schema(value_type = RoleName)]
    pub role: String,
    /// N1: *Hold user notification until I specify or user is added to a matter*.
    #[serde(default)]
    pub hold_new_user_email: bool,
}

/// Create a user; the new user email goes out at once unless held (N1).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserOut), (status = 403), (status = 404, description = "`firm_id` names a firm outside the caller's scope."), (status = 409), (status = 422)))]
pub async fn create_user(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let d = app
        .create_user(
            &caller.ctx,
            NewUser {
                email: b.email,
                first_name: b.first_name,
                last_name: b.last_name,
                side: b.side,
                firm_id: b.firm_id,
                office_id: b.office_id,
                role: b.role,
                hold_new_user_email: b.hold_new_user_email,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(UserOut::details(&d, app.now()))))
}

/// One user, with `active`, `activated`, `new_user_email` and `directory_managed`.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", responses((status = 200, body = UserOut), (status = 404, body = super::ErrorBody)))]
pub async fn get_user(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<UserOut>> {
    let d = app.user_details(&caller.ctx, &UserId::from(id)).await?;
    Ok(Json(UserOut::details(&d, app.now())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// `false` deactivates (D1–D8), `true` reactivates (R1).
    pub active: Option<bool>,
    #[schema(value_type = Option<PersonNameText>)]
    pub first_name: Option<String>,
    #[schema(value_type = Option<PersonNameText>)]
    pub last_name: Option<String>,
    #[schema(value_type = Option<EmailText>)]
    pub email: Option<String>,
    /// Of the user's side; not the caller's own.
    #[schema(value_type = Option<RoleName>)]
    pub role: Option<String>,
    /// `null` removes the office.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub office_id: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct PatchedUser {
    #[serde(flatten)]
    pub user: UserOut,
    /// D4 warnings for a company-side administrator.
    #[schema(value_type = Vec<BlockerOut>)]
    pub warnings: Vec<serde_json::Value>,
}

/// Edit a user. A refused deactivation is 409 `deactivation_blocked` with every blocker.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = PatchUser,
    responses((status = 200, body = PatchedUser), (status = 403), (status = 409), (status = 422)))]
pub async fn patch_user(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PatchUser>,
) -> ApiResult<Json<PatchedUser>> {
    let id = UserId::from(id);
    let outcome = app
        .update_user(
            &caller.ctx,
            &id,
            UserPatch {
                active: b.active,
                first_name: b.first_name,
                last_name: b.last_name,
                email: b.email,
                role: b.role,
                office_id: b.office_id,
            },
        )
        .await?;
    let d = app.user_details(&caller.ctx, &id).await;
    // The caller may have moved the user out of their own scope.
    let user = match d {
        Ok(d) => UserOut::details(&d, app.now()),
        Err(_) => return Err(ApiError(AppError::not_found("user"))),
    };
    Ok(Json(PatchedUser {
        user,
        warnings: outcome.warnings.iter().map(blocker_json).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CheckOut {
    pub can_deactivate: bool,
    #[schema(value_type = Vec<BlockerOut>)]
    pub blockers: Vec<serde_json::Value>,
    #[schema(value_type = Vec<BlockerOut>)]
    pub warnings: Vec<serde_json::Value>,
    pub directory_managed: bool,
}

/// D5: every blocker and warning, without changing anything.
#[utoipa::path(get, path = "/api/v1/users/{id}/deactivation-check", tag = "users", responses((status = 200, body = CheckOut), (status = 403)))]
pub async fn deactivation_check(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<CheckOut>> {
    let c = app.deactivation_check(&caller.ctx, &UserId::from(id)).await?;
    Ok(Json(CheckOut {
        can_deactivate: c.can_deactivate,
        blockers: c.blockers.iter().map(blocker_json).collect(),
        warnings: c.warnings.iter().map(blocker_json).collect(),
        directory_managed: c.directory_managed,
    }))
}

/// N4: send the new user email to this user.
#[utoipa::path(post, path = "/api/v1/users/{id}/new-user-email", tag = "onboarding", responses((status = 202, body = UserOut), (status = 403), (status = 409)))]
pub async fn send_new_user_email(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let u = app.send_new_user_email(&caller.ctx, &UserId::from(id)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(UserOut::new(&u, app.now(), app.directory_managed(&u).await?)),
    ))
}

/// N5: reset password — old password, links and sessions end; a fresh link is emailed.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "onboarding", responses((status = 202, body = UserOut), (status = 403), (status = 409)))]
pub async fn reset_password(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let u = app.reset_password(&caller.ctx, &UserId::from(id)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(UserOut::new(&u, app.now(), app.directory_managed(&u).await?)),
    ))
}

/// S4: end a lockout (administrators in scope).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", responses((status = 200, body = UserOut), (status = 403)))]
pub async fn unlock(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<UserOut>> {
    let u = app.unlock_user(&caller.ctx, &UserId::from(id)).await?;
    Ok(Json(UserOut::new(&u, app.now(), app.directory_managed(&u).await?)))
}

/// R3: every administrative change and sign-in of the user, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/history", tag = "users", params(PageQuery), responses((status = 200, body = ListOut<AuditOut>), (status = 403), (status = 422)))]
pub async fn history(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<AuditOut>>> {
    let l = app.user_history(&caller.ctx, &UserId::from(id), q.page()?).await?;
    Ok(Json(ListOut::of(&l, |x| AuditOut::from(x))))
}

/// The administrator's view of a user's delegations.
#[utoipa::path(get, path = "/api/v1/users/{id}/delegates", tag = "users", responses((status = 200, body = super::sessions::DelegatesOut), (status = 403)))]
pub async fn delegates(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<super::sessions::DelegatesOut>> {
    let v = app.user_delegates(&caller.ctx, &UserId::from(id)).await?;
    Ok(Json(super::sessions::DelegatesOut {
        delegates: v.delegates.iter().map(UserRef::from).collect(),
        delegators: v.delegators.iter().map(UserRef::from).collect(),
    }))
}
