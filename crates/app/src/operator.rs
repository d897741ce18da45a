//! What the operator does from the command line (SPEC §7): the first
//! administrator, and D7's back-end removal of an account created in error.

use crate::audit::record;
use crate::users::{insert_new_user, NewUser};
use crate::views::user_json;
use crate::{password, App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::links::LinkPurpose;
use domain::model::User;
use domain::secret::new_token;
use domain::Role;

pub struct CreatedAdmin {
    pub user: User,
    /// A one-time sign-in link, when no password was given.
    pub link: Option<String>,
}

impl App {
    /// `tracker create-admin`: a company system administrator, with a
    /// password (activated at once) or a one-time link to set one.
    pub async fn create_admin(
        &self,
        email: &str,
        first_name: &str,
        last_name: &str,
        new_password: Option<String>,
    ) -> AppResult<CreatedAdmin> {
        let ctx = Ctx::operator();
        let hash = match &new_password {
            Some(pw) => {
                let mut tx = self.db.read().await?;
                tx.settings().await?.password_policy.check(pw)?;
                drop(tx);
                Some(password::hash(pw.clone()).await?)
            }
            None => None,
        };
        let now = self.now();
        let mut tx = self.db.write().await?;
        let input = NewUser {
            email: email.into(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            side: Some("company".into()),
            role: Role::CompanySystemAdministrator.as_str().into(),
            hold_new_user_email: true,
            ..Default::default()
        };
        let (details, _) = insert_new_user(&mut tx, &ctx, input, now).await?;
        let mut user = details.user;
        let link = match hash {
            Some(hash) => {
                tx.set_password_hash(&user.id, Some(&hash), now).await?;
                tx.mark_activated(&user.id, now).await?;
                user.activated_at = Some(now);
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserActivated,
                    Some(user.id.as_str()),
                    None,
                    Some(user_json(&user)),
                )
                .await?;
                None
            }
            None => {
                let ttl_hours = tx.settings().await?.link_ttl_hours;
                let (token, token_hash) = new_token();
                tx.insert_link(
                    &token_hash,
                    &user.id,
                    &user.email,
                    LinkPurpose::AdminSetup,
                    now,
                    now + ttl_hours * 3_600_000,
                )
                .await?;
                Some(format!("{}/set-password?token={token}", self.config.public_url))
            }
        };
        tx.commit().await?;
        Ok(CreatedAdmin { user, link })
    }

    /// SSO1's way back in: `tracker users link EMAIL` makes a one-time link
    /// for an active company system administrator to set a password, printed
    /// for the operator, so that nobody is locked out when the identity
    /// provider fails. The user's earlier links end; the link follows the
    /// link lifetime setting (N6) and is audited as a password reset.
    #[tracing::instrument(name = "operator_link", skip_all)]
    pub async fn operator_link(&self, email: &str) -> AppResult<(User, String)> {
        let ctx = Ctx::operator();
        let now = self.now();
        let mut tx = self.db.write().await?;
        let found = tx.user_by_email(email).await?.ok_or_else(|| AppError::not_found("user"))?;
        let user = tx.user_for_update(&found.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if user.role != Role::CompanySystemAdministrator {
            return Err(AppError::conflict(
                "not_a_system_administrator",
                format!(
                    "{} is not a company system administrator: an administrator sends them a password reset from Tracker",
                    user.email
                ),
            ));
        }
        if !user.active {
            return Err(AppError::conflict(
                "user_inactive",
                format!("{} is deactivated: reactivate them first", user.email),
            ));
        }
        let links = tx.invalidate_user_links(&user.id, now).await?;
        let ttl_hours = tx.settings().await?.link_ttl_hours;
        let (token, token_hash) = new_token();
        tx.insert_link(
            &token_hash,
            &user.id,
            &user.email,
            LinkPurpose::PasswordReset,
            now,
            now + ttl_hours * 3_600_000,
        )
        .await?;
        record(
            &mut tx,
            &ctx,
            now,
            AuditAction::UserPasswordReset,
            Some(user.id.as_str()),
            None,
            Some(serde_json::json!({"user": user_json(&user), "links_invalidated": links, "link": "printed for the operator"})),
        )
        .await?;
        tx.commit().await?;
        Ok((user, format!("{}/set-password?token={token}", self.config.public_url)))
    }

    /// D7: `tracker users purge EMAIL`.
    #[tracing::instrument(name = "purge_user", skip_all)]
    pub async fn purge_user(&self, email: &str) -> AppResult<User> {
        let ctx = Ctx::operator();
        let now = self.now();
        let mut tx = self.db.write().await?;
        let found = tx.user_by_email(email).await?.ok_or_else(|| AppError::not_found("user"))?;
        // S9: decided on the row as it is now, held until the purge commits.
        let user = tx.user_for_update(&found.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if user.activated_at.is_some() {
            return Err(AppError::conflict(
                "user_activated",
                format!("{} was activated and is part of the history: deactivate it instead", user.email),
            ));
        }
        let refs = tx.user_references(&user.id).await?;
        if !refs.is_empty() {
            let list: Vec<String> = refs.iter().map(|(k, n)| format!("{k} ({n})")).collect();
            return Err(AppError::conflict(
                "user_referenced",
                format!(
                    "{} is referred to by other records: {}; deactivate it instead",
                    user.email,
                    list.join(", ")
                ),
            ));
        }
        tx.purge_user(&user.id).await?;
        record(
            &mut tx,
            &ctx,
            now,
            AuditAction::UserPurged,
            Some(user.id.as_str()),
            Some(user_json(&user)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
