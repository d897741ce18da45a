//! A new user (SPEC §1, N1): who may create whom, the fields' rules, the
//! row, its audit entry and the new user email.

use super::*;

/// N1/N2/N4: puts the new user email in the outbox for `user` inside the
/// caller's transaction. N7: never for an inactive user.
pub(crate) async fn queue_new_user_email(tx: &mut Tx, ctx: &Ctx, user: &mut User, now: domain::Millis) -> AppResult<bool> {
    if !user.active {
        return Ok(false);
    }
    tx.enqueue_mail(&OutboxPayload::NewUserEmail, Some(&user.id), &user.email, now)
        .await?;
    tx.set_new_user_email_status(&user.id, EmailStatus::Queued, now).await?;
    mark_queued(tx, ctx, user, now).await?;
    Ok(true)
}

/// N1: `user` (its row already written so) has its new user email queued
/// now: the value changes and the audit entry says so. The caller queued
/// the message.
pub(crate) async fn mark_queued(tx: &mut Tx, ctx: &Ctx, user: &mut User, now: domain::Millis) -> AppResult<()> {
    let before = user.new_user_email.status;
    user.new_user_email.status = EmailStatus::Queued;
    user.new_user_email.last_change_at = Some(now);
    user.updated_at = now;
    record(
        tx,
        ctx,
        now,
        AuditAction::UserNewUserEmailQueued,
        Some(user.id.as_str()),
        Some(serde_json::json!({"new_user_email_status": before.as_str()})),
        Some(serde_json::json!({"new_user_email_status": "queued"})),
    )
    .await
}

/// A new user's fields, validated.
pub(crate) struct ValidNewUser {
    pub(crate) email: Email,
    first: PersonName,
    last: PersonName,
    /// The side is the role's (a mismatch is refused).
    role: Role,
    firm_id: Option<FirmId>,
    office_id: Option<OfficeId>,
}

/// Checks every field of a new user and reports all problems at once.
/// The checks of `POST /users` before anything is read: the caller
/// administers users, the input is valid, and the role, firm and office are
/// the caller's to give (S7; a firm outside the scope is "not found").
/// Administrators with one firm or office create users there by default.
/// The CSV import (A3) checks each row with this too.
pub(crate) fn authorize_new_user(ctx: &Ctx, input: &mut NewUser) -> AppResult<ValidNewUser> {
    let actor = require_user_admin(ctx)?;
    let firm_role = Role::parse(&input.role).is_ok_and(|r| r.side() == Side::Firm);
    if actor.role == Role::FirmAdministrator && input.firm_id.is_none() && firm_role {
        input.firm_id = actor.firm_id.as_ref().map(|f| f.to_string());
    }
    if actor.role == Role::CompanyOfficeAdministrator && input.office_id.is_none() {
        input.office_id = actor.office_id.as_ref().map(|o| o.to_string());
    }
    let v = validate_new_user(input)?;
    actor
        .can_assign(v.role, v.firm_id.as_ref(), v.office_id.as_ref())
        .map_err(|d| match d {
            Denied::Hidden => AppError::not_found("firm"),
            other => other.into(),
        })?;
    Ok(v)
}

pub(crate) fn validate_new_user(input: &NewUser) -> AppResult<ValidNewUser> {
    let mut p = Problems::new();
    let email = p.check(Email::parse(&input.email));
    let first = p.check(PersonName::parse("first_name", &input.first_name));
    let last = p.check(PersonName::parse("last_name", &input.last_name));
    let role = p.check(Role::parse(&input.role));
    let side = match &input.side {
        Some(s) => p.check(Side::parse(s)),
        None => role.map(Role::side),
    };
    if let (Some(role), Some(side)) = (role, side) {
        if role.side() != side {
            p.push(Invalid::new(
                "role",
                "role_side_mismatch",
                format!("the role {role} is for {} users", role.side()),
            ));
        }
    }
    let firm_id = input.firm_id.as_deref().map(FirmId::from);
    let office_id = input.office_id.as_deref().map(OfficeId::from);
    match side {
        Some(Side::Firm) if firm_id.is_none() => p.push(Invalid::new("firm_id", "firm_required", "a firm user needs a firm_id")),
        Some(Side::Company) if firm_id.is_some() => {
            p.push(Invalid::new("firm_id", "firm_not_allowed", "company users do not belong to a firm"))
        }
        _ => {}
    }
    p.into_result()?;
    match (email, first, last, role, side) {
        (Some(email), Some(first), Some(last), Some(role), Some(_)) => Ok(ValidNewUser {
            email,
            first,
            last,
            role,
            firm_id,
            office_id,
        }),
        _ => Err(AppError::internal("validation reported no problem but a field is missing")),
    }
}

/// Inserts a validated new user inside the caller's transaction, with its
/// audit entry and, unless held, the new user email (N1). Returns whether
/// mail was queued.
pub(crate) async fn insert_new_user(tx: &mut Tx, ctx: &Ctx, input: NewUser, now: domain::Millis) -> AppResult<(UserDetails, bool)> {
    let v = validate_new_user(&input)?;
    let firm = match &v.firm_id {
        Some(id) => Some(existing_firm(tx, id).await?),
        None => None,
    };
    let office = match &v.office_id {
        Some(id) => Some(existing_office(tx, id).await?),
        None => None,
    };
    if tx.email_taken(&v.email, None).await? {
        return Err(email_taken(&v.email));
    }
    let (user, queued) = insert_valid_user(tx, ctx, v, input.hold_new_user_email, now).await?;
    let (linked, sync) = crate::users::directory_facts(tx, &user).await?;
    Ok((
        UserDetails {
            directory_managed: user.directory_managed(linked, sync),
            directory_owns_lifecycle: user.directory_owns_lifecycle(linked, sync),
            user,
            firm,
            office,
        },
        queued,
    ))
}

/// Writes a new user whose firm, office and email the caller has already
/// checked in this transaction (`insert_new_user`, or A3's import, which
/// checks every row first), with its audit entry and N1 email.
pub(crate) async fn insert_valid_user(tx: &mut Tx, ctx: &Ctx, v: ValidNewUser, hold: bool, now: domain::Millis) -> AppResult<(User, bool)> {
    let mut user = new_user_row(v, now);
    record_created(tx, ctx, &user, hold, now).await?;
    // N1: sent at once unless held. The row is written queued, rather than
    // written and then updated: one statement (and its triggers) fewer.
    let queued = !hold && user.active;
    if queued {
        mark_queued(tx, ctx, &mut user, now).await?;
    }
    tx.insert_user(&user).await?;
    if queued {
        tx.enqueue_mail(&OutboxPayload::NewUserEmail, Some(&user.id), &user.email, now)
            .await?;
    }
    Ok((user, queued))
}

/// The audit entry's `after` of a created user (before any email).
/// The audit entry of a user just created (`POST /users` and A3's import).
pub(crate) async fn record_created(tx: &mut Tx, ctx: &Ctx, user: &User, hold: bool, now: domain::Millis) -> AppResult<()> {
    let after = serde_json::json!({"user": user_json(user), "hold_new_user_email": hold});
    record(tx, ctx, now, AuditAction::UserCreated, Some(user.id.as_str()), None, Some(after)).await
}

/// The row of a user just created: active, never signed in, the new user
/// email held until queued.
pub(crate) fn new_user_row(v: ValidNewUser, now: domain::Millis) -> User {
    User::created(v.email, v.first, v.last, v.role, v.firm_id, v.office_id, now)
}
