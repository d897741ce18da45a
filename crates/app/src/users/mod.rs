//! Creating, reading, listing and editing users (SPEC §1, §8, R2, S7):
//! here the shapes, the access helpers and reading; `create`: a new
//! user's rules and rows (N1); `edit`: D7's edits under lock (S9, S10).

mod create;
mod edit;

pub(crate) use create::{
    authorize_new_user, insert_new_user, insert_valid_user, mark_queued, new_user_row, queue_new_user_email, record_created,
    validate_new_user, ValidNewUser,
};
pub(crate) use edit::edit_user;
pub use edit::UpdateOutcome;

use crate::audit::record;
use crate::error::Problems;
use crate::views::user_json;
use crate::{App, AppError, AppResult, Ctx, Page};
use domain::access::{Actor, Denied, Subject};
use domain::audit::AuditAction;
use domain::model::{EmailStatus, Firm, Office, User};
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
    /// D6/DIR3: the directory manages this user ([`User::directory_managed`]).
    pub directory_managed: bool,
    /// D6/DIR3: Tracker refuses to change their active flag
    /// ([`User::directory_owns_lifecycle`]).
    pub directory_owns_lifecycle: bool,
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
    /// Each item's firm and office names, read with the page (P1), and
    /// (for user administrators) its leaving date (O3).
    pub extras: Vec<store::RowExtras>,
    /// Exact, from the kept totals; a search's stops at
    /// [`store::SEARCH_COUNT_LIMIT`] matches.
    pub total: i64,
    /// False when `total` stands for more matches than it says: a search
    /// with more than [`store::SEARCH_COUNT_LIMIT`].
    pub total_exact: bool,
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
        let mut extras = found.extras;
        if !crate::offboarding::sees_leaving_dates(ctx) {
            extras.iter_mut().for_each(|e| e.leaves_at = None);
        }
        Ok(UserList {
            items: found.items,
            extras,
            total: found.total,
            total_exact: found.total_exact,
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

    /// D6/DIR3: whether the directory manages `user`.
    #[tracing::instrument(name = "directory_managed", skip_all)]
    pub async fn directory_managed(&self, user: &User) -> AppResult<bool> {
        let mut tx = self.db.read().await?;
        directory_managed(&mut tx, user).await
    }
}

/// D6/DIR3 ([`User::directory_managed`]): the directory manages a user it
/// created or linked (until it deletes them), and every company user while
/// directory sync is on.
pub(crate) async fn directory_managed(tx: &mut Tx, user: &User) -> AppResult<bool> {
    let (linked, sync) = directory_facts(tx, user).await?;
    Ok(user.directory_managed(linked, sync))
}

/// The facts of D6/DIR3 for `user`: a SCIM link not deprovisioned, and
/// whether Active Directory sync is on.
pub(crate) async fn directory_facts(tx: &mut Tx, user: &User) -> AppResult<(bool, bool)> {
    let linked = tx.directory_link(&user.id).await?.is_some_and(|l| l.deprovisioned_at.is_none());
    Ok((linked, tx.settings().await?.active_directory_sync))
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
    let (linked, sync) = directory_facts(tx, &user).await?;
    Ok(UserDetails {
        directory_managed: user.directory_managed(linked, sync),
        directory_owns_lifecycle: user.directory_owns_lifecycle(linked, sync),
        user,
        firm,
        office,
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
