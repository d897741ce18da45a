//! Firms. Creating a firm creates its first user, the Firm Administrator,
//! and N1 applies to them.

use crate::audit::record;
use crate::users::{NewUser, UserDetails};
use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::audit::AuditAction;
use domain::model::Firm;
use domain::{EntityName, FirmId, Role};

#[derive(Debug, Clone, Default)]
pub struct NewFirm {
    pub name: String,
    pub administrator: NewFirmAdministrator,
}

#[derive(Debug, Clone, Default)]
pub struct NewFirmAdministrator {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub hold_new_user_email: bool,
}

impl App {
    #[tracing::instrument(name = "create_firm", skip_all)]
    pub async fn create_firm(&self, ctx: &Ctx, input: NewFirm) -> AppResult<(Firm, UserDetails)> {
        let actor = ctx.signed_in()?;
        if !actor.is_system_administrator() {
            return Err(AppError::forbidden("only company system administrators add firms"));
        }
        let name = EntityName::parse("name", &input.name)?;
        let now = self.now();
        let firm = Firm {
            id: FirmId::generate(),
            name,
            active: true,
            created_at: now,
        };
        let admin = NewUser {
            email: input.administrator.email,
            first_name: input.administrator.first_name,
            last_name: input.administrator.last_name,
            side: Some("firm".into()),
            firm_id: Some(firm.id.to_string()),
            office_id: None,
            role: Role::FirmAdministrator.as_str().into(),
            hold_new_user_email: input.administrator.hold_new_user_email,
        };
        // Validate the administrator before anything is written.
        crate::users::validate_new_user(&admin).map_err(|e| e.prefix_fields("administrator."))?;
        let mut tx = self.db.write().await?;
        if tx.firm_name_taken(&firm.name, None).await? {
            return Err(AppError::conflict("firm_name_taken", format!("a firm named {} already exists", firm.name)).on_field("name"));
        }
        tx.insert_firm(&firm).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::FirmCreated,
            Some(firm.id.as_str()),
            None,
            Some(serde_json::json!({"name": firm.name})),
        )
        .await?;
        let (details, queued) = crate::users::insert_new_user(&mut tx, ctx, admin, now)
            .await
            .map_err(|e| e.prefix_fields("administrator."))?;
        self.commit(tx, queued).await?;
        Ok((firm, details))
    }

    #[tracing::instrument(name = "list_firms", skip_all)]
    pub async fn list_firms(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<Firm>> {
        let actor = ctx.signed_in()?;
        let only = match actor.role {
            Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator => None,
            Role::FirmAdministrator => Some(actor.firm_id.clone().ok_or_else(|| AppError::forbidden("no firm"))?),
            _ => return Err(AppError::forbidden("your role does not manage firms")),
        };
        // The page and its total are one statement (its own snapshot).
        let mut tx = self.db.read_one().await?;
        let (items, total) = tx.list_firms(only.as_ref(), page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }

    #[tracing::instrument(name = "firm", skip_all)]
    pub async fn firm(&self, ctx: &Ctx, id: &FirmId) -> AppResult<Firm> {
        let actor = ctx.signed_in()?;
        let visible = match actor.role {
            Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator => true,
            Role::FirmAdministrator | Role::FirmUser => actor.firm_id.as_ref() == Some(id),
            _ => false,
        };
        if !visible {
            return Err(AppError::not_found("firm"));
        }
        let mut tx = self.db.read().await?;
        tx.firm(id).await?.ok_or_else(|| AppError::not_found("firm"))
    }
}
