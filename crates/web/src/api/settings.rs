//! Company settings.

use super::schema::{NameText, RoleName};
use crate::error::ApiResult;
use crate::extract::{nullable, ApiJson, Caller};
use app::settings::{settings_json, SettingsPatch, SsoPatch};
use app::App;
use axum::extract::State;
use axum::Json;
use domain::model::Lockout;
use domain::password::PasswordPolicy;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIn {
    #[schema(minimum = 8, maximum = 128)]
    pub min_length: i64,
    /// Of lower, upper, digit, symbol.
    #[schema(minimum = 1, maximum = 4)]
    pub min_classes: i64,
    /// Earlier passwords that may not be reused.
    #[schema(minimum = 0, maximum = 24)]
    pub history: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockoutIn {
    #[schema(minimum = 1, maximum = 100)]
    pub max_failures: i64,
    #[schema(minimum = 1, maximum = 1440)]
    pub window_minutes: i64,
    #[schema(minimum = 1, maximum = 10080)]
    pub duration_minutes: i64,
    #[schema(minimum = 30, maximum = 366)]
    pub inactivity_days: i64,
}

/// S11: how long a session lasts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsIn {
    /// A session ends after this many minutes without a request (default 30).
    #[schema(minimum = 5, maximum = 1440)]
    pub idle_minutes: Option<i64>,
    /// A session ends this many hours after sign-in in any case (default 12).
    #[schema(minimum = 1, maximum = 720)]
    pub lifetime_hours: Option<i64>,
}

/// SSO1: the registration of Tracker at the company's OpenID Connect
/// identity provider. Saving a new issuer runs discovery against it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoIn {
    /// The issuer URL exactly as the provider states it (https; http only on
    /// a loopback host).
    #[schema(max_length = 500)]
    pub issuer: Option<String>,
    #[schema(max_length = 255)]
    pub client_id: Option<String>,
    /// Write-only: kept when absent, never answered.
    #[schema(max_length = 1000)]
    pub client_secret: Option<String>,
    /// Company users sign in only through the identity provider; firm
    /// users and system administrators keep their passwords.
    pub only_sso_for_company_users: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsIn {
    #[schema(value_type = Option<NameText>)]
    pub company_name: Option<String>,
    /// D6: the directory owns company users' lifecycle.
    pub active_directory_sync: Option<bool>,
    /// N6: named in every new user email; an active company user, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub tracker_coordinator_id: Option<Option<String>>,
    pub password_policy: Option<PolicyIn>,
    pub lockout: Option<LockoutIn>,
    /// N6: lifetime of emailed links, in hours.
    #[schema(minimum = 1, maximum = 720)]
    pub link_ttl_hours: Option<i64>,
    pub sessions: Option<SessionsIn>,
    /// O3: days before a scheduled deactivation at which the system
    /// administrators are reminded of blocking items without a successor.
    #[schema(minimum = 1, maximum = 60)]
    pub offboarding_reminder_days: Option<i64>,
    /// SSO1: single sign-on; null turns it off.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<SsoIn>, nullable)]
    pub sso: Option<Option<SsoIn>>,
    /// DIR1: which directory groups give their members which role. The
    /// whole mapping, replacing the current one; the members of every
    /// group whose role changes get it at once.
    pub directory_group_roles: Option<Vec<GroupRoleIn>>,
}

/// DIR1: members of the directory group `group` (its SCIM displayName,
/// without regard to case) get `role`; in several mapped groups, the most
/// powerful role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleIn {
    #[schema(min_length = 1, max_length = 256)]
    pub group: String,
    /// A company role.
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// The settings as `GET /settings` and `PATCH /settings` answer them.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SettingsOut {
    pub company_name: String,
    pub active_directory_sync: bool,
    pub tracker_coordinator_id: Option<String>,
    pub password_policy: PolicyOut,
    pub lockout: LockoutOut,
    pub link_ttl_hours: i64,
    pub sessions: SessionsOut,
    pub offboarding_reminder_days: i64,
    pub directory_group_roles: Vec<GroupRoleOut>,
    /// Null when single sign-on is off.
    pub sso: Option<SsoOut>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct GroupRoleOut {
    pub group: String,
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// SSO1: the identity provider registration; the secret is never answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SsoOut {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_set: bool,
    pub only_sso_for_company_users: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PolicyOut {
    pub min_length: i64,
    pub min_classes: i64,
    pub history: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LockoutOut {
    pub max_failures: i64,
    pub window_minutes: i64,
    pub duration_minutes: i64,
    pub inactivity_days: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SessionsOut {
    pub idle_minutes: i64,
    pub lifetime_hours: i64,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = SettingsOut), (status = 403)))]
pub async fn get_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(settings_json(&app.settings(&caller.ctx).await?)))
}

#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = SettingsIn, responses((status = 200, body = SettingsOut), (status = 403), (status = 409), (status = 422)))]
pub async fn patch_settings(State(app): State<App>, caller: Caller, ApiJson(b): ApiJson<SettingsIn>) -> ApiResult<Json<serde_json::Value>> {
    let patch = SettingsPatch {
        company_name: b.company_name,
        active_directory_sync: b.active_directory_sync,
        tracker_coordinator_id: b.tracker_coordinator_id,
        password_policy: b.password_policy.map(|p| PasswordPolicy {
            min_length: p.min_length,
            min_classes: p.min_classes,
            history: p.history,
        }),
        lockout: b.lockout.map(|l| Lockout {
            max_failures: l.max_failures,
            window_minutes: l.window_minutes,
            duration_minutes: l.duration_minutes,
            inactivity_days: l.inactivity_days,
        }),
        link_ttl_hours: b.link_ttl_hours,
        session_idle_minutes: b.sessions.as_ref().and_then(|x| x.idle_minutes),
        session_lifetime_hours: b.sessions.as_ref().and_then(|x| x.lifetime_hours),
        offboarding_reminder_days: b.offboarding_reminder_days,
        directory_group_roles: b.directory_group_roles.map(|m| m.into_iter().map(|g| (g.group, g.role)).collect()),
        sso: b.sso.map(|o| {
            o.map(|x| SsoPatch {
                issuer: x.issuer,
                client_id: x.client_id,
                client_secret: x.client_secret,
                only_sso_for_company_users: x.only_sso_for_company_users,
            })
        }),
    };
    Ok(Json(settings_json(&app.update_settings(&caller.ctx, patch).await?)))
}
