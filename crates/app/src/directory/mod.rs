//! SPEC §5a: directory provisioning. DIR2's SCIM tokens (`tokens`), DIR1's
//! users as SCIM resources (`representation`: their JSON, read from and
//! written to Tracker's users through the same creation and edit code as
//! the API; here: the use cases), groups and their roles (`groups`), and
//! DIR3 (`lifecycle`): the directory owns the lifecycle of the users it
//! manages, and a directory deactivation that D3/D4 would block happens
//! anyway, leaving open offboarding items and one digest email to the
//! system administrators.

pub mod groups;
mod lifecycle;
mod representation;
mod tokens;

use crate::audit::record;
use crate::users::{edit_user, insert_valid_user, validate_new_user, NewUser, UserPatch};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::User;
use domain::scim::{self, PatchOp, ScimType};
use domain::{Millis, OfficeId, Role, Side, UserId};
use lifecycle::directory_set_active;
pub use representation::DirectoryUser;
pub(crate) use representation::{get_ci, opt_string, rfc3339, version_of};
use representation::{read_user, Wanted};
use serde_json::json;
use serde_json::Value;
use store::{DirectoryLink, DirectoryLookup, Tx};

/// A SCIM refusal as an [`AppError`]: 400 with the SCIM type's code.
pub fn scim_error(t: ScimType, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code: t.code().into(),
        message: message.into(),
        field: None,
    }
}

pub(crate) fn uniqueness(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        code: "scim_uniqueness",
        message: message.into(),
        field: None,
    }
}

/// An office with this name, for `department` (DIR1).
async fn office_named(tx: &mut Tx, name: Option<&str>) -> AppResult<Option<OfficeId>> {
    let Some(name) = name else { return Ok(None) };
    Ok(tx.office_by_name(name).await?.map(|o| o.id))
}

fn check_if_match(current: &DirectoryUser, if_match: Option<&str>) -> AppResult<()> {
    check_version("user", &current.version(), if_match)
}

/// `If-Match` (RFC 7644 §3.14): the resource `what` must still be at one of
/// the versions named, or `*`; otherwise 412.
pub(crate) fn check_version(what: &str, version: &str, if_match: Option<&str>) -> AppResult<()> {
    let Some(wanted) = if_match else { return Ok(()) };
    let strip = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    if wanted.trim() == "*" || wanted.split(',').any(|w| strip(w) == strip(version)) {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed {
            message: format!("the {what} changed: it is now at version {version}"),
        })
    }
}

impl App {
    /// DIR1: linked users, starting from an index when the filter allows.
    #[tracing::instrument(name = "directory_users", skip_all)]
    pub async fn directory_users(&self, lookup: &DirectoryLookup) -> AppResult<Vec<DirectoryUser>> {
        let mut tx = self.db.read().await?;
        let found = tx.directory_users(lookup).await?;
        with_offices(&mut tx, found).await
    }

    /// DIR1 without a filter: one page in creation order, and the total.
    #[tracing::instrument(name = "directory_users_page", skip_all)]
    pub async fn directory_users_page(&self, offset: i64, limit: i64) -> AppResult<(Vec<DirectoryUser>, i64)> {
        let mut tx = self.db.read().await?;
        let (found, total) = tx.directory_users_page(offset, limit).await?;
        Ok((with_offices(&mut tx, found).await?, total))
    }

    #[tracing::instrument(name = "directory_user", skip_all)]
    pub async fn directory_user(&self, id: &UserId) -> AppResult<DirectoryUser> {
        let mut tx = self.db.read().await?;
        linked(&mut tx, id, false).await
    }

