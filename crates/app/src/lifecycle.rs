//! SPEC §3–§4: deactivation, reactivation, the deactivation check and the
//! bulk update of the lead company person.

use crate::audit::record;
use crate::users::{active_company_user, require_manage};
use crate::views::user_json;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::deactivation::{evaluate, Blocker, Verdict};
use domain::model::{EmailStatus, User};
use domain::{Invalid, MatterId, Millis, UserId};
use serde_json::json;
use store::{MailKind, Tx};

/// D6/DIR3: with directory sync on, the directory owns the lifecycle of
/// the users it manages ([`User::directory_owns_lifecycle`]).
async fn refuse_if_directory_managed(tx: &mut Tx, user: &User) -> AppResult<()> {
    let (linked, sync) = crate::users::directory_facts(tx, user).await?;
    if user.directory_owns_lifecycle(linked, sync) {
        return Err(AppError::ManagedByDirectory);
    }
    Ok(())
}

/// The verdict of D3/D4 for `user`, by whoever `ctx` is.
async fn verdict(tx: &mut Tx, ctx: &Ctx, user: &User) -> AppResult<Verdict> {
    let facts = tx.deactivation_facts(user).await?;
    Ok(evaluate(ctx.actor.as_ref().map(|a| a.role), user.side, &facts))
}

pub(crate) struct Changed {
    pub warnings: Vec<Blocker>,
}

/// D1, D2, D3–D8, R1: flips `active` inside the caller's transaction. The
/// caller has locked the user row.
pub(crate) async fn set_active(_app: &App, tx: &mut Tx, ctx: &Ctx, user: &mut User, active: bool, now: Millis) -> AppResult<Changed> {
    let before = user_json(user);
    refuse_if_directory_managed(tx, user).await?;
    if active {
        reactivate_now(tx, ctx, user, before, now).await?;
        return Ok(Changed { warnings: Vec::new() });
    }
    if ctx.actor_id() == Some(&user.id) {
        return Err(AppError::Forbidden {
            code: "cannot_deactivate_self",
            message: "you cannot deactivate yourself".into(),
        });
    }
    // D4 weighs other users' rows: hold them still until commit.
    tx.lock_for_deactivation(user).await?;
    let v = verdict(tx, ctx, user).await?;
    if !v.can_deactivate() {
        return Err(AppError::DeactivationBlocked {
            message: format!(
                "{} {} cannot be deactivated until {} blocker(s) are cleared",
                user.first_name,
                user.last_name,
                v.blockers.len()
            ),
            blockers: v.blockers,
        });
    }
    let warnings = serde_json::to_value(&v.warnings).unwrap_or_default();
    deactivate_now(tx, ctx, user, before, json!({"warnings": warnings}), now).await?;
    Ok(Changed { warnings: v.warnings })
}

/// R1: participations and delegations were never removed; making the
/// user active again is all it takes to give them back.
pub(crate) async fn reactivate_now(tx: &mut Tx, ctx: &Ctx, user: &mut User, before: serde_json::Value, now: Millis) -> AppResult<()> {
    tx.set_user_active(&user.id, true, now).await?;
    user.active = true;
    user.deactivated_at = None;
    user.updated_at = now;
    record(
        tx,
        ctx,
        now,
        AuditAction::UserReactivated,
        Some(user.id.as_str()),
        Some(before),
        Some(user_json(user)),
    )
    .await?;
    Ok(())
}

/// D2, all at once and in the caller's transaction: the user is inactive,
/// their sessions and links end and their queued mail is cancelled; the
/// audit entry's `after` holds what was undone plus `extra`. The caller
/// has decided that the deactivation may happen (D3–D6, or DIR3).
pub(crate) async fn deactivate_now(
    tx: &mut Tx,
    ctx: &Ctx,
    user: &mut User,
    before: serde_json::Value,
    extra: serde_json::Value,
    now: Millis,
) -> AppResult<()> {
    // D2, all at once and in this transaction.
    tx.set_user_active(&user.id, false, now).await?;
    user.active = false;
    user.deactivated_at = Some(now);
    user.updated_at = now;
    let sessions = tx.delete_user_sessions(&user.id).await?;
    let links = tx.invalidate_user_links(&user.id, now).await?;
    let mail = tx
        .cancel_user_mail(
            &user.id,
            &[
                MailKind::NewUserEmail,
                MailKind::PasswordReset,
                MailKind::MatterAdded,
                MailKind::MatterClosed,
            ],
        )
        .await?;
    // The new user email (or reset link) that was on its way is cancelled
    // above: the status must not keep saying `queued`, or after a
    // reactivation N3/N4 would treat it as still on its way and never send
    // it. It goes back to what was last true: sent once, or never sent.
    if user.new_user_email.status == EmailStatus::Queued {
        tx.unqueue_new_user_email(&user.id, now).await?;
        user.new_user_email.status = if user.new_user_email.sent_at.is_some() {
            EmailStatus::Sent
        } else {
            EmailStatus::Held
        };
        user.new_user_email.last_change_at = Some(now);
    }
    let mut after = json!({"user": user_json(user), "sessions_revoked": sessions, "links_invalidated": links, "mail_cancelled": mail});
    if let (Some(a), serde_json::Value::Object(extra)) = (after.as_object_mut(), extra) {
        a.extend(extra);
    }
    record(
        tx,
        ctx,
        now,
        AuditAction::UserDeactivated,
        Some(user.id.as_str()),
        Some(before),
        Some(after),
    )
    .await?;
    Ok(())
}

