//! Building audit entries (R3) and reading the log.

use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::audit::AuditAction;
use serde_json::Value;
use store::{AuditEntry, AuditQuery, AuditRecord, ChainReport, Tx};

/// Appends an entry about `target` in the caller's transaction.
// Every argument is one column of the entry; callers name them in place.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    tx: &mut Tx,
    ctx: &Ctx,
    now: domain::Millis,
    action: AuditAction,
    target_id: Option<&str>,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    tx.audit(&AuditEntry {
        at: now,
        actor_id: ctx.actor_id().map(|a| a.to_string()),
        actor_label: ctx.label.clone(),
        action: action.as_str().to_owned(),
        target_kind: action.target_kind(),
        target_id: target_id.map(str::to_owned),
        before: before.map(|v| v.to_string()),
        after: after.map(|v| v.to_string()),
        source_ip: ctx.source_ip.clone(),
    })
    .await?;
    Ok(())
}

/// Filters of `GET /audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<domain::Millis>,
    pub to: Option<domain::Millis>,
}

pub(crate) fn require_system_administrator(ctx: &Ctx) -> AppResult<()> {
    if !ctx.signed_in()?.is_system_administrator() {
        return Err(AppError::forbidden("only company system administrators read the audit log"));
    }
    Ok(())
}

impl App {
    /// A1: checks the audit log's hash chain from the first entry to the
    /// head (company system administrators; the operator's `tracker audit
    /// verify` calls [`App::verify_audit_chain`]).
    #[tracing::instrument(name = "audit_verify", skip_all)]
    pub async fn audit_verify(&self, ctx: &Ctx) -> AppResult<ChainReport> {
        require_system_administrator(ctx)?;
        self.verify_audit_chain().await
    }

    /// A1, for the operator: no caller to check.
    #[tracing::instrument(name = "verify_audit_chain", skip_all)]
    pub async fn verify_audit_chain(&self) -> AppResult<ChainReport> {
        let mut tx = self.db.read().await?;
        Ok(tx.verify_audit_chain().await?)
    }

    /// A1: the chain head's seq and hash, the anchor the Audit page shows.
    #[tracing::instrument(name = "audit_head", skip_all)]
    pub async fn audit_head(&self, ctx: &Ctx) -> AppResult<(i64, String)> {
        require_system_administrator(ctx)?;
        let mut tx = self.db.read().await?;
        Ok(tx.audit_head().await?)
    }

    /// The whole audit log, for company system administrators.
    #[tracing::instrument(name = "audit_log", skip_all)]
    pub async fn audit_log(&self, ctx: &Ctx, f: AuditFilter, page: Page) -> AppResult<Listing<AuditRecord>> {
        require_system_administrator(ctx)?;
        let mut tx = self.db.read().await?;
        let (items, total) = tx
            .list_audit(&AuditQuery {
                actor_id: f.actor_id,
                target_id: f.target_id,
                action: f.action,
                from: f.from,
                to: f.to,
                limit: page.per_page,
                offset: page.offset(),
                before_id: None,
            })
            .await?;
        Ok(Listing { items, total, page })
    }

    /// R3: every administrative change and sign-in of a user, newest first.
    #[tracing::instrument(name = "user_history", skip_all)]
    pub async fn user_history(&self, ctx: &Ctx, user_id: &domain::UserId, page: Page) -> AppResult<Listing<AuditRecord>> {
        let mut tx = self.db.read().await?;
        let user = tx.user(user_id).await?.ok_or_else(|| AppError::not_found("user"))?;
        crate::users::require_manage(ctx, &user)?;
        let (items, total) = tx
            .list_audit(&AuditQuery {
                target_id: Some(user_id.to_string()),
                limit: page.per_page,
                offset: page.offset(),
                ..Default::default()
            })
            .await?;
        Ok(Listing { items, total, page })
    }
}
