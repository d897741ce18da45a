//! Sign-in, sessions and setting a password from an emailed link
//! (S1, S2, S5, S6, N6).

use crate::audit::record;
use crate::views::user_json;
use crate::{password, App, AppError, AppResult, Ctx};
use domain::lockout::{decide, Account, Decision, REASON_INACTIVITY};
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
    /// same answer after the same work; the reason goes only to the audit
    /// log. S4: failures and inactivity lock the account.
    pub async fn sign_in(&self, email: &str, password: &str, source_ip: Option<String>) -> AppResult<NewSession> {
        self.limits.sign_in(source_ip.as_deref(), email)?;
        let ctx = Ctx::anonymous(source_ip.clone());
        let mut tx = self.db.read().await?;
        let creds = match tx.user_by_email(email).await? {
            Some(u) => tx.credentials(&u.id).await?,
            None => None,
        };
        let lockout = tx.settings().await?.lockout;
        drop(tx);
        let password_ok = password::verify(password.to_owned(), creds.as_ref().and_then(|c| c.password_hash.clone())).await;
        let now = self.now();
        let attempted = email.chars().take(254).collect::<String>();
        let Some(c) = creds else {
            let mut tx = self.db.write().await?;
            let ctx = Ctx {
                label: attempted.clone(),
                ..ctx
            };
            record(
                &mut tx,
                &ctx,
                now,
                "user.sign_in_failed",
                "user",
                None,
                None,
                Some(json!({"email": attempted, "reason": "unknown_email"})),
            )
            .await?;
            tx.commit().await?;
            return Err(invalid_credentials());
        };
        let account = Account {
            active: c.user.active,
            has_password: c.password_hash.is_some(),
            locked_until: c.user.locked_until,
            failed_sign_ins: c.failed_sign_ins,
            failed_window_start: c.failed_window_start,
            last_sign_in_at: c.user.last_sign_in_at,
            activated_at: c.user.activated_at,
            unlocked_at: c.unlocked_at,
        };
        let mut tx = self.db.write().await?;
        match decide(&account, password_ok, now, &lockout) {
            Decision::Refused { reason, after } => {
                let ctx = Ctx {
                    label: attempted.clone(),
                    ..ctx
                };
                let id = c.user.id.to_string();
                record(
                    &mut tx,
                    &ctx,
                    now,
                    "user.sign_in_failed",
                    "user",
                    Some(&id),
                    None,
                    Some(json!({"email": attempted, "reason": reason})),
                )
                .await?;
                tx.set_sign_in_counters(&c.user.id, after.failed_sign_ins, after.failed_window_start, c.unlocked_at)
                    .await?;
                if let Some((until, why)) = after.new_lock {
                    let mut user = c.user;
                    user.locked_until = Some(until);
                    user.lock_reason = Some(why.to_owned());
                    tx.update_user(&user).await?;
                    record(
                        &mut tx,
                        &ctx,
                        now,
                        "user.locked",
                        "user",
                        Some(&id),
                        None,
                        Some(json!({"reason": why, "locked_until": until})),
                    )
                    .await?;
                }
                tx.commit().await?;
                Err(invalid_credentials())
            }
            Decision::SignedIn => {
                let (token, token_hash) = new_token();
                let expires_at = now + self.config.session_ttl_ms;
                tx.insert_session(&token_hash, &c.user.id, now, expires_at, source_ip.as_deref())
                    .await?;
                let mut user = c.user;
                user.last_sign_in_at = Some(now);
                user.locked_until = None;
                user.lock_reason = None;
                tx.update_user(&user).await?;
                tx.set_sign_in_counters(&user.id, 0, None, None).await?;
                let ctx = Ctx::user(&user, source_ip);
                record(&mut tx, &ctx, now, "user.signed_in", "user", Some(user.id.as_str()), None, None).await?;
                tx.commit().await?;
                Ok(NewSession { token, user, expires_at })
            }
        }
    }

    /// S4: an administrator ends a lock. After an inactivity lock the user
    /// has 72 hours to sign in.
    pub async fn unlock_user(&self, ctx: &Ctx, id: &domain::UserId) -> AppResult<User> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut user = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        crate::users::require_manage(ctx, &user)?;
        let was = user.lock_reason.clone();
        let was_locked = user.is_locked(now);
        let unlocked_at = (was.as_deref() == Some(REASON_INACTIVITY) && was_locked).then_some(now);
        user.locked_until = None;
        user.lock_reason = None;
        user.updated_at = now;
        tx.update_user(&user).await?;
        tx.set_sign_in_counters(&user.id, 0, None, unlocked_at).await?;
        record(
            &mut tx,
            ctx,
            now,
            "user.unlocked",
            "user",
            Some(user.id.as_str()),
            Some(json!({"locked": was_locked, "lock_reason": was})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
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
        Ok(Authenticated {
            user: session.user,
            token_hash,
        })
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
        self.limits.set_password(source_ip.as_deref())?;
        let link_error = |code: &'static str, msg: &str| AppError::invalid(vec![Invalid::new("token", code, msg.to_owned())]);
        if !looks_like_token(token) {
            return Err(link_error(
                "link_invalid",
                "this sign-in link is not valid; ask your administrator for a new one",
            ));
        }
        let token_hash = hash_token(token);
        let now = self.now();
        let mut tx = self.db.read().await?;
        let link = tx.link(&token_hash).await?.ok_or_else(|| {
            link_error(
                "link_invalid",
                "this sign-in link is not valid; ask your administrator for a new one",
            )
        })?;
        let user = tx
            .user(&link.user_id.as_str().into())
            .await?
            .ok_or_else(|| link_error("link_invalid", "this sign-in link is not valid"))?;
        let settings = tx.settings().await?;
        let recent = tx.recent_password_hashes(&user.id, settings.password_policy.history).await?;
        drop(tx);
        if link.used_at.is_some() {
            return Err(link_error(
                "link_used",
                "this sign-in link has already been used; ask your administrator for a new one",
            ));
        }
        if link.invalidated_at.is_some() || !user.active {
            return Err(link_error(
                "link_superseded",
                "this sign-in link was replaced by a newer one or withdrawn; use the newest email or ask for a new link",
            ));
        }
        if link.expires_at <= now {
            return Err(link_error(
                "link_expired",
                "this sign-in link has expired; ask your administrator for a new one",
            ));
        }
        settings.password_policy.check(new_password)?;
        if password::matches_any(new_password.to_owned(), recent).await {
            return Err(Invalid::new(
                "password",
                "password_reused",
                format!(
                    "choose a password you have not used among your last {}",
                    settings.password_policy.history
                ),
            )
            .into());
        }
        let hash = password::hash(new_password.to_owned()).await?;

        let mut tx = self.db.write().await?;
        let mut user = tx.user_for_update(&user.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if !user.active || !tx.use_link(&token_hash, now).await? {
            return Err(link_error(
                "link_used",
                "this sign-in link has already been used; ask your administrator for a new one",
            ));
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
        let ctx = Ctx {
            label: user.email.clone(),
            ..Ctx::user(&user, source_ip)
        };
        let action = if first_activation { "user.activated" } else { "user.password_set" };
        record(
            &mut tx,
            &ctx,
            now,
            action,
            "user",
            Some(user.id.as_str()),
            Some(before),
            Some(user_json(&user)),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
