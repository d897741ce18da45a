//! Sign-in, sessions and setting a password from an emailed link
//! (S1, S2, S5, S6, N6).

use crate::audit::record;
use crate::views::user_json;
use crate::{password, App, AppError, AppResult, Ctx};
use domain::model::User;
use domain::secret::{hash_token, looks_like_token, new_token};
use domain::Invalid;
use serde_json::json;

/// The one answer to every failed sign-in (S2).
fn invalid_credentials() -> AppError {
    AppError::unauthorized("invalid_credentials", "the email or password is not correct")
}

/// A signed-in session: the token is shown once, to its owner.
pub struct NewSession {
    pub token: String,
    pub user: User,
    pub expires_at: domain::Millis,
}

/// An authenticated request.
pub struct Authenticated {
    pub user: User,
    pub token_hash: String,
}

impl App {
    /// S2: unknown, wrong-password, inactive and locked accounts all get the
    /// same answer after the same work; the reason goes only to the audit log.
    pub async fn sign_in(&self, email: &str, password: &str, source_ip: Option<String>) -> AppResult<NewSession> {
        let ctx = Ctx::anonymous(source_ip.clone());
        let mut tx = self.db.read().await?;
        let creds = match tx.user_by_email(email).await? {
            Some(u) => tx.credentials(&u.id).await?,
            None => None,
        };
        drop(tx);
        let password_ok = password::verify(password.to_owned(), creds.as_ref().and_then(|c| c.password_hash.clone())).await;
        let now = self.now();
        let reason = match &creds {
            None => Some("unknown_email"),
            Some(c) if !c.user.active => Some("inactive"),
            Some(c) if c.password_hash.is_none() => Some("no_password"),
            Some(_) if !password_ok => Some("wrong_password"),
            Some(c) if c.user.is_locked(now) => Some("locked"),
            Some(_) => None,
        };
        let mut tx = self.db.write().await?;
        match (reason, creds) {
            (Some(reason), creds) => {
                let target = creds.as_ref().map(|c| c.user.id.to_string());
                let attempted = email.chars().take(254).collect::<String>();
                let ctx = Ctx { label: attempted.clone(), ..ctx };
                record(&mut tx, &ctx, now, "user.sign_in_failed", "user", target.as_deref(), None, Some(json!({"email": attempted, "reason": reason}))).await?;
                tx.commit().await?;
                Err(invalid_credentials())
            }
            (None, Some(c)) => {
                let (token, token_hash) = new_token();
                let expires_at = now + self.config.session_ttl_ms;
                tx.insert_session(&token_hash, &c.user.id, now, expires_at, source_ip.as_deref()).await?;
                let mut user = c.user;
                user.last_sign_in_at = Some(now);
                tx.update_user(&user).await?;
                tx.set_sign_in_counters(&user.id, 0, None, None).await?;
                let ctx = Ctx::user(&user, source_ip);
                record(&mut tx, &ctx, now, "user.signed_in", "user", Some(user.id.as_str()), None, None).await?;
                tx.commit().await?;
                Ok(NewSession { token, user, expires_at })
            }
            (None, None) => Err(invalid_credentials()),
        }
    }

    /// S6: the session behind a bearer token or cookie, re-checked on every
    /// request: the user must still be active.
    pub async fn authenticate(&self, token: &str) -> AppResult<Authenticated> {
        let unauthorized = || AppError::unauthorized("not_signed_in", "sign in first; the session is missing, expired or revoked");
        if !looks_like_token(token) {
            return Err(unauthorized());
        }
        let token_hash = hash_token(token);
        let mut tx = self.db.read().await?;
        let session = tx.session(&token_hash, self.now()).await?.ok_or_else(unauthorized)?;
        if !session.user.active {
            return Err(unauthorized());
        }
        Ok(Authenticated { user: session.user, token_hash })
    }

    pub async fn sign_out(&self, ctx: &Ctx, token_hash: &str) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.delete_session(token_hash).await?;
        let target = ctx.actor_id().map(|a| a.to_string());
        record(&mut tx, ctx, now, "user.signed_out", "user", target.as_deref(), None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// N6: sets a password from a one-time link and activates the account.
    pub async fn set_password_with_link(&self, token: &str, new_password: &str, source_ip: Option<String>) -> AppResult<User> {
        let link_error = |code: &'static str, msg: &str| AppError::invalid(vec![Invalid::new("token", code, msg.to_owned())]);
        if !looks_like_token(token) {
            return Err(link_error("link_invalid", "this sign-in link is not valid; ask your administrator for a new one"));
        }
        let token_hash = hash_token(token);
        let now = self.now();
        let mut tx = self.db.read().await?;
        let link = tx.link(&token_hash).await?.ok_or_else(|| link_error("link_invalid", "this sign-in link is not valid; ask your administrator for a new one"))?;
        let user = tx.user(&link.user_id.as_str().into()).await?.ok_or_else(|| link_error("link_invalid", "this sign-in link is not valid"))?;
        let settings = tx.settings().await?;
        let recent = tx.recent_password_hashes(&user.id, settings.password_policy.history).await?;
        drop(tx);
        if link.used_at.is_some() {
            return Err(link_error("link_used", "this sign-in link has already been used; ask your administrator for a new one"));
        }
        if link.invalidated_at.is_some() || !user.active {
            return Err(link_error("link_superseded", "this sign-in link was replaced by a newer one or withdrawn; use the newest email or ask for a new link"));
        }
        if link.expires_at <= now {
            return Err(link_error("link_expired", "this sign-in link has expired; ask your administrator for a new one"));
        }
        settings.password_policy.check(new_password)?;
        if password::matches_any(new_password.to_owned(), recent).await {
            return Err(Invalid::new("password", "password_reused", format!("choose a password you have not used among your last {}", settings.password_policy.history)).into());
        }
        let hash = password::hash(new_password.to_owned()).await?;

        let mut tx = self.db.write().await?;
        let mut user = tx.user_for_update(&user.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if !user.active || !tx.use_link(&token_hash, now).await? {
            return Err(link_error("link_used", "this sign-in link has already been used; ask your administrator for a new one"));
        }
        tx.invalidate_user_links(&user.id, now).await?;
        tx.set_password_hash(&user.id, Some(&hash), now).await?;
        let before = user_json(&user);
        let first_activation = user.activated_at.is_none();
        if first_activation {
            user.activated_at = Some(now);
        }
        user.updated_at = now;
        tx.update_user(&user).await?;
        let ctx = Ctx { label: user.email.clone(), ..Ctx::user(&user, source_ip) };
        let action = if first_activation { "user.activated" } else { "user.password_set" };
        record(&mut tx, &ctx, now, action, "user", Some(user.id.as_str()), Some(before), Some(user_json(&user))).await?;
        tx.commit().await?;
        Ok(user)
    }
}