    /// DIR1 `POST /Users`: creates a company user, or links the existing
    /// user with that address (DIR3: "created or linked").
    #[tracing::instrument(name = "directory_create", skip_all)]
    pub async fn directory_create(&self, ctx: &Ctx, body: &Value) -> AppResult<DirectoryUser> {
        let w = read_user(body)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let by_name = tx.directory_link_by_user_name(&w.user_name).await?;
        if let Some(l) = &by_name {
            if l.deprovisioned_at.is_none() {
                return Err(uniqueness(format!("a user with userName {} exists", w.user_name)));
            }
        }
        let Some(u) = tx.user_by_email(&w.email).await? else {
            // The first sync's common case: a new user, created and linked
            // as the directory sent it, in the fewest statements.
            let (out, queued) = create_linked(&mut tx, ctx, &w, by_name, now).await?;
            self.commit(tx, queued).await?;
            return Ok(out);
        };
        if u.side != Side::Company {
            return Err(uniqueness(format!(
                "{} is a firm user's address; the directory manages company users",
                w.email
            )));
        }
        // A deprovisioned link of this user, or of this userName, is reused.
        let previous = match tx.directory_link(&u.id).await? {
            Some(l) if l.deprovisioned_at.is_none() => {
                return Err(uniqueness(format!("{} belongs to the directory user {}", w.email, l.user_name)));
            }
            Some(l) => Some(l),
            None => by_name.clone().filter(|l| l.user_id == u.id.as_str()),
        };
        if previous.is_none() {
            if let Some(stale) = by_name {
                free_user_name(&mut tx, stale).await?;
            }
            tx.insert_directory_link(&DirectoryLink {
                user_id: u.id.to_string(),
                user_name: w.user_name.clone(),
                external_id: None,
                department: None,
                deprovisioned_at: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDirectoryLinked,
            Some(u.id.as_str()),
            None,
            Some(json!({"userName": w.user_name})),
        )
        .await?;
        let queued = self.apply_wanted(&mut tx, ctx, &u.id, &w, now).await?;
        let out = linked(&mut tx, &u.id, false).await?;
        self.commit(tx, queued).await?;
        Ok(out)
    }

    /// DIR1 `PUT /Users/{id}`.
    #[tracing::instrument(name = "directory_replace", skip_all)]
    pub async fn directory_replace(&self, ctx: &Ctx, id: &UserId, body: &Value, if_match: Option<&str>) -> AppResult<DirectoryUser> {
        let w = read_user(body)?;
        self.directory_write(ctx, id, if_match, move |_| Ok(w)).await
    }

    /// DIR1 `PATCH /Users/{id}`: the operations apply to the representation
    /// read under lock, so two concurrent patches both take effect (S9).
    #[tracing::instrument(name = "directory_patch", skip_all)]
    pub async fn directory_patch(&self, ctx: &Ctx, id: &UserId, ops: &[PatchOp], if_match: Option<&str>) -> AppResult<DirectoryUser> {
        self.directory_write(ctx, id, if_match, |current| {
            let mut v = current.to_scim();
            scim::patch::apply(&mut v, ops).map_err(|p| scim_error(p.scim_type, p.message))?;
            read_user(&v)
        })
        .await
    }

    /// DIR1 `DELETE /Users/{id}`: D1 — the user is deactivated (DIR3) and
    /// the resource is gone for the directory.
    #[tracing::instrument(name = "directory_delete", skip_all)]
    pub async fn directory_delete(&self, ctx: &Ctx, id: &UserId, if_match: Option<&str>) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.scheduled_deactivation_for_update(id).await?;
        let current = linked(&mut tx, id, true).await?;
        check_if_match(&current, if_match)?;
        if current.user.active {
            directory_set_active(&mut tx, ctx, current.user.clone(), false, now).await?;
        }
        // The resource is gone: it is no group's member any more.
        tx.leave_directory_groups(id, now).await?;
        let mut link = current.link.clone();
        link.deprovisioned_at = Some(now);
        link.updated_at = now;
        tx.update_directory_link(&link).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDeprovisioned,
            Some(id.as_str()),
            None,
            Some(json!({"userName": link.user_name})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn directory_write(
        &self,
        ctx: &Ctx,
        id: &UserId,
        if_match: Option<&str>,
        wanted: impl FnOnce(&DirectoryUser) -> AppResult<Wanted>,
    ) -> AppResult<DirectoryUser> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: a stored plan, then the user (a deactivation settles it).
        tx.scheduled_deactivation_for_update(id).await?;
        let current = linked(&mut tx, id, true).await?;
        check_if_match(&current, if_match)?;
        let w = wanted(&current)?;
        self.hooks.pause(crate::hooks::Point::DirectoryWrite).await;
        let queued = self.apply_wanted(&mut tx, ctx, id, &w, now).await?;
        let out = linked(&mut tx, id, false).await?;
        self.commit(tx, queued).await?;
        Ok(out)
    }

    /// Makes the linked user what the directory wants: names and email
    /// through the API's own edit (S10 included), office by department,
    /// the link's fields, then the lifecycle (DIR3).
    async fn apply_wanted(&self, tx: &mut Tx, ctx: &Ctx, id: &UserId, w: &Wanted, now: Millis) -> AppResult<bool> {
        let link = tx.directory_link(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if !w.user_name.eq_ignore_ascii_case(&link.user_name) {
            if let Some(other) = tx.directory_link_by_user_name(&w.user_name).await? {
                if other.user_id != link.user_id {
                    return Err(uniqueness(format!("a user with userName {} exists", w.user_name)));
                }
            }
        }
        let before = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if tx.email_taken(&w.email, Some(id)).await? {
            return Err(uniqueness(format!("a user with the email {} exists", w.email)));
        }
        let office = office_named(tx, w.department.as_deref()).await?;
        let office_change = match (&w.department, &office) {
            (Some(_), Some(o)) if before.office_id.as_ref() != Some(o) => Some(Some(o.to_string())),
            _ => None,
        };
        let patch = UserPatch {
            active: None,
            first_name: Some(w.first_name.clone()),
            last_name: Some(w.last_name.clone()),
            email: Some(w.email.to_string()),
            role: None,
            office_id: office_change,
        };
        let (_, mut queued) = edit_user(self, tx, ctx, id, patch, now).await.map_err(as_scim)?;
        let new_link = DirectoryLink {
            user_name: w.user_name.clone(),
            external_id: w.external_id.clone(),
            department: w.department.clone(),
            deprovisioned_at: None,
            updated_at: now,
            ..link.clone()
        };
        if new_link
            != (DirectoryLink {
                updated_at: now,
                ..link.clone()
            })
        {
            tx.update_directory_link(&new_link).await?;
            record(
                tx,
                ctx,
                now,
                AuditAction::UserDirectoryUpdated,
                Some(id.as_str()),
                Some(json!({"userName": link.user_name, "externalId": link.external_id, "department": link.department})),
                Some(json!({"userName": new_link.user_name, "externalId": new_link.external_id, "department": new_link.department})),
            )
            .await?;
        }
        if w.active != before.active {
            let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
            queued |= directory_set_active(tx, ctx, user, w.active, now).await?;
        }
        Ok(queued)
    }
}

/// Each user with their office's name (read once per office).
async fn with_offices(tx: &mut Tx, found: Vec<(DirectoryLink, User)>) -> AppResult<Vec<DirectoryUser>> {
    let mut out = Vec::with_capacity(found.len());
    let mut offices = std::collections::HashMap::new();
    for (link, user) in found {
        let office_name = match &user.office_id {
            None => None,
            Some(o) => match offices.get(o) {
                Some(n) => n,
                None => {
                    let n = tx.office(o).await?.map(|o| o.name);
                    offices.entry(o.clone()).or_insert(n)
                }
            }
            .clone(),
        };
        out.push(DirectoryUser { link, user, office_name });
    }
    Ok(out)
}

/// The API's validation errors, as the directory must read them.
pub(crate) fn as_scim(e: AppError) -> AppError {
    match e {
        AppError::Invalid(problems) => scim_error(
            ScimType::InvalidValue,
            problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "),
        ),
        AppError::Conflict { message, .. } => uniqueness(message),
        other => other,
    }
}

/// The linked user `id` (locked when `lock`), or 404 — also once deprovisioned.
async fn linked(tx: &mut Tx, id: &UserId, lock: bool) -> AppResult<DirectoryUser> {
    let link = tx
        .directory_link(id)
        .await?
        .filter(|l| l.deprovisioned_at.is_none())
        .ok_or_else(|| AppError::not_found("user"))?;
    let user = if lock { tx.user_for_update(id).await? } else { tx.user(id).await? }.ok_or_else(|| AppError::not_found("user"))?;
    let office_name = match &user.office_id {
        Some(o) => tx.office(o).await?.map(|o| o.name),
        None => None,
    };
    Ok(DirectoryUser { link, user, office_name })
}

/// A userName that was another user's, deprovisioned since, is freed for
/// a new link: the old link keeps a name no directory sends.
async fn free_user_name(tx: &mut Tx, stale: DirectoryLink) -> AppResult<()> {
    let freed = DirectoryLink {
        user_name: format!("{}#deprovisioned-{}", stale.user_name, stale.user_id),
        ..stale
    };
    tx.update_directory_link(&freed).await?;
    Ok(())
}

/// DIR1 `POST /Users` for an address no user has (the caller looked it up
/// in this transaction): a company user created through the API's own
/// rules (N1's email held while the directory says inactive), linked with
/// everything the directory sent, and deactivated at once if it said so.
async fn create_linked(tx: &mut Tx, ctx: &Ctx, w: &Wanted, stale: Option<DirectoryLink>, now: Millis) -> AppResult<(DirectoryUser, bool)> {
    let office = match w.department.as_deref() {
        Some(name) => tx.office_by_name(name).await?,
        None => None,
    };
    let input = NewUser {
        email: w.email.to_string(),
        first_name: w.first_name.clone(),
        last_name: w.last_name.clone(),
        side: Some(Side::Company.as_str().into()),
        firm_id: None,
        office_id: office.as_ref().map(|o| o.id.to_string()),
        role: Role::CompanyUser.as_str().into(),
        hold_new_user_email: !w.active,
    };
    let v = validate_new_user(&input)?;
    let (user, mut queued) = insert_valid_user(tx, ctx, v, input.hold_new_user_email, now).await?;
    if let Some(stale) = stale {
        free_user_name(tx, stale).await?;
    }
    let link = DirectoryLink {
        user_id: user.id.to_string(),
        user_name: w.user_name.clone(),
        external_id: w.external_id.clone(),
        department: w.department.clone(),
        deprovisioned_at: None,
        created_at: now,
        updated_at: now,
    };
    tx.insert_directory_link(&link).await?;
    record(
        tx,
        ctx,
        now,
        AuditAction::UserDirectoryLinked,
        Some(user.id.as_str()),
        None,
        Some(json!({"userName": link.user_name, "externalId": link.external_id, "department": link.department})),
    )
    .await?;
    let id = user.id.clone();
    let mut out = DirectoryUser {
        link,
        user,
        office_name: office.map(|o| o.name),
    };
    if !w.active {
        queued |= directory_set_active(tx, ctx, out.user.clone(), false, now).await?;
        out.user = tx.user(&id).await?.ok_or_else(|| AppError::not_found("user"))?;
    }
    Ok((out, queued))
}
