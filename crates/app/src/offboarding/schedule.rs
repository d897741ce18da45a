//! O3: scheduled deactivations — stored plans, the scheduler that runs
//! them when due, and the alerts when it cannot.

use super::{hand_over_and_deactivate, lock_people, named_successors, plan_in, ScheduledView};
use crate::audit::record;
use crate::users::require_manage;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::User;
use domain::offboarding::{chosen, PlanStatus};
use domain::{Millis, UserId};
use serde_json::json;
use std::collections::HashMap;
use store::{OutboxPayload, ScheduledDeactivation, Tx};

/// Who acts when the scheduler runs a plan: the system, named after the
/// administrator who scheduled it.
fn scheduler_ctx(plan: &ScheduledDeactivation) -> Ctx {
    Ctx {
        actor: None,
        label: format!("scheduler (planned by {})", plan.created_by_label),
        source_ip: None,
    }
}

fn stored_successors(plan: &ScheduledDeactivation) -> HashMap<String, UserId> {
    let map: HashMap<String, String> = serde_json::from_str(&plan.successors_json).unwrap_or_default();
    named_successors(&map)
}

/// Why a plan was refused, as lines for the record and the email.
fn reasons(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
        AppError::DeactivationBlocked { blockers, .. } => {
            blockers.iter().map(|b| format!("{}: {}", b.kind.as_str(), b.kind.fix())).collect()
        }
        other => vec![other.message()],
    }
}

/// Refusals a plan can meet at run time; anything else (the database) is
/// retried at the next tick.
fn is_refusal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid(_)
            | AppError::DeactivationBlocked { .. }
            | AppError::ManagedByDirectory
            | AppError::Forbidden { .. }
            | AppError::Conflict { .. }
    )
}

/// Queues one alert to every active system administrator (N7).
async fn alert_admins(tx: &mut Tx, alert: &str, user: &User, effective_at: Millis, details: Vec<String>, now: Millis) -> AppResult<()> {
    for admin in tx.active_system_administrators().await? {
        let payload = OutboxPayload::OffboardingAlert(store::OffboardingAlert {
            alert: alert.to_owned(),
            user_id: user.id.to_string(),
            user_name: user.full_name(),
            effective_at,
            details: details.clone(),
        });
        tx.enqueue_mail(&payload, Some(&admin.id), &admin.email, now).await?;
    }
    Ok(())
}

impl App {
    /// O3: `GET /scheduled-deactivations`, the plans of users the caller manages.
    #[tracing::instrument(name = "scheduled_deactivations", skip_all)]
    pub async fn scheduled_deactivations(&self, ctx: &Ctx) -> AppResult<Vec<ScheduledView>> {
        let actor = ctx.signed_in()?;
        if !actor.role.is_user_administrator() {
            return Err(AppError::forbidden("your role does not administer users"));
        }
        let mut tx = self.db.read().await?;
        let plans = tx.list_scheduled_deactivations().await?;
        let ids: Vec<UserId> = plans.iter().map(|p| UserId::from(p.user_id.as_str())).collect();
        let users: HashMap<UserId, User> = tx.users_by_ids(&ids).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
        let linked = tx.directory_linked_among(&ids).await?;
        let sync = tx.settings().await?.active_directory_sync;
        Ok(plans
            .into_iter()
            .filter_map(|plan| {
                let user = users.get(&UserId::from(plan.user_id.as_str()))?.clone();
                require_manage(ctx, &user).ok()?;
                let directory_managed = user.directory_managed(linked.contains(&user.id), sync);
                Some(ScheduledView {
                    plan,
                    user,
                    directory_managed,
                })
            })
            .collect())
    }

