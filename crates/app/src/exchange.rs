//! A2: exporting the user list and the audit log as CSV. The pages of an
//! export are read with the same use cases and scope as the lists; what is
//! here is the audit entry every export writes and the keyset pages of the
//! audit log.

use crate::audit::{record, AuditFilter};
use crate::users::{require_user_admin, StatusFilter, UserFilter};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use serde_json::json;
use store::{AuditQuery, AuditRecord};

impl App {
    /// A2: records that the caller exports the user list with these
    /// selectors; the rows then come page by page from `list_users`, so an
    /// export shows exactly what the list shows the caller (S7).
    #[tracing::instrument(name = "begin_user_export", skip_all)]
    pub async fn begin_user_export(&self, ctx: &Ctx, f: &UserFilter) -> AppResult<()> {
        require_user_admin(ctx)?;
        let status = match f.status {
            StatusFilter::Active => "active",
            StatusFilter::Inactive => "inactive",
            StatusFilter::All => "all",
            StatusFilter::Locked => "locked",
        };
        let params = json!({
            "org": format!("{:?}", f.org),
            "status": status,
            "q": f.q,
            "sort": format!("{:?}", f.sort),
            "descending": f.descending,
        });
        self.audit_export(ctx, AuditAction::UsersExported, params).await
    }

    /// A2: records that the caller exports the audit log with this filter.
    #[tracing::instrument(name = "begin_audit_export", skip_all)]
    pub async fn begin_audit_export(&self, ctx: &Ctx, f: &AuditFilter) -> AppResult<()> {
        crate::audit::require_system_administrator(ctx)?;
        let params = json!({"actor_id": f.actor_id, "target_id": f.target_id, "action": f.action, "from": f.from, "to": f.to});
        self.audit_export(ctx, AuditAction::AuditExported, params).await
    }

    async fn audit_export(&self, ctx: &Ctx, action: AuditAction, params: serde_json::Value) -> AppResult<()> {
        let mut tx = self.db.write().await?;
        record(&mut tx, ctx, self.now(), action, None, None, Some(params)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A2: up to `limit` audit entries older than `before_id`, newest first.
    #[tracing::instrument(name = "audit_export_page", skip_all)]
    pub async fn audit_export_page(&self, ctx: &Ctx, f: &AuditFilter, before_id: Option<i64>, limit: i64) -> AppResult<Vec<AuditRecord>> {
        crate::audit::require_system_administrator(ctx)?;
        if limit < 1 {
            return Err(AppError::bad_request("invalid_query", "limit: at least 1"));
        }
        let mut tx = self.db.read().await?;
        Ok(tx
            .audit_page(&AuditQuery {
                actor_id: f.actor_id.clone(),
                target_id: f.target_id.clone(),
                action: f.action.clone(),
                from: f.from,
                to: f.to,
                limit,
                offset: 0,
                before_id,
            })
            .await?)
    }
}
