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
use std::ops::RangeInclusive;

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
    /// O3: reminder days before a scheduled deactivation.
    pub offboarding_reminder_days: Option<i64>,
    /// DIR1: the whole group → role mapping as (group, role) text,
    /// replacing the current one.
    pub directory_group_roles: Option<Vec<(String, String)>>,
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
        "offboarding_reminder_days": s.offboarding_reminder_days,
        "directory_group_roles": s.directory_group_roles,
    })
}

/// `v`, when it lies in `range`; otherwise a 422 naming `field`.
fn in_range(field: &'static str, v: i64, range: RangeInclusive<i64>) -> Result<i64, Invalid> {
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(Invalid::new(
            field,
            "out_of_range",
            format!("{field} must be between {} and {}", range.start(), range.end()),
        ))
    }
}

/// S4's ranges.
fn validate_lockout(l: &Lockout) -> Result<(), Invalid> {
    in_range("lockout.max_failures", l.max_failures, 1..=100)?;
    in_range("lockout.window_minutes", l.window_minutes, 1..=1440)?;
    in_range("lockout.duration_minutes", l.duration_minutes, 1..=10080)?;
    in_range("lockout.inactivity_days", l.inactivity_days, 30..=366)?;
    Ok(())
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
            s.link_ttl_hours = in_range("link_ttl_hours", h, 1..=24 * 30)?;
        }
        let mut problems = crate::error::Problems::new();
        if let Some(m) = patch.session_idle_minutes {
            if let Some(m) = problems.check(in_range("sessions.idle_minutes", m, SessionLimits::IDLE_MINUTES)) {
                s.sessions.idle_minutes = m;
            }
        }
        if let Some(h) = patch.session_lifetime_hours {
            if let Some(h) = problems.check(in_range("sessions.lifetime_hours", h, SessionLimits::LIFETIME_HOURS)) {
                s.sessions.lifetime_hours = h;
            }
        }
        if let Some(d) = patch.offboarding_reminder_days {
            if let Some(d) = problems.check(in_range("offboarding_reminder_days", d, 1..=60)) {
                s.offboarding_reminder_days = d;
            }
        }
        let old_mapping = s.directory_group_roles.clone();
        if let Some(m) = patch.directory_group_roles {
            match domain::scim::groups::validate_mapping(m) {
                Ok(m) => s.directory_group_roles = m,
                Err(list) => {
                    for p in list {
                        problems.push(p);
                    }
                }
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
        // DIR1: the members of each group whose role changed get it now.
        let queued = crate::directory_groups::remap_roles(self, &mut tx, ctx, &old_mapping, &s.directory_group_roles, now).await?;
        self.commit(tx, queued).await?;
        Ok(s)
    }
}
