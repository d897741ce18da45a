//! Company settings (SPEC §8 `/settings`).

use crate::audit::record;
use crate::offices::require_sysadmin;
use crate::users::active_company_user;
use crate::{App, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::{Lockout, SessionLimits, Settings};
use domain::password::PasswordPolicy;
use domain::{Invalid, ShortText};
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub company_name: Option<String>,
    pub active_directory_sync: Option<bool>,
    pub tracker_coordinator_id: Option<Option<String>>,
    pub password_policy: Option<PasswordPolicy>,
    pub lockout: Option<Lockout>,
    pub link_ttl_hours: Option<i64>,
    /// S11: either or both of the session limits.
    pub session_idle_minutes: Option<i64>,
    pub session_lifetime_hours: Option<i64>,
}

pub fn settings_json(s: &Settings) -> serde_json::Value {
    json!({
        "company_name": s.company_name,
        "active_directory_sync": s.active_directory_sync,
        "tracker_coordinator_id": s.tracker_coordinator_id,
        "password_policy": {"min_length": s.password_policy.min_length, "min_classes": s.password_policy.min_classes, "history": s.password_policy.history},
        "lockout": {"max_failures": s.lockout.max_failures, "window_minutes": s.lockout.window_minutes,
                    "duration_minutes": s.lockout.duration_minutes, "inactivity_days": s.lockout.inactivity_days},
        "link_ttl_hours": s.link_ttl_hours,
        "sessions": {"idle_minutes": s.sessions.idle_minutes, "lifetime_hours": s.sessions.lifetime_hours},
    })
}

/// S4's ranges.
fn validate_lockout(l: &Lockout) -> Result<(), Invalid> {
    let check = |field: &'static str, v: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(Invalid::new(
                field,
                "out_of_range",
                format!("{field} must be between {lo} and {hi}"),
            ))
        }
    };
    check("lockout.max_failures", l.max_failures, 1, 100)?;
    check("lockout.window_minutes", l.window_minutes, 1, 1440)?;
    check("lockout.duration_minutes", l.duration_minutes, 1, 10080)?;
    check("lockout.inactivity_days", l.inactivity_days, 30, 366)
}

impl App {
    #[tracing::instrument(name = "settings", skip_all)]
    pub async fn settings(&self, ctx: &Ctx) -> AppResult<Settings> {
        require_sysadmin(ctx)?;
        let mut tx = self.db.read().await?;
        Ok(tx.settings().await?)
    }

    #[tracing::instrument(name = "update_settings", skip_all)]
    pub async fn update_settings(&self, ctx: &Ctx, patch: SettingsPatch) -> AppResult<Settings> {
        if ctx.actor.is_some() {
            require_sysadmin(ctx)?;
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut s = tx.settings_for_update().await?;
        let before = settings_json(&s);
        if let Some(name) = &patch.company_name {
            s.company_name = ShortText::parse("company_name", name, 200)?.into_string();
        }
        if let Some(ad) = patch.active_directory_sync {
            s.active_directory_sync = ad;
        }
        if let Some(coord) = &patch.tracker_coordinator_id {
            s.tracker_coordinator_id = match coord {
                Some(id) => Some(active_company_user(&mut tx, "tracker_coordinator_id", id).await?.id),
                None => None,
            };
        }
        if let Some(p) = patch.password_policy {
            p.validate()?;
            s.password_policy = p;
        }
        if let Some(l) = patch.lockout {
            validate_lockout(&l)?;
            s.lockout = l;
        }
        if let Some(h) = patch.link_ttl_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err(Invalid::new("link_ttl_hours", "out_of_range", "link_ttl_hours must be between 1 and 720").into());
            }
            s.link_ttl_hours = h;
        }
        let mut problems = crate::error::Problems::new();
        if let Some(m) = patch.session_idle_minutes {
            match SessionLimits::IDLE_MINUTES.contains(&m) {
                true => s.sessions.idle_minutes = m,
                false => problems.push(Invalid::new(
                    "sessions.idle_minutes",
                    "out_of_range",
                    format!(
                        "sessions.idle_minutes must be between {} and {}",
                        SessionLimits::IDLE_MINUTES.start(),
                        SessionLimits::IDLE_MINUTES.end()
                    ),
                )),
            }
        }
        if let Some(h) = patch.session_lifetime_hours {
            match SessionLimits::LIFETIME_HOURS.contains(&h) {
                true => s.sessions.lifetime_hours = h,
                false => problems.push(Invalid::new(
                    "sessions.lifetime_hours",
                    "out_of_range",
                    format!(
                        "sessions.lifetime_hours must be between {} and {}",
                        SessionLimits::LIFETIME_HOURS.start(),
                        SessionLimits::LIFETIME_HOURS.end()
                    ),
                )),
            }
        }
        problems.into_result()?;
        tx.save_settings(&s, now).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::SettingsUpdated,
            None,
            Some(before),
            Some(settings_json(&s)),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
