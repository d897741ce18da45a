//! SPEC §2: the new user email — the N3 report and bulk send, sending to
//! one user (N4), and the reset that re-sends access (N5).

use crate::audit::record;
use crate::users::UserList;
use crate::users::{queue_new_user_email, require_manage};
use crate::views::user_json;
use crate::{App, AppError, AppResult, Ctx, Page};
use domain::access::{Actor, UserScope};
use domain::audit::AuditAction;
use domain::model::{EmailStatus, User};
use domain::UserId;
use store::{MailKind, Org, OutboxPayload, Queuer, SortKey, Status, UserQuery};

/// The sentence of N3 when nobody is waiting (from the seed).
pub const ALL_SENT_MESSAGE: &str = "New user emails have already been sent to all users in the system.";

/// N3's confirm step.
#[derive(Debug, Clone)]
pub struct BulkSent {
    pub sent: i64,
    pub message: String,
}

/// N9: who may send to whom is the administrator's scope.
fn sending_scope(ctx: &Ctx) -> AppResult<UserScope> {
    match &ctx.actor {
        None => Ok(UserScope::All),
        Some(actor) if actor.role.is_user_administrator() => Ok(scope_of(actor)),
        Some(_) => Err(AppError::forbidden("your role does not send new user emails")),
    }
}

fn scope_of(actor: &Actor) -> UserScope {
    actor.user_scope()
}

fn require_active(user: &User) -> AppResult<()> {
    if !user.active {
        // N7: inactive users are never emailed.
        return Err(AppError::conflict(
            "user_inactive",
            "the user is deactivated and is never emailed; reactivate them first",
        ));
    }
    Ok(())
}

impl App {
    /// N3's report: every active user in scope never sent the new user email.
    #[tracing::instrument(name = "pending_new_user_emails", skip_all)]
    pub async fn pending_new_user_emails(&self, ctx: &Ctx, page: Page) -> AppResult<UserList> {
        let scope = sending_scope(ctx)?;
        let found = self
            .db
            .list_users(&UserQuery {
                scope,
                org: Org::All,
                status: Status::NeverEmailed,
                q: None,
                sort: SortKey::Name,
                descending: false,
                limit: page.per_page,
                offset: page.offset(),
                after: None,
            })
            .await?;
        Ok(UserList {
            items: found.items,
            extras: found.extras,
            total: found.total,
            total_exact: found.total_exact,
            page,
            next: found.next.map(|c| c.encode()),
        })
    }

    /// N3's confirm: queues the email for all of them in one transaction.
    #[tracing::instrument(name = "send_pending_new_user_emails", skip_all)]
    pub async fn send_pending_new_user_emails(&self, ctx: &Ctx) -> AppResult<BulkSent> {
        let scope = sending_scope(ctx)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let actor_id = ctx.actor_id().map(|a| a.to_string());
        let who = Queuer {
            actor_id: actor_id.as_deref(),
            actor_label: &ctx.label,
            source_ip: ctx.source_ip.as_deref(),
        };
        let sent = tx.queue_all_pending_new_user_emails(&scope, &who, now).await?;
        self.commit(tx, sent > 0).await?;
        let message = if sent == 0 {
            ALL_SENT_MESSAGE.to_owned()
        } else {
            format!("The new user email is being sent to {sent} user(s).")
        };
        Ok(BulkSent { sent, message })
    }

    /// N4: sends the new user email to one user.
    #[tracing::instrument(name = "send_new_user_email", skip_all)]
    pub async fn send_new_user_email(&self, ctx: &Ctx, id: &UserId) -> AppResult<User> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut user = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        require_active(&user)?;
        if user.new_user_email.status == EmailStatus::Queued {
            return Err(AppError::conflict(
                "new_user_email_queued",
                "the new user email is already on its way to this user",
            ));
        }
        queue_new_user_email(&mut tx, ctx, &mut user, now).await?;
        self.commit(tx, true).await?;
        Ok(user)
    }

    /// N5: the current password becomes unusable, every earlier link and
    /// session of the user ends, and a fresh one-time link is emailed.
    #[tracing::instrument(name = "reset_password", skip_all)]
    pub async fn reset_password(&self, ctx: &Ctx, id: &UserId) -> AppResult<User> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut user = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        require_active(&user)?;
        let before = user_json(&user);
        tx.set_password_hash(&user.id, None, now).await?;
        let links = tx.invalidate_user_links(&user.id, now).await?;
        let sessions = tx.delete_user_sessions(&user.id).await?;
        // A queued message would carry a link made before the reset.
        tx.cancel_user_mail(&user.id, &[MailKind::NewUserEmail, MailKind::PasswordReset])
            .await?;
        tx.enqueue_mail(&OutboxPayload::PasswordReset, Some(&user.id), &user.email, now)
            .await?;
        tx.set_new_user_email_status(&user.id, EmailStatus::Queued, now).await?;
        user.new_user_email.status = EmailStatus::Queued;
        user.new_user_email.last_change_at = Some(now);
        user.updated_at = now;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserPasswordReset,
            Some(user.id.as_str()),
            Some(before),
            Some(serde_json::json!({"user": user_json(&user), "links_invalidated": links, "sessions_revoked": sessions})),
        )
        .await?;
        self.commit(tx, true).await?;
        Ok(user)
    }
}
