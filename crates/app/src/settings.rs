//! Company settings (SPEC §8 `/settings`).

use crate::audit::record;
use crate::offices::require_sysadmin;
use crate::users::active_company_user;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::{Lockout, SessionLimits, Settings};
use domain::password::PasswordPolicy;
use domain::sso::SsoSettings;
use domain::{EntityName, Invalid};
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
    /// SSO1: `Some(None)` turns single sign-on off; `Some(Some(p))` sets
    /// the fields `p` has and keeps the others.
    pub sso: Option<Option<SsoPatch>>,
}

/// SSO1: a change of the identity provider registration.
#[derive(Clone, Default)]
pub struct SsoPatch {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// Kept when absent; never answered or audited.
    pub client_secret: Option<String>,
    pub only_sso_for_company_users: Option<bool>,
}

impl std::fmt::Debug for SsoPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoPatch")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<hidden>"))
            .field("only_sso_for_company_users", &self.only_sso_for_company_users)
            .finish()
    }
}

/// `patch` applied over `current`, checked field by field (S8).
fn merge_sso(current: Option<&SsoSettings>, patch: &SsoPatch) -> Result<SsoSettings, Vec<Invalid>> {
    let mut problems = Vec::new();
    let trimmed = |v: &Option<String>| v.as_ref().map(|x| x.trim().to_owned());
    let issuer = trimmed(&patch.issuer)
        .map(|i| i.trim_end_matches('/').to_owned())
        .or_else(|| current.map(|c| c.issuer.clone()))
        .unwrap_or_default();
    if issuer.is_empty() {
        problems.push(Invalid::new("sso.issuer", "required", "sso.issuer is required"));
    } else if issuer.len() > 500 {
        problems.push(Invalid::new("sso.issuer", "too_long", "sso.issuer must be at most 500 characters"));
    } else if let Err(why) = domain::sso::check_issuer(&issuer) {
        problems.push(Invalid::new("sso.issuer", "invalid_issuer", why));
    }
    let client_id = trimmed(&patch.client_id)
        .or_else(|| current.map(|c| c.client_id.clone()))
        .unwrap_or_default();
    if client_id.is_empty() || client_id.len() > 255 || client_id.chars().any(char::is_control) {
        problems.push(Invalid::new(
            "sso.client_id",
            "required",
            "sso.client_id is required: the client id the identity provider gave Tracker (at most 255 characters)",
        ));
    }
    let client_secret = patch
        .client_secret
        .clone()
        .or_else(|| current.map(|c| c.client_secret.clone()))
        .unwrap_or_default();
    if client_secret.is_empty() || client_secret.len() > 1000 || client_secret.chars().any(char::is_control) {
        problems.push(Invalid::new(
            "sso.client_secret",
            "required",
            "sso.client_secret is required: the client secret the identity provider gave Tracker (at most 1000 characters)",
        ));
    }
    let only = patch
        .only_sso_for_company_users
        .or_else(|| current.map(|c| c.only_sso_for_company_users))
        .unwrap_or(false);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(SsoSettings {
        issuer,
        client_id,
        client_secret,
        only_sso_for_company_users: only,
    })
}

fn sso_json(s: Option<&SsoSettings>) -> serde_json::Value {
    match s {
        None => serde_json::Value::Null,
        Some(s) => json!({
            "issuer": s.issuer,
            "client_id": s.client_id,
            "client_secret_set": !s.client_secret.is_empty(),
            "only_sso_for_company_users": s.only_sso_for_company_users,
        }),
    }
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
        "sso": sso_json(s.sso.as_ref()),
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
        self.current_settings().await
    }

    /// The settings row, read by one statement outside any transaction
    /// (`Db::read_one`): pages and lists read a flag or a name from it on
    /// every request, and a transaction around it was two more round trips
    /// to the database (issue 12).
    pub(crate) async fn current_settings(&self) -> AppResult<Settings> {
        let mut tx = self.db.read_one().await?;
        Ok(tx.settings().await?)
    }

    #[tracing::instrument(name = "update_settings", skip_all)]
    pub async fn update_settings(&self, ctx: &Ctx, patch: SettingsPatch) -> AppResult<Settings> {
        if ctx.actor.is_some() {
            require_sysadmin(ctx)?;
        }
        // SSO1: discovery is slow network work, done before the write
        // transaction; inside it the change is merged again over what is
        // stored then, and must still name the issuer that was checked.
        let discovered = match &patch.sso {
            Some(Some(p)) => {
                let current = self.db.read().await?.settings().await?.sso;
                let merged = merge_sso(current.as_ref(), p).map_err(AppError::invalid)?;
                if current.as_ref().map(|c| &c.issuer) != Some(&merged.issuer) {
                    self.check_issuer_answers(&merged.issuer).await?;
                }
                Some(merged.issuer)
            }
            _ => None,
        };
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut s = tx.settings_for_update().await?;
        let before = settings_json(&s);
        if let Some(name) = &patch.company_name {
            s.company_name = EntityName::parse("company_name", name)?;
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
        match &patch.sso {
            Some(Some(p)) => {
                let merged = merge_sso(s.sso.as_ref(), p).map_err(AppError::invalid)?;
                if discovered.as_ref() != Some(&merged.issuer) {
                    return Err(AppError::conflict(
                        "sso_changed",
                        "the issuer was changed meanwhile; send the change again",
                    ));
                }
                tx.save_sso_settings(Some(&merged), now).await?;
                s.sso = Some(merged);
            }
            Some(None) => {
                tx.save_sso_settings(None, now).await?;
                s.sso = None;
            }
            None => {}
        }
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
        let queued = crate::directory::groups::remap_roles(self, &mut tx, ctx, &old_mapping, &s.directory_group_roles, now).await?;
        self.commit(tx, queued).await?;
        Ok(s)
    }

    /// SSO1: the issuer must answer discovery with a document naming
    /// itself; otherwise a 422 that says which.
    async fn check_issuer_answers(&self, issuer: &str) -> AppResult<()> {
        use crate::sso::DiscoveryProblem;
        match self.sso.discover(issuer).await {
            Ok(_) => Ok(()),
            Err(DiscoveryProblem::Unreachable) => Err(Invalid::new(
                "sso.issuer",
                "issuer_unreachable",
                format!("the issuer {issuer} did not answer at {issuer}/.well-known/openid-configuration; check the address"),
            )
            .into()),
            Err(DiscoveryProblem::Mismatch) => Err(Invalid::new(
                "sso.issuer",
                "issuer_mismatch",
                format!("the discovery document at {issuer} names another issuer; use exactly the issuer the identity provider states"),
            )
            .into()),
            Err(DiscoveryProblem::Invalid) => Err(Invalid::new(
                "sso.issuer",
                "issuer_invalid",
                format!("{issuer} did not answer with a usable OpenID Connect discovery document"),
            )
            .into()),
        }
    }
}
