//! Offices/regions with their coordinator and backup coordinator.

use crate::audit::record;
use crate::users::{active_company_user, lock_users_first};
use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::audit::AuditAction;
use domain::model::Office;
use domain::{EntityName, OfficeId, Role, UserId};
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct OfficeInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// `Some(None)` clears it.
    pub coordinator_id: Option<Option<String>>,
    pub backup_coordinator_id: Option<Option<String>>,
}

fn office_json(o: &Office) -> serde_json::Value {
    json!({"name": o.name, "active": o.active, "coordinator_id": o.coordinator_id, "backup_coordinator_id": o.backup_coordinator_id})
}

impl App {
    #[tracing::instrument(name = "create_office", skip_all)]
    pub async fn create_office(&self, ctx: &Ctx, input: OfficeInput) -> AppResult<Office> {
        require_sysadmin(ctx)?;
        let name = EntityName::parse("name", input.name.as_deref().unwrap_or(""))?;
        let now = self.now();
        let mut office = Office {
            id: OfficeId::generate(),
            name,
            active: input.active.unwrap_or(true),
            coordinator_id: None,
            backup_coordinator_id: None,
            created_at: now,
        };
        let mut tx = self.db.write().await?;
        if tx.office_name_taken(&office.name, None).await? {
            return Err(
                AppError::conflict("office_name_taken", format!("an office named {} already exists", office.name)).on_field("name"),
            );
        }
        apply_coordinators(&mut tx, &mut office, &input).await?;
        tx.insert_office(&office).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::OfficeCreated,
            Some(office.id.as_str()),
            None,
            Some(office_json(&office)),
        )
        .await?;
        tx.commit().await?;
        Ok(office)
    }

    #[tracing::instrument(name = "update_office", skip_all)]
    pub async fn update_office(&self, ctx: &Ctx, id: &OfficeId, input: OfficeInput) -> AppResult<Office> {
        require_sysadmin(ctx)?;
        let name = input.name.as_deref().map(|n| EntityName::parse("name", n)).transpose()?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: the users it names, then the office (as offboarding).
        let named = [&input.coordinator_id, &input.backup_coordinator_id];
        lock_users_first(&mut tx, named.into_iter().flatten().flatten().cloned().collect()).await?;
        let mut office = tx.office_for_update(id).await?.ok_or_else(|| AppError::not_found("office"))?;
        let before = office_json(&office);
        if let Some(name) = name {
            if tx.office_name_taken(name.as_str(), Some(id)).await? {
                return Err(
                    AppError::conflict("office_name_taken", format!("an office named {} already exists", name.as_str())).on_field("name"),
                );
            }
            office.name = name;
        }
        if let Some(active) = input.active {
            office.active = active;
        }
        apply_coordinators(&mut tx, &mut office, &input).await?;
        tx.update_office(&office, now).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::OfficeUpdated,
            Some(office.id.as_str()),
            Some(before),
            Some(office_json(&office)),
        )
        .await?;
        tx.commit().await?;
        Ok(office)
    }

    #[tracing::instrument(name = "list_offices", skip_all)]
    pub async fn list_offices(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<Office>> {
        let actor = ctx.signed_in()?;
        let only = match actor.role {
            Role::CompanySystemAdministrator => None,
            Role::CompanyOfficeAdministrator => Some(actor.office_id.clone().ok_or_else(|| AppError::forbidden("no office"))?),
            _ => return Err(AppError::forbidden("your role does not manage offices")),
        };
        // The page and its total are one statement (its own snapshot).
        let mut tx = self.db.read_one().await?;
        let (items, total) = tx.list_offices(only.as_ref(), page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }

    #[tracing::instrument(name = "office", skip_all)]
    pub async fn office(&self, ctx: &Ctx, id: &OfficeId) -> AppResult<Office> {
        let actor = ctx.signed_in()?;
        let visible =
            actor.is_system_administrator() || (actor.role == Role::CompanyOfficeAdministrator && actor.office_id.as_ref() == Some(id));
        if !visible {
            return Err(AppError::not_found("office"));
        }
        let mut tx = self.db.read().await?;
        tx.office(id).await?.ok_or_else(|| AppError::not_found("office"))
    }
}

/// Coordinators and backups must be active company users, and not the same person.
async fn apply_coordinators(tx: &mut store::Tx, office: &mut Office, input: &OfficeInput) -> AppResult<()> {
    if let Some(c) = &input.coordinator_id {
        office.coordinator_id = match c {
            Some(id) => Some(active_company_user(tx, "coordinator_id", id).await?.id),
            None => None,
        };
    }
    if let Some(b) = &input.backup_coordinator_id {
        office.backup_coordinator_id = match b {
            Some(id) => Some(active_company_user(tx, "backup_coordinator_id", id).await?.id),
            None => None,
        };
    }
    if office.coordinator_id.is_some() && office.coordinator_id == office.backup_coordinator_id {
        return Err(domain::Invalid::new(
            "backup_coordinator_id",
            "same_as_coordinator",
            "the backup coordinator must be another person than the coordinator",
        )
        .into());
    }
    let _: Option<&UserId> = office.coordinator_id.as_ref();
    Ok(())
}

pub(crate) fn require_sysadmin(ctx: &Ctx) -> AppResult<()> {
    match &ctx.actor {
        Some(a) if a.is_system_administrator() => Ok(()),
        Some(_) => Err(AppError::forbidden("only company system administrators may do this")),
        None => Err(AppError::unauthorized("not_signed_in", "sign in first")),
    }
}