/// `GET /users/{id}/deactivation-check` (D5).
pub struct Check {
    pub can_deactivate: bool,
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<Blocker>,
    pub directory_managed: bool,
    /// Tracker refuses to deactivate them (D6/DIR3).
    pub directory_owns_lifecycle: bool,
}

/// The most matters one bulk update may list (the whole set needs no list).
pub const MAX_BULK_MATTERS: usize = 1000;

/// D9's answer.
pub struct BulkUpdated {
    pub updated: Vec<MatterId>,
}

impl App {
    #[tracing::instrument(name = "deactivation_check", skip_all)]
    pub async fn deactivation_check(&self, ctx: &Ctx, id: &UserId) -> AppResult<Check> {
        let mut tx = self.db.read().await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        let (linked, sync) = crate::users::directory_facts(&mut tx, &user).await?;
        let directory_owns_lifecycle = user.directory_owns_lifecycle(linked, sync);
        let v = verdict(&mut tx, ctx, &user).await?;
        Ok(Check {
            can_deactivate: v.can_deactivate() && !directory_owns_lifecycle && ctx.actor_id() != Some(&user.id),
            blockers: v.blockers,
            warnings: v.warnings,
            directory_managed: user.directory_managed(linked, sync),
            directory_owns_lifecycle,
        })
    }

    /// D9: moves the lead company person of all (or the listed) open
    /// matters of `from` to `to`, in one transaction.
    #[tracing::instrument(name = "bulk_update_lead", skip_all)]
    pub async fn bulk_update_lead(&self, ctx: &Ctx, from: &str, to: &str, matter_ids: Option<Vec<String>>) -> AppResult<BulkUpdated> {
        let actor = ctx.signed_in()?;
        if !actor.is_system_administrator() {
            return Err(AppError::forbidden(
                "only company system administrators reassign lead company persons",
            ));
        }
        if from == to {
            return Err(Invalid::new("to_user_id", "same_user", "to_user_id must differ from from_user_id").into());
        }
        if let Some(ids) = &matter_ids {
            if ids.is_empty() {
                return Err(Invalid::new("matter_ids", "required", "matter_ids, when given, must name at least one matter").into());
            }
            if ids.len() > MAX_BULK_MATTERS {
                return Err(Invalid::new(
                    "matter_ids",
                    "too_many",
                    format!("at most {MAX_BULK_MATTERS} matters in one bulk update; leave matter_ids out to move them all"),
                )
                .into());
            }
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let from_user = tx
            .user(&UserId::from(from))
            .await?
            .ok_or_else(|| AppError::from(Invalid::new("from_user_id", "unknown_user", "from_user_id: no such user")))?;
        let to_user = active_company_user(&mut tx, "to_user_id", to).await?;
        // A matter listed twice is moved (and audited) once.
        let ids: Option<Vec<MatterId>> = matter_ids.map(|v| {
            let mut seen = std::collections::HashSet::new();
            v.into_iter().filter(|id| seen.insert(id.clone())).map(MatterId::from).collect()
        });
        if let Some(ids) = &ids {
            let led: std::collections::HashSet<MatterId> = tx.open_matters_led_among(&from_user.id, ids).await?.into_iter().collect();
            if let Some(stray) = ids.iter().find(|id| !led.contains(*id)) {
                return Err(match tx.matter(stray).await? {
                    None => Invalid::new("matter_ids", "unknown_matter", format!("matter_ids: no matter {stray}")),
                    Some(m) => Invalid::new(
                        "matter_ids",
                        "not_led_by_user",
                        format!("matter_ids: {} ({}) is not an open matter led by from_user_id", m.name, m.number),
                    ),
                }
                .into());
            }
        }
        let updated = tx.reassign_lead(&from_user.id, &to_user.id, ids.as_deref(), now).await?;
        for m in &updated {
            record(
                &mut tx,
                ctx,
                now,
                AuditAction::MatterLeadReassigned,
                Some(m.as_str()),
                Some(json!({"lead_company_person_id": from_user.id})),
                Some(json!({"lead_company_person_id": to_user.id})),
            )
            .await?;
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::MatterBulkLeadUpdate,
            Some(from_user.id.as_str()),
            None,
            Some(json!({"to_user_id": to_user.id, "updated": updated.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(BulkUpdated { updated })
    }
}
