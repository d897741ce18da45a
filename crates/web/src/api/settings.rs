//! Company settings.

use crate::error::ApiResult;
use crate::extract::{nullable, ApiJson, Caller};
use app::settings::{settings_json, SettingsPatch};
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
    /// At least 8.
    pub min_length: i64,
    /// 1 to 4 of lower, upper, digit, symbol.
    pub min_classes: i64,
    /// Earlier passwords that may not be reused.
    pub history: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockoutIn {
    pub max_failures: i64,
    pub window_minutes: i64,
    pub duration_minutes: i64,
    /// 30 to 366.
    pub inactivity_days: i64,
}

/// S11: how long a session lasts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsIn {
    /// A session ends after this many minutes without a request; 5 to 1440 (default 30).
    pub idle_minutes: Option<i64>,
    /// A session ends this many hours after sign-in in any case; 1 to 720 (default 12).
    pub lifetime_hours: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsIn {
    pub company_name: Option<String>,
    /// D6: the directory owns company users' lifecycle.
    pub active_directory_sync: Option<bool>,
    /// N6: named in every new user email; an active company user, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub tracker_coordinator_id: Option<Option<String>>,
    pub password_policy: Option<PolicyIn>,
    pub lockout: Option<LockoutIn>,
    /// N6: lifetime of emailed links, 1 to 720 hours.
    pub link_ttl_hours: Option<i64>,
    pub sessions: Option<SessionsIn>,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = Object)))]
pub async fn get_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(settings_json(&app.settings(&caller.ctx).await?)))
}

#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = SettingsIn, responses((status = 200, body = Object), (status = 422, body = super::ErrorBody)))]
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
    };
    Ok(Json(settings_json(&app.update_settings(&caller.ctx, patch).await?)))
}
