//! Sign-in, sessions and setting a password from an emailed link
//! (S1, S2, S5, S6, S9, S10, S11, N6).
//!
//! The slow step of each (the Argon2 check or hash) runs outside any
//! transaction; what the answer depends on is then read again, locked, in
//! the write transaction, and only the fields the step owns are written
//! (S9). A deactivation, reset, email change or lock that commits during the
//! slow step is therefore never undone.

use crate::audit::record;
use crate::hooks::Point;
use crate::views::user_json;
use crate::{password, App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::links::{LinkProblem, LinkState};
use domain::lockout::{decide, Account, Decision, LockReason};
use domain::model::User;
use domain::secret::{hash_token, looks_like_token, new_token};
use domain::{Invalid, Millis, UserId};
use serde_json::json;
use store::{Credentials, SignInLink, Tx};

/// The one answer to every failed sign-in (S2).
pub(crate) fn invalid_credentials() -> AppError {
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
    /// log. S4: failures and inactivity lock the account. S9: the decision
    /// is taken inside the write transaction, after the password check, on
    /// a fresh locked read of the account; a sign-in completes only if the
    /// account is still active and unlocked, still has this email, and still
    /// has the password hash that was verified.
    #[tracing::instrument(name = "sign_in", skip_all)]
    pub async fn sign_in(&self, email: &str, password: &str, source_ip: Option<String>) -> AppResult<NewSession> {
        self.limits
            .sign_in(source_ip.as_deref(), email)
            .inspect_err(|_| count_sign_in("rate_limited"))?;
        let _hashing = self.hashing.admit().inspect_err(|_| count_sign_in("busy"))?;
        let attempted: String = email.chars().take(254).collect();
        let ctx = Ctx {
            label: attempted.clone(),
            ..Ctx::anonymous(source_ip.clone())
        };
        let seen = {
            let mut tx = self.db.read().await?;
            match tx.user_by_email(email).await? {
                Some(u) => tx.credentials(&u.id).await?,
                None => None,
            }
        };
        let verified_hash = seen.as_ref().and_then(|c| c.password_hash.clone());
        let password_ok = password::verify(password.to_owned(), verified_hash.clone()).await;
        self.hooks.pause(Point::SignInVerified).await;

        let now = self.now();
        let mut tx = self.db.write().await?;
        let fresh = match &seen {
            Some(c) => tx.credentials_for_update(&c.user.id).await?,
            None => None,
        };
        let Some(c) = fresh else {
            let reason = if seen.is_some() { "account_gone" } else { "unknown_email" };
            record(
                &mut tx,
                &ctx,
                now,
                AuditAction::UserSignInFailed,
                None,
                None,
                Some(json!({"email": attempted, "reason": reason})),
            )
            .await?;
            tx.commit().await?;
            count_sign_in("refused");
            return Err(invalid_credentials());
        };
        let id = c.user.id.to_string();
        let refuse = |reason: &'static str| Decision::Refused {
            reason,
            after: domain::lockout::After {
                failed_sign_ins: c.failed_sign_ins,
                failed_window_start: c.failed_window_start,
                new_lock: None,
            },
        };
        // What changed while the password was being checked decides first.
        let decision = if !c.user.email.is_same_address(email) {
            refuse("email_changed")
        } else if password_ok && c.password_hash != verified_hash {
            refuse("password_changed")
        } else {
            let settings = tx.settings().await?;
            if !domain::sso::password_allowed(settings.sso.as_ref(), c.user.side, c.user.role) {
                // SSO1: this user signs in through the identity provider.
                refuse("sso_only")
            } else {
                decide(&account(&c), password_ok, now, &settings.lockout)
            }
        };
        match decision {
            Decision::Refused { reason, after } => {
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserSignInFailed,
                    Some(&id),
                    None,
                    Some(json!({"email": attempted, "reason": reason})),
                )
                .await?;
                let locked = after.new_lock.map(|(_, why)| why);
                if let Some((until, why)) = after.new_lock {
                    tx.lock_user(&c.user.id, until, why).await?;
                    record(
                        &mut tx,
                        &ctx,
                        now,
                        AuditAction::UserLocked,
                        Some(&id),
                        None,
                        Some(json!({"reason": why, "locked_until": until})),
                    )
                    .await?;
                } else if (after.failed_sign_ins, after.failed_window_start) != (c.failed_sign_ins, c.failed_window_start) {
                    tx.record_failed_sign_in(&c.user.id, after.failed_sign_ins, after.failed_window_start)
                        .await?;
                }
                tx.commit().await?;
                count_sign_in("refused");
                if let Some(why) = locked {
                    metrics::counter!("tracker_lockouts_total", "reason" => why.to_string()).increment(1);
                }
                Err(invalid_credentials())
            }
            Decision::SignedIn => {
                let limits = tx.settings().await?.sessions;
                let (token, token_hash) = new_token();
                let expires_at = now + limits.lifetime_ms();
                tx.insert_session(&token_hash, &c.user.id, now, expires_at, source_ip.as_deref())
                    .await?;
                tx.record_sign_in(&c.user.id, now).await?;
                let user = tx.user(&c.user.id).await?.ok_or_else(|| AppError::not_found("user"))?;
                let ctx = Ctx::user(&user, source_ip);
                record(&mut tx, &ctx, now, AuditAction::UserSignedIn, Some(user.id.as_str()), None, None).await?;
                tx.commit().await?;
                count_sign_in("succeeded");
                Ok(NewSession { token, user, expires_at })
            }
        }
    }

    /// S4: an administrator ends a lock. After an inactivity lock the user
    /// has 72 hours to sign in.
    #[tracing::instrument(name = "unlock_user", skip_all)]
    pub async fn unlock_user(&self, ctx: &Ctx, id: &UserId) -> AppResult<User> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let user = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        crate::users::require_manage(ctx, &user)?;
        let was = user.lock_reason;
        let was_locked = user.is_locked(now);
        let unlocked_at = (was == Some(LockReason::Inactivity) && was_locked).then_some(now);
        tx.unlock_user(&user.id, unlocked_at, now).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserUnlocked,
            Some(user.id.as_str()),
            Some(json!({"locked": was_locked, "lock_reason": was})),
            None,
        )
        .await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        tx.commit().await?;
        Ok(user)
    }

    /// S6: the session behind a bearer token or cookie, re-checked on every
    /// request: the user must still be active, and the session neither past
    /// its lifetime nor idle past the company's idle timeout (S11). A use
    /// restarts the idle time; the write happens at most once a minute per
    /// session, so reads stay reads.
    #[tracing::instrument(name = "authenticate", skip_all)]
    pub async fn authenticate(&self, token: &str) -> AppResult<Authenticated> {
        let unauthorized = || AppError::unauthorized("not_signed_in", "sign in first; the session is missing, expired or revoked");
        if !looks_like_token(token) {
            return Err(unauthorized());
        }
        let token_hash = hash_token(token);
        let now = self.now();
        let session = self.db.session(&token_hash, now).await?.ok_or_else(unauthorized)?;
        if !session.user.active {
            return Err(unauthorized());
        }
        if now - session.last_seen_at >= TOUCH_EVERY_MS.min(session.idle_ms / 2) {
            let mut tx = self.db.write().await?;
            tx.touch_session(&token_hash, now).await?;
            tx.commit().await?;
        }
        Ok(Authenticated {
            user: session.user,
            token_hash,
        })
    }

    /// S11: deletes every session past its lifetime or idle timeout. `tracker
    /// serve` runs it every minute; the count is what it removed.
    #[tracing::instrument(name = "sweep_sessions", skip_all)]
    pub async fn sweep_sessions(&self) -> AppResult<u64> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let idle_ms = tx.settings().await?.sessions.idle_ms();
        let n = tx.delete_expired_sessions(now, idle_ms).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// S4: clears the locks that have run out (see
    /// [`store::Tx::clear_expired_locks`]); `tracker serve` runs it every
    /// minute. Time ending a lock is no one's action: no audit entry.
    #[tracing::instrument(name = "clear_expired_locks", skip_all)]
    pub async fn clear_expired_locks(&self) -> AppResult<u64> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let n = tx.clear_expired_locks(now).await?;
        tx.commit().await?;
        Ok(n)
    }

    #[tracing::instrument(name = "sign_out", skip_all)]
    pub async fn sign_out(&self, ctx: &Ctx, token_hash: &str) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.delete_session(token_hash).await?;
        let target = ctx.actor_id().map(|a| a.to_string());
        record(&mut tx, ctx, now, AuditAction::UserSignedOut, target.as_deref(), None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// N6: sets a password from a one-time link and activates the account.
    /// S11: every session of the user ends (whoever held one no longer
    /// knows the password). S9/S10: the link and the user are read again,
    /// locked, after the slow hashing, and the link must still be meant for
    /// the user's current address.
    #[tracing::instrument(name = "set_password_with_link", skip_all)]
    pub async fn set_password_with_link(&self, token: &str, new_password: &str, source_ip: Option<String>) -> AppResult<User> {
        self.limits.set_password(source_ip.as_deref())?;
        let _hashing = self.hashing.admit()?;
        if !looks_like_token(token) {
            return Err(LinkProblem::Invalid.into());
        }
        let token_hash = hash_token(token);
        let (user, settings, recent) = {
            let mut tx = self.db.read().await?;
            let (_, user) = usable_link(&mut tx, &token_hash, self.now()).await?;
            let settings = tx.settings().await?;
            let recent = tx.recent_password_hashes(&user.id, settings.password_policy.history).await?;
            (user, settings, recent)
        };
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
        self.hooks.pause(Point::SetPasswordHashed).await;

        let now = self.now();
        let mut tx = self.db.write().await?;
        let before = tx.user_for_update(&user.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        usable_link(&mut tx, &token_hash, now).await?;
        if !tx.use_link(&token_hash, now).await? {
            return Err(LinkProblem::Used.into());
        }
        tx.invalidate_user_links(&user.id, now).await?;
        tx.set_password_hash(&user.id, Some(&hash), now).await?;
        tx.mark_activated(&user.id, now).await?;
        let sessions = tx.delete_user_sessions(&user.id).await?;
        let after = tx.user(&user.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        let ctx = Ctx {
            label: after.email.to_string(),
            ..Ctx::user(&after, source_ip)
        };
        let action = if before.activated_at.is_none() {
            AuditAction::UserActivated
        } else {
            AuditAction::UserPasswordSet
        };
        record(
            &mut tx,
            &ctx,
            now,
            action,
            Some(after.id.as_str()),
            Some(user_json(&before)),
            Some(json!({"user": user_json(&after), "sessions_revoked": sessions})),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// How often a session's last use is written (S11's idle clock needs no
/// finer grain).
const TOUCH_EVERY_MS: Millis = 60_000;

/// OP2: `tracker_sign_ins_total{outcome}`: succeeded, refused (any reason:
/// the reasons stay in the audit log), rate_limited, busy.
fn count_sign_in(outcome: &'static str) {
    metrics::counter!("tracker_sign_ins_total", "outcome" => outcome).increment(1);
}

pub(crate) fn account(c: &Credentials) -> Account {
    Account {
        active: c.user.active,
        has_password: c.password_hash.is_some(),
        locked_until: c.user.locked_until,
        failed_sign_ins: c.failed_sign_ins,
        failed_window_start: c.failed_window_start,
        last_sign_in_at: c.user.last_sign_in_at,
        activated_at: c.user.activated_at,
        unlocked_at: c.unlocked_at,
    }
}

impl From<LinkProblem> for AppError {
    fn from(p: LinkProblem) -> Self {
        let (code, msg) = match p {
            LinkProblem::Invalid => (
                "link_invalid",
                "this sign-in link is not valid; ask your administrator for a new one",
            ),
            LinkProblem::Used => (
                "link_used",
                "this sign-in link has already been used; ask your administrator for a new one",
            ),
            LinkProblem::Superseded => (
                "link_superseded",
                "this sign-in link was replaced by a newer one or withdrawn; use the newest email or ask for a new link",
            ),
            LinkProblem::Expired => (
                "link_expired",
                "this sign-in link has expired; ask your administrator for a new one",
            ),
        };
        AppError::invalid(vec![Invalid::new("token", code, msg.to_owned())])
    }
}

/// The link with this hash and its user, if the link can still set a
/// password at `now`.
pub(crate) async fn usable_link(tx: &mut Tx, token_hash: &str, now: Millis) -> AppResult<(SignInLink, User)> {
    let link = tx.link(token_hash).await?.ok_or(LinkProblem::Invalid)?;
    let user = tx.user(&UserId::from(link.user_id.as_str())).await?.ok_or(LinkProblem::Invalid)?;
    let state = LinkState {
        used_at: link.used_at,
        invalidated_at: link.invalidated_at,
        expires_at: link.expires_at,
        sent_to: &link.sent_to,
        user_active: user.active,
        user_email: &user.email,
    };
    domain::links::check(&state, now)?;
    Ok((link, user))
}
