//! Creating, reading, listing and editing users (SPEC §1, §8, R2, S7).

use crate::audit::record;
use crate::error::Problems;
use crate::views::user_json;
use crate::{App, AppError, AppResult, Ctx, Page};
use domain::access::{Actor, Denied, Subject};
use domain::audit::AuditAction;
use domain::model::{EmailStatus, Firm, NewUserEmail, Office, User};
use domain::{Email, FirmId, Invalid, OfficeId, PersonName, Role, Side, UserId};
use store::{Cursor, MailKind, Org, OutboxPayload, SortKey, Status, Tx, UserChange, UserQuery};

/// `POST /users`.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub side: Option<String>,
    pub firm_id: Option<String>,
    pub office_id: Option<String>,
    pub role: String,
    pub hold_new_user_email: bool,
}

/// `PATCH /users/{id}`: only the fields present change. `office_id:
/// Some(None)` removes the office.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub active: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub office_id: Option<Option<String>>,
}

/// A user with the names of what it refers to, for display.
#[derive(Debug, Clone)]
pub struct UserDetails {
    pub user: User,
    pub firm: Option<Firm>,
    pub office: Option<Office>,
    /// D6: the directory owns this user's lifecycle.
    pub directory_managed: bool,
}

/// `GET /users` filters (R2).
#[derive(Debug, Clone)]
pub struct UserFilter {
    pub org: Org,
    pub status: StatusFilter,
    pub q: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    /// P1: the `next` cursor of the page before; then `page` is ignored.
    pub cursor: Option<String>,
}

/// A page of the user list (R2, P1).
#[derive(Debug, Clone)]
pub struct UserList {
    pub items: Vec<User>,
    /// Each item's firm and office names, read with the page (P1).
    pub org_names: Vec<store::OrgNames>,
    /// Exact, from the kept totals.
    pub total: i64,
    pub page: Page,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Inactive,
    All,
    Locked,
}

impl Default for UserFilter {
    fn default() -> Self {
        Self {
            org: Org::All,
            status: StatusFilter::Active,
            q: None,
            sort: SortKey::Name,
            descending: false,
            cursor: None,
        }
    }
}

pub(crate) fn subject(u: &User) -> Subject<'_> {
    Subject {
        id: &u.id,
        side: u.side,
        role: u.role,
        firm_id: u.firm_id.as_ref(),
        office_id: u.office_id.as_ref(),
    }
}

/// The caller may administer `user` (N9, D8, S7), or gets 404/403.
pub(crate) fn require_manage<'a>(ctx: &'a Ctx, user: &User) -> AppResult<Option<&'a Actor>> {
    match &ctx.actor {
        None => Ok(None), // the operator
        Some(actor) => {
            actor.can_manage(subject(user))?;
            Ok(Some(actor))
        }
    }
}

pub(crate) fn require_user_admin(ctx: &Ctx) -> AppResult<&Actor> {
    let actor = ctx.signed_in()?;
    if !actor.role.is_user_administrator() {
        return Err(AppError::forbidden("your role does not administer users"));
    }
    Ok(actor)
}

/// An active company user, as leads, coordinators and approvers must be.
pub(crate) async fn active_company_user(tx: &mut Tx, field: &str, id: &str) -> AppResult<User> {
    let user = active_user(tx, field, id).await?;
    if user.side != Side::Company {
        return Err(Invalid::new(field.to_owned(), "not_company_user", format!("{field}: must be a company user")).into());
    }
    Ok(user)
}

/// Locks the named users' rows (those that exist) in id order, before a
/// change locks the row it edits: an office or route edit takes its users
/// first, as an offboarding does, so the two cannot deadlock on
/// PostgreSQL (see `offboarding::lock_people`).
pub(crate) async fn lock_users_first(tx: &mut Tx, mut ids: Vec<String>) -> AppResult<()> {
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        tx.user_for_update(&UserId::from(id)).await?;
    }
    Ok(())
}

