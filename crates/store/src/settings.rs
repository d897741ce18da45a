use crate::db::{exec, fetch_one, statement, Tx};
use crate::Result;
use domain::model::{Lockout, SessionLimits, Settings};
use domain::password::PasswordPolicy;
use domain::sso::SsoSettings;
use domain::{Millis, UserId};

#[derive(sqlx::FromRow)]
struct Row {
    company_name: String,
    active_directory_sync: bool,
    tracker_coordinator_id: Option<String>,
    password_min_length: i64,
    password_min_classes: i64,
    password_history: i64,
    lockout_max_failures: i64,
    lockout_window_minutes: i64,
    lockout_duration_minutes: i64,
    inactivity_days: i64,
    link_ttl_hours: i64,
    session_idle_minutes: i64,
    session_lifetime_hours: i64,
    offboarding_reminder_days: i64,
    directory_group_roles: String,
    sso_issuer: Option<String>,
    sso_client_id: Option<String>,
    sso_client_secret: Option<String>,
    sso_only_for_company_users: bool,
}

impl Tx {
    pub async fn settings(&mut self) -> Result<Settings> {
        statement!(SETTINGS = "SELECT company_name, active_directory_sync, tracker_coordinator_id, password_min_length, password_min_classes, password_history, \
             lockout_max_failures, lockout_window_minutes, lockout_duration_minutes, inactivity_days, link_ttl_hours, session_idle_minutes, session_lifetime_hours, offboarding_reminder_days, directory_group_roles, \
             sso_issuer, sso_client_id, sso_client_secret, sso_only_for_company_users FROM settings WHERE id = 1");
        let r: Row = fetch_one!(self, SETTINGS)?;
        Ok(Settings {
            company_name: crate::db::stored_name("settings", "company_name", r.company_name)?,
            active_directory_sync: r.active_directory_sync,
            tracker_coordinator_id: r.tracker_coordinator_id.map(UserId::from),
            password_policy: PasswordPolicy {
                min_length: r.password_min_length,
                min_classes: r.password_min_classes,
                history: r.password_history,
            },
            lockout: Lockout {
                max_failures: r.lockout_max_failures,
                window_minutes: r.lockout_window_minutes,
                duration_minutes: r.lockout_duration_minutes,
                inactivity_days: r.inactivity_days,
            },
            link_ttl_hours: r.link_ttl_hours,
            sessions: SessionLimits {
                idle_minutes: r.session_idle_minutes,
                lifetime_hours: r.session_lifetime_hours,
            },
            offboarding_reminder_days: r.offboarding_reminder_days,
            directory_group_roles: serde_json::from_str(&r.directory_group_roles)
                .map_err(|e| crate::StoreError::Corrupt(format!("settings.directory_group_roles: {e}")))?,
            sso: match (r.sso_issuer, r.sso_client_id, r.sso_client_secret) {
                (Some(issuer), Some(client_id), Some(client_secret)) => Some(SsoSettings {
                    issuer,
                    client_id,
                    client_secret,
                    only_sso_for_company_users: r.sso_only_for_company_users,
                }),
                _ => None,
            },
        })
    }

    /// The settings as [`Tx::settings`], with the row locked on PostgreSQL
    /// until the transaction ends, for a change that writes them back.
    pub async fn settings_for_update(&mut self) -> Result<Settings> {
        if self.dialect() == crate::Dialect::Postgres {
            statement!(postgres LOCK_SETTINGS = "SELECT id FROM settings WHERE id = 1 FOR UPDATE");
            exec!(self, LOCK_SETTINGS)?;
        }
        self.settings().await
    }

    pub async fn save_settings(&mut self, s: &Settings, now: Millis) -> Result<()> {
        let group_roles = serde_json::to_string(&s.directory_group_roles).unwrap_or_else(|_| "[]".into());
        statement!(SAVE_SETTINGS = "UPDATE settings SET company_name = $1, active_directory_sync = $2, tracker_coordinator_id = $3, password_min_length = $4, \
             password_min_classes = $5, password_history = $6, lockout_max_failures = $7, lockout_window_minutes = $8, \
             lockout_duration_minutes = $9, inactivity_days = $10, link_ttl_hours = $11, updated_at = $12, \
             session_idle_minutes = $13, session_lifetime_hours = $14, offboarding_reminder_days = $15, directory_group_roles = $16 WHERE id = 1");
        exec!(
            self,
            SAVE_SETTINGS,
            s.company_name.as_str(),
            s.active_directory_sync,
            s.tracker_coordinator_id.as_ref().map(|u| u.as_str()),
            s.password_policy.min_length,
            s.password_policy.min_classes,
            s.password_policy.history,
            s.lockout.max_failures,
            s.lockout.window_minutes,
            s.lockout.duration_minutes,
            s.lockout.inactivity_days,
            s.link_ttl_hours,
            now,
            s.sessions.idle_minutes,
            s.sessions.lifetime_hours,
            s.offboarding_reminder_days,
            &group_roles
        )?;
        Ok(())
    }

    /// SSO1: sets or clears (`None`) the identity provider registration;
    /// only these columns, so nothing else of the settings is written back.
    pub async fn save_sso_settings(&mut self, sso: Option<&SsoSettings>, now: Millis) -> Result<()> {
        statement!(SAVE_SSO_SETTINGS = "UPDATE settings SET sso_issuer = $1, sso_client_id = $2, sso_client_secret = $3, sso_only_for_company_users = $4, updated_at = $5 WHERE id = 1");
        exec!(
            self,
            SAVE_SSO_SETTINGS,
            sso.map(|s| s.issuer.as_str()),
            sso.map(|s| s.client_id.as_str()),
            sso.map(|s| s.client_secret.as_str()),
            sso.is_some_and(|s| s.only_sso_for_company_users),
            now
        )?;
        Ok(())
    }
}
