//! D7: editing a user's names, email, role and office under lock (S9),
//! a new address ending sessions and links (S10).

use super::*;

/// Edits names, email, role and office; `active` goes to the lifecycle
/// rules of SPEC §3. S9: the user row is read locked in the caller's write
/// transaction and only the fields the patch names are written. Returns
/// the outcome and whether mail was queued.
pub(crate) async fn edit_user(
    app: &App,
    tx: &mut Tx,
    ctx: &Ctx,
    id: &UserId,
    patch: UserPatch,
    now: domain::Millis,
) -> AppResult<(UpdateOutcome, bool)> {
    let mut p = Problems::new();
    let first = patch
        .first_name
        .as_deref()
        .and_then(|s| p.check(PersonName::parse("first_name", s)));
    let last = patch.last_name.as_deref().and_then(|s| p.check(PersonName::parse("last_name", s)));
    let email = patch.email.as_deref().and_then(|s| p.check(Email::parse(s)));
    let role = patch.role.as_deref().and_then(|s| p.check(Role::parse(s)));
    p.into_result()?;

    if patch.active == Some(false) {
        // Lock order: a stored plan, then the user (as the scheduler and
        // offboarding take them); the deactivation below settles the plan.
        tx.scheduled_deactivation_for_update(id).await?;
    }
    let before = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
    let actor = require_manage(ctx, &before)?.cloned();
    // DIR3: the directory owns the name, email and lifecycle of the
    // users it manages; only it (through SCIM) changes them.
    let owned_change = first.is_some() || last.is_some() || email.is_some() || patch.active.is_some();
    if owned_change && !ctx.is_directory() && tx.directory_link(&before.id).await?.is_some() && tx.settings().await?.active_directory_sync {
        let unchanged = first.as_ref().is_none_or(|f| *f == before.first_name)
            && last.as_ref().is_none_or(|l| *l == before.last_name)
            && email.as_ref().is_none_or(|e| *e == before.email)
            && patch.active.is_none_or(|a| a == before.active);
        if !unchanged {
            return Err(AppError::ManagedByDirectory);
        }
    }
    let mut change = UserChange::default();
    let mut queued = false;

    if let Some(first) = first.filter(|f| *f != before.first_name) {
        change.first_name = Some(first);
    }
    if let Some(last) = last.filter(|l| *l != before.last_name) {
        change.last_name = Some(last);
    }
    if let Some(office) = &patch.office_id {
        let office_id = office.as_deref().map(OfficeId::from);
        if let Some(oid) = &office_id {
            existing_office(tx, oid).await?;
        }
        if office_id != before.office_id {
            change.office_id = Some(office_id);
        }
    }
    if let Some(role) = role.filter(|r| *r != before.role) {
        if role.side() != before.side {
            return Err(Invalid::new(
                "role",
                "role_side_mismatch",
                format!("the role {role} is for {} users; this is a {} user", role.side(), before.side),
            )
            .into());
        }
        if actor.as_ref().is_some_and(|a| a.id == before.id) {
            return Err(AppError::forbidden("you cannot change your own role"));
        }
        if before.role == Role::CompanySystemAdministrator && tx_count_active_sysadmins(tx, &before).await? == 0 {
            return Err(AppError::conflict(
                "last_system_administrator",
                "this is the only active company system administrator; make another one first",
            ));
        }
        change.role = Some(role);
    }
    if let Some(a) = &actor {
        if change.role.is_some() || change.office_id.is_some() {
            let role = change.role.unwrap_or(before.role);
            let office = change.office_id.clone().unwrap_or_else(|| before.office_id.clone());
            a.can_assign(role, before.firm_id.as_ref(), office.as_ref())?;
        }
    }
    let mut readdressed = None;
    if let Some(email) = email.filter(|e| *e != before.email) {
        if !email.is_same_address(&before.email) {
            if tx.email_taken(&email, Some(&before.id)).await? {
                return Err(email_taken(&email));
            }
            readdressed = Some(email.as_str().to_owned());
        }
        change.email = Some(email);
    }

    let mut outcome = UpdateOutcome { warnings: Vec::new() };
    if !change.is_empty() {
        tx.update_user_fields(&before.id, &change, now).await?;
        let mut mail = serde_json::Map::new();
        if let Some(address) = &readdressed {
            app.hooks.pause(crate::hooks::Point::EmailWritten).await;
            let moved = move_to_new_address(tx, &before, address, now).await?;
            queued = moved.requeued.is_some();
            mail.insert("email_change".into(), serde_json::to_value(moved).unwrap_or_default());
        }
        let after = tx.user(&before.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        let mut after_json = user_json(&after);
        if let (Some(obj), false) = (after_json.as_object_mut(), mail.is_empty()) {
            obj.extend(mail);
        }
        record(
            tx,
            ctx,
            now,
            AuditAction::UserUpdated,
            Some(before.id.as_str()),
            Some(user_json(&before)),
            Some(after_json),
        )
        .await?;
    }
    if let Some(active) = patch.active.filter(|a| *a != before.active) {
        let mut user = tx.user(&before.id).await?.ok_or_else(|| AppError::not_found("user"))?;
        let lifecycle = crate::lifecycle::set_active(app, tx, ctx, &mut user, active, now).await?;
        if !active {
            crate::offboarding::settle_plan_on_deactivation(tx, ctx, &user.id, now).await?;
        }
        outcome.warnings = lifecycle.warnings;
    }
    Ok((outcome, queued))
}

/// What an edit reports besides the new state: D4's warnings to a
/// company-side administrator.
#[derive(Debug, Clone, Default)]
pub struct UpdateOutcome {
    pub warnings: Vec<domain::deactivation::Blocker>,
}

/// What an email change did to the user's links and mail (S10).
#[derive(Debug, serde::Serialize)]
struct Readdressed {
    links_invalidated: u64,
    mail_cancelled: u64,
    /// The sign-in email sent again, now to the new address.
    requeued: Option<&'static str>,
    sessions_revoked: u64,
}

/// S10: a user's address changed. Every outstanding sign-in link is void
/// (whoever got one at the old address must not take the account), queued
/// mail to the old address is cancelled, and a sign-in email that was on
/// its way goes to the new address instead. D7: a never-activated account
/// is simply re-addressed; an activated one now belongs to another address,
/// so its password and sessions end and the new address gets a reset link.
async fn move_to_new_address(tx: &mut Tx, user: &User, new_address: &str, now: domain::Millis) -> AppResult<Readdressed> {
    let links_invalidated = tx.invalidate_user_links(&user.id, now).await?;
    let new_user_email = tx.cancel_user_mail(&user.id, &[MailKind::NewUserEmail]).await?;
    let reset = tx.cancel_user_mail(&user.id, &[MailKind::PasswordReset]).await?;
    let other = tx
        .cancel_user_mail(&user.id, &[MailKind::MatterAdded, MailKind::MatterClosed])
        .await?;
    let mut sessions_revoked = 0;
    let resend = if user.activated_at.is_some() {
        tx.set_password_hash(&user.id, None, now).await?;
        sessions_revoked = tx.delete_user_sessions(&user.id).await?;
        Some(OutboxPayload::PasswordReset)
    } else if reset > 0 {
        Some(OutboxPayload::PasswordReset)
    } else if new_user_email > 0 {
        Some(OutboxPayload::NewUserEmail)
    } else {
        None
    };
    let resend = resend.filter(|_| user.active);
    match &resend {
        Some(payload) => {
            tx.enqueue_mail(payload, Some(&user.id), new_address, now).await?;
            tx.set_new_user_email_status(&user.id, EmailStatus::Queued, now).await?;
        }
        None if user.new_user_email.status == EmailStatus::Queued => tx.unqueue_new_user_email(&user.id, now).await?,
        None => {}
    }
    Ok(Readdressed {
        links_invalidated,
        mail_cancelled: new_user_email + reset + other,
        requeued: resend.map(|p| p.kind().as_str()),
        sessions_revoked,
    })
}

async fn tx_count_active_sysadmins(tx: &mut Tx, except: &User) -> AppResult<i64> {
    Ok(tx.count_active_role(Role::CompanySystemAdministrator, &except.id).await?)
}
