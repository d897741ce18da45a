//! DIR2: the directory's named tokens — shown once, stored hashed, valid
//! only under `/scim/v2` — and who may manage them.

use crate::audit::record;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::UserId;
use serde_json::json;
use store::ScimToken;

impl App {
    /// DIR2: the directory's token, or 401. A session token is never one.
    #[tracing::instrument(name = "scim_authenticate", skip_all)]
    pub async fn scim_authenticate(&self, token: &str, source_ip: Option<String>) -> AppResult<Ctx> {
        let refused = || {
            AppError::unauthorized(
                "invalid_token",
                "send a SCIM token made in Settings › Directory as Authorization: Bearer",
            )
        };
        if !domain::secret::looks_like_token(token) {
            return Err(refused());
        }
        let hash = domain::secret::hash_token(token);
        let mut tx = self.db.read_one().await?;
        let found = tx.scim_token_by_hash(&hash).await?.ok_or_else(refused)?;
        drop(tx);
        let now = self.now();
        if found.last_used_at.is_none_or(|t| t < now - 60_000) {
            let mut tx = self.db.write().await?;
            tx.touch_scim_token(&found.id, now).await?;
            tx.commit().await?;
        }
        Ok(Ctx::directory(&found.name, source_ip))
    }

    pub(super) fn require_sysadmin(ctx: &Ctx) -> AppResult<()> {
        let actor = ctx.signed_in()?;
        if !actor.is_system_administrator() {
            return Err(AppError::forbidden(
                "only company system administrators manage the directory connection",
            ));
        }
        Ok(())
    }

    /// DIR2: a new named token; the secret is returned once, only its hash kept.
    #[tracing::instrument(name = "create_scim_token", skip_all)]
    pub async fn create_scim_token(&self, ctx: &Ctx, name: &str) -> AppResult<(ScimToken, String)> {
        Self::require_sysadmin(ctx)?;
        let name = domain::ShortText::parse("name", name, 100)?.into_string();
        let (token, hash) = domain::secret::new_token();
        let now = self.now();
        let t = ScimToken {
            id: UserId::generate().to_string(),
            name,
            created_at: now,
            created_by: ctx.actor_id().map(|a| a.to_string()),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.write().await?;
        tx.insert_scim_token(&t, &hash).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::ScimTokenCreated,
            Some(&t.id),
            None,
            Some(json!({"name": t.name})),
        )
        .await?;
        tx.commit().await?;
        Ok((t, token))
    }

    #[tracing::instrument(name = "scim_tokens", skip_all)]
    pub async fn scim_tokens(&self, ctx: &Ctx) -> AppResult<Vec<ScimToken>> {
        Self::require_sysadmin(ctx)?;
        Ok(self.db.read().await?.scim_tokens().await?)
    }

    #[tracing::instrument(name = "revoke_scim_token", skip_all)]
    pub async fn revoke_scim_token(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        Self::require_sysadmin(ctx)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if !tx.revoke_scim_token(id, now).await? {
            return Err(AppError::not_found("SCIM token"));
        }
        record(&mut tx, ctx, now, AuditAction::ScimTokenRevoked, Some(id), None, None).await?;
        tx.commit().await?;
        Ok(())
    }
}