    /// O3: `DELETE /users/{id}/scheduled-deactivation`.
    #[tracing::instrument(name = "cancel_scheduled_deactivation", skip_all)]
    pub async fn cancel_scheduled_deactivation(&self, ctx: &Ctx, id: &UserId) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let plan = tx.scheduled_deactivation_for_update(id).await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        let Some(plan) = plan.filter(|p| p.status != PlanStatus::Done) else {
            return Err(AppError::not_found("scheduled deactivation"));
        };
        tx.delete_scheduled_deactivation(id).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDeactivationCancelled,
            Some(id.as_str()),
            Some(json!({"effective_at": plan.effective_at, "status": plan.status})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// O3, the scheduler's tick: runs every plan due by the application
    /// clock, each in its own transaction, and sends the reminders that
    /// are due. Returns how many plans ran (carried out or refused).
    #[tracing::instrument(name = "run_scheduled_deactivations", skip_all)]
    pub async fn run_scheduled_deactivations(&self) -> AppResult<usize> {
        let mut ran = 0;
        while self.run_one_due().await? {
            ran += 1;
        }
        while self.remind_one().await? {}
        Ok(ran)
    }

    /// Claims one due plan and carries it out, or records why not, in one
    /// transaction that holds the plan's row throughout: exactly once.
    async fn run_one_due(&self) -> AppResult<bool> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(plan) = tx.claim_due_deactivation(now).await? else {
            return Ok(false);
        };
        let id = UserId::from(plan.user_id.as_str());
        let ctx = scheduler_ctx(&plan);
        let named = stored_successors(&plan);
        let default = plan.default_successor_id.as_deref().map(UserId::from);
        let mut user = lock_people(&mut tx, &id, &named, default.as_ref())
            .await?
            .ok_or_else(|| AppError::internal("a scheduled user is missing"))?;
        tx.savepoint("scheduled_run").await?;
        let outcome = if user.active {
            hand_over_and_deactivate(self, &mut tx, &ctx, &mut user, &named, default.as_ref(), now).await
        } else {
            Err(AppError::conflict("user_inactive", "the user was already deactivated"))
        };
        match outcome {
            Ok(reassigned) => {
                tx.finish_scheduled_deactivation(&id, None, now).await?;
                tracing::info!(reassigned, "scheduled deactivation carried out");
            }
            Err(e) if is_refusal(&e) => {
                // Nothing of the run stays; the plan records why (O3).
                tx.rollback_to("scheduled_run").await?;
                let why = reasons(&e);
                tx.finish_scheduled_deactivation(&id, Some(&why.join("; ")), now).await?;
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserDeactivationFailed,
                    Some(id.as_str()),
                    None,
                    Some(json!({"effective_at": plan.effective_at, "reasons": why})),
                )
                .await?;
                alert_admins(&mut tx, "failed", &user, plan.effective_at, why, now).await?;
                tracing::warn!("scheduled deactivation refused; the system administrators are told");
            }
            Err(e) => return Err(e),
        }
        self.commit(tx, true).await?;
        Ok(true)
    }

    /// O3: reminds the administrators, once, of a plan coming up within the
    /// reminder days that still has blocking items nobody takes over.
    async fn remind_one(&self) -> AppResult<bool> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let days = tx.offboarding_reminder_days().await?;
        let Some(plan) = tx.claim_reminder(now, days * 86_400_000).await? else {
            return Ok(false);
        };
        let id = UserId::from(plan.user_id.as_str());
        tx.mark_reminded(&id, now).await?;
        let mut queued = false;
        if let Some(user) = tx.user(&id).await? {
            let items = plan_in(&mut tx, None, &user).await?;
            let named = stored_successors(&plan);
            let default = plan.default_successor_id.as_deref().map(UserId::from);
            let open: Vec<String> = items
                .iter()
                .filter(|i| i.needs_successor() && chosen(i, &named, default.as_ref()).is_none())
                .map(|i| format!("{} — {}", i.kind.as_str().replace('_', " "), i.target.name))
                .collect();
            if !open.is_empty() {
                alert_admins(&mut tx, "reminder", &user, plan.effective_at, open, now).await?;
                queued = true;
            }
        }
        self.commit(tx, queued).await?;
        Ok(true)
    }
}

/// O3: whether `ctx` is shown leaving dates: user administrators are.
pub(crate) fn sees_leaving_dates(ctx: &Ctx) -> bool {
    ctx.actor.as_ref().is_some_and(|a| a.role.is_user_administrator())
}

impl App {
    /// O3: the leaving dates of those of `users` with a scheduled
    /// deactivation, for the profile ("leaves on …"; the user list reads
    /// them with its page). The ids come from a list the caller was
    /// allowed to read.
    #[tracing::instrument(name = "leaving_dates", skip_all)]
    pub async fn leaving_dates(&self, ctx: &Ctx, users: &[UserId]) -> AppResult<HashMap<UserId, Millis>> {
        ctx.signed_in()?;
        if !sees_leaving_dates(ctx) || users.is_empty() {
            return Ok(HashMap::new());
        }
        // One statement: no transaction around it.
        let mut tx = self.db.read_one().await?;
        Ok(tx
            .leaving_dates(users)
            .await?
            .into_iter()
            .map(|(id, at)| (UserId::from(id), at))
            .collect())
    }
}