/// An existing, active user (D2: `user_inactive` otherwise). The row stays
/// locked until the transaction ends, so a concurrent deactivation cannot
/// slip between this check and the change that relies on it.
pub(crate) async fn active_user(tx: &mut Tx, field: &str, id: &str) -> AppResult<User> {
    let user = tx
        .user_for_update(&UserId::from(id))
        .await?
        .ok_or_else(|| AppError::from(Invalid::new(field.to_owned(), "unknown_user", format!("{field}: no such user"))))?;
    if !user.active {
        return Err(AppError::user_inactive(field));
    }
    Ok(user)
}

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

impl App {
    #[tracing::instrument(name = "create_user", skip_all)]
    pub async fn create_user(&self, ctx: &Ctx, mut input: NewUser) -> AppResult<UserDetails> {
        if ctx.actor.is_some() {
            authorize_new_user(ctx, &mut input)?;
        }
        let now = self.now();
        let mut tx = self.db.write().await?;
        let (details, queued) = insert_new_user(&mut tx, ctx, input, now).await?;
        self.commit(tx, queued).await?;
        Ok(details)
    }

    #[tracing::instrument(name = "user_details", skip_all)]
    pub async fn user_details(&self, ctx: &Ctx, id: &UserId) -> AppResult<UserDetails> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if !actor.can_see(subject(&user)) {
            return Err(AppError::not_found("user"));
        }
        details(&mut tx, user).await
    }

    #[tracing::instrument(name = "list_users", skip_all)]
    pub async fn list_users(&self, ctx: &Ctx, f: UserFilter, page: Page) -> AppResult<UserList> {
        let query = user_query(ctx, &f, self.now(), page)?;
        let found = self.db.list_users(&query).await?;
        Ok(UserList {
            items: found.items,
            org_names: found.org_names,
            total: found.total,
            page,
            next: found.next.map(|c| c.encode()),
        })
    }

    /// Edits names, email, role and office; `active` goes to the lifecycle
    /// rules of SPEC §3. S9: the user row is read locked in the write
    /// transaction and only the fields the patch names are written.
    #[tracing::instrument(name = "update_user", skip_all)]
    pub async fn update_user(&self, ctx: &Ctx, id: &UserId, patch: UserPatch) -> AppResult<crate::users::UpdateOutcome> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let (outcome, queued) = edit_user(self, &mut tx, ctx, id, patch, now).await?;
        self.commit(tx, queued).await?;
        Ok(outcome)
    }

    /// D6: whether Active Directory sync is on.
    #[tracing::instrument(name = "directory_sync", skip_all)]
    pub async fn directory_sync(&self) -> AppResult<bool> {
        let mut tx = self.db.read().await?;
        Ok(tx.settings().await?.active_directory_sync)
    }

    /// D6/DIR3: whether the directory manages `user`.
    #[tracing::instrument(name = "directory_managed", skip_all)]
    pub async fn directory_managed(&self, user: &User) -> AppResult<bool> {
        let mut tx = self.db.read().await?;
        directory_managed(&mut tx, user).await
    }
}

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
        change.first_name = Some(first.into_string());
    }
    if let Some(last) = last.filter(|l| *l != before.last_name) {
        change.last_name = Some(last.into_string());
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
            if tx.email_taken(email.as_str(), Some(&before.id)).await? {
                return Err(email_taken(&email));
            }
            readdressed = Some(email.as_str().to_owned());
        }
        change.email = Some(email.as_str().to_owned());
    }

    let mut outcome = UpdateOutcome { warnings: Vec::new() };
    if !change.is_empty() {
        tx.update_user_fields(&before.id, &change, now).await?;
        let mut mail = serde_json::Map::new();
        if let Some(address) = &readdressed {
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

/// A new user's fields, validated.
pub(crate) struct ValidNewUser {
    pub(crate) email: Email,
    first: PersonName,
    last: PersonName,
    role: Role,
    side: Side,
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
        (Some(email), Some(first), Some(last), Some(role), Some(side)) => Ok(ValidNewUser {
            email,
            first,
            last,
            role,
            side,
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
    if tx.email_taken(v.email.as_str(), None).await? {
        return Err(email_taken(&v.email));
    }
    let (user, queued) = insert_valid_user(tx, ctx, v, input.hold_new_user_email, now).await?;
    let directory_managed = user.side == Side::Company && tx.settings().await?.active_directory_sync;
    Ok((
        UserDetails {
            user,
            firm,
            office,
            directory_managed,
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
    User {
        id: UserId::generate(),
        email: v.email,
        first_name: v.first,
        last_name: v.last,
        side: v.side,
        firm_id: v.firm_id,
        office_id: v.office_id,
        role: v.role,
        active: true,
        activated_at: None,
        last_sign_in_at: None,
        created_at: now,
        updated_at: now,
        deactivated_at: None,
        new_user_email: NewUserEmail {
            status: EmailStatus::Held,
            sent_at: None,
            send_count: 0,
            last_change_at: Some(now),
        },
        locked_until: None,
        lock_reason: None,
    }
}

/// D6/DIR3: the directory manages a user it created or linked (until it
/// deletes them), and every company user while directory sync is on.
pub(crate) async fn directory_managed(tx: &mut Tx, user: &User) -> AppResult<bool> {
    if tx.directory_link(&user.id).await?.is_some_and(|l| l.deprovisioned_at.is_none()) {
        return Ok(true);
    }
    Ok(user.side == Side::Company && tx.settings().await?.active_directory_sync)
}

pub(crate) async fn details(tx: &mut Tx, user: User) -> AppResult<UserDetails> {
    let firm = match &user.firm_id {
        Some(f) => tx.firm(f).await?,
        None => None,
    };
    let office = match &user.office_id {
        Some(o) => tx.office(o).await?,
        None => None,
    };
    let directory_managed = directory_managed(tx, &user).await?;
    Ok(UserDetails {
        user,
        firm,
        office,
        directory_managed,
    })
}

pub(crate) async fn existing_firm(tx: &mut Tx, id: &FirmId) -> AppResult<Firm> {
    let firm = tx
        .firm(id)
        .await?
        .ok_or_else(|| AppError::from(Invalid::new("firm_id", "unknown_firm", "firm_id: no such firm")))?;
    if !firm.active {
        return Err(Invalid::new("firm_id", "firm_inactive", "firm_id: the firm is not active").into());
    }
    Ok(firm)
}

pub(crate) async fn existing_office(tx: &mut Tx, id: &OfficeId) -> AppResult<Office> {
    tx.office(id)
        .await?
        .ok_or_else(|| Invalid::new("office_id", "unknown_office", "office_id: no such office").into())
}

pub(crate) fn email_taken(email: &Email) -> AppError {
    AppError::conflict(
        "email_taken",
        format!(
            "a user with the email {} already exists (emails are case-insensitive)",
            email.as_str()
        ),
    )
    .on_field("email")
}

/// The store's query for the list `f` of the caller (S7 scope), `page` of
/// it: what `GET /users` and its CSV export read.
pub(crate) fn user_query(ctx: &Ctx, f: &UserFilter, now: domain::Millis, page: Page) -> AppResult<UserQuery> {
    let actor = require_user_admin(ctx)?;
    let status = match f.status {
        StatusFilter::Active => Status::Active,
        StatusFilter::Inactive => Status::Inactive,
        StatusFilter::All => Status::All,
        StatusFilter::Locked => Status::Locked(now),
    };
    let q =
        f.q.as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| q.chars().take(100).collect());
    let after = match f.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::decode(c, f.sort, f.descending).map_err(|_| {
            AppError::from(domain::Invalid::new(
                "cursor",
                "invalid_cursor",
                "cursor: not a cursor of this list, sort and order; start again from the first page",
            ))
        })?),
    };
    Ok(UserQuery {
        scope: actor.user_scope(),
        org: f.org.clone(),
        status,
        q,
        sort: f.sort,
        descending: f.descending,
        limit: page.per_page,
        offset: page.offset(),
        after,
    })
}
