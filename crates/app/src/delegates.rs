//! Delegations: at most five delegates per delegator, all active users of
//! the delegator's own side (and firm) **(I)**.

use crate::audit::record;
use crate::users::{active_user, require_manage};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::User;
use domain::{Invalid, UserId};
use serde_json::json;

pub const MAX_DELEGATES: usize = 5;

/// `GET /users/{id}/delegates`.
pub struct DelegateView {
    pub delegates: Vec<User>,
    pub delegators: Vec<User>,
}

impl App {
    /// `PUT /me/delegates`.
    #[tracing::instrument(name = "set_my_delegates", skip_all)]
    pub async fn set_my_delegates(&self, ctx: &Ctx, ids: Vec<String>) -> AppResult<Vec<User>> {
        let actor = ctx.signed_in()?;
        // A list far longer than the limit is refused before any work.
        let listed = ids.len();
        let mut unique: Vec<String> = Vec::new();
        for id in ids.into_iter().take(2 * MAX_DELEGATES) {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if listed > 2 * MAX_DELEGATES || unique.len() > MAX_DELEGATES {
            return Err(Invalid::new("delegate_ids", "too_many_delegates", format!("at most {MAX_DELEGATES} delegates")).into());
        }
        if unique.iter().any(|d| d == actor.id.as_str()) {
            return Err(Invalid::new("delegate_ids", "cannot_delegate_to_self", "you cannot be your own delegate").into());
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let me = tx.user(&actor.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        let mut delegates = Vec::new();
        for id in &unique {
            let d = active_user(&mut tx, "delegate_ids", id).await?;
            if d.side != me.side || d.firm_id != me.firm_id {
                return Err(Invalid::new(
                    "delegate_ids",
                    "delegate_out_of_organisation",
                    format!("{} {} is not in your organisation", d.first_name, d.last_name),
                )
                .into());
            }
            delegates.push(d);
        }
        let before: Vec<UserId> = tx.delegates_of(&me.id).await?.into_iter().map(|u| u.id).collect();
        let ids: Vec<UserId> = delegates.iter().map(|u| u.id.clone()).collect();
        tx.set_delegates(&me.id, &ids, now).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDelegatesUpdated,
            Some(me.id.as_str()),
            Some(json!({"delegate_ids": before})),
            Some(json!({"delegate_ids": ids})),
        )
        .await?;
        tx.commit().await?;
        Ok(delegates)
    }

    #[tracing::instrument(name = "my_delegates", skip_all)]
    pub async fn my_delegates(&self, ctx: &Ctx) -> AppResult<DelegateView> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        Ok(DelegateView {
            delegates: tx.delegates_of(&actor.id).await?,
            delegators: tx.delegators_of(&actor.id).await?,
        })
    }

    /// The administrator's view of someone's delegations.
    #[tracing::instrument(name = "user_delegates", skip_all)]
    pub async fn user_delegates(&self, ctx: &Ctx, id: &UserId) -> AppResult<DelegateView> {
        let mut tx = self.db.read().await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        Ok(DelegateView {
            delegates: tx.delegates_of(id).await?,
            delegators: tx.delegators_of(id).await?,
        })
    }
}
