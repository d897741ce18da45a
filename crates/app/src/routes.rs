//! Invoice approval routes: levels of primary approver, optional alternate
//! approver and optional delegates.

use crate::audit::record;
use crate::offices::require_sysadmin;
use crate::users::{active_company_user, active_user, lock_users_first};
use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::audit::AuditAction;
use domain::model::{ApprovalRoute, RouteLevel};
use domain::{EntityName, Invalid, RouteId};
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct LevelInput {
    pub primary_approver_id: String,
    pub alternate_approver_id: Option<String>,
    pub delegate_ids: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RouteInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub levels: Option<Vec<LevelInput>>,
}

pub const MAX_LEVELS: usize = 20;
pub const MAX_LEVEL_DELEGATES: usize = 10;

fn route_json(r: &ApprovalRoute) -> serde_json::Value {
    json!({"name": r.name, "active": r.active, "levels": r.levels.iter().map(|l| json!({
        "primary_approver_id": l.primary_approver_id, "alternate_approver_id": l.alternate_approver_id, "delegate_ids": l.delegate_ids})).collect::<Vec<_>>()})
}

/// Approvers must be active company users (D2 `user_inactive`), delegates active users.
async fn resolve_levels(tx: &mut store::Tx, levels: &[LevelInput]) -> AppResult<Vec<RouteLevel>> {
    if levels.is_empty() || levels.len() > MAX_LEVELS {
        return Err(Invalid::new("levels", "out_of_range", format!("a route has 1 to {MAX_LEVELS} levels")).into());
    }
    let mut out = Vec::with_capacity(levels.len());
    for (i, l) in levels.iter().enumerate() {
        let at = |f: &str| format!("levels[{i}].{f}");
        let primary = active_company_user(tx, &at("primary_approver_id"), &l.primary_approver_id).await?;
        let alternate = match &l.alternate_approver_id {
            Some(a) => Some(active_company_user(tx, &at("alternate_approver_id"), a).await?),
            None => None,
        };
        if alternate.as_ref().is_some_and(|a| a.id == primary.id) {
            return Err(Invalid::new(
                at("alternate_approver_id"),
                "same_as_primary",
                "the alternate approver must be another person than the primary",
            )
            .into());
        }
        if l.delegate_ids.len() > MAX_LEVEL_DELEGATES {
            return Err(Invalid::new(
                at("delegate_ids"),
                "too_many",
                format!("at most {MAX_LEVEL_DELEGATES} delegates per level"),
            )
            .into());
        }
        let mut delegates = Vec::new();
        for d in &l.delegate_ids {
            let u = active_user(tx, &at("delegate_ids"), d).await?;
            if !delegates.contains(&u.id) {
                delegates.push(u.id);
            }
        }
        out.push(RouteLevel {
            primary_approver_id: primary.id,
            alternate_approver_id: alternate.map(|a| a.id),
            delegate_ids: delegates,
        });
    }
    Ok(out)
}

impl App {
    #[tracing::instrument(name = "create_route", skip_all)]
    pub async fn create_route(&self, ctx: &Ctx, input: RouteInput) -> AppResult<ApprovalRoute> {
        require_sysadmin(ctx)?;
        let name = EntityName::parse("name", input.name.as_deref().unwrap_or(""))?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if tx.route_name_taken(name.as_str(), None).await? {
            return Err(AppError::conflict("route_name_taken", format!("a route named {} already exists", name.as_str())).on_field("name"));
        }
        let levels = resolve_levels(&mut tx, input.levels.as_deref().unwrap_or(&[])).await?;
        let route = ApprovalRoute {
            id: RouteId::generate(),
            name,
            active: input.active.unwrap_or(true),
            levels,
            created_at: now,
            updated_at: now,
        };
        tx.save_route(&route, true).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::RouteCreated,
            Some(route.id.as_str()),
            None,
            Some(route_json(&route)),
        )
        .await?;
        tx.commit().await?;
        Ok(route)
    }

    #[tracing::instrument(name = "update_route", skip_all)]
    pub async fn update_route(&self, ctx: &Ctx, id: &RouteId, input: RouteInput) -> AppResult<ApprovalRoute> {
        require_sysadmin(ctx)?;
        let name = input.name.as_deref().map(|n| EntityName::parse("name", n)).transpose()?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: the users it names, then the route (as offboarding).
        let mut named = Vec::new();
        for l in input.levels.iter().flatten() {
            named.push(l.primary_approver_id.clone());
            named.extend(l.alternate_approver_id.iter().chain(&l.delegate_ids).cloned());
        }
        lock_users_first(&mut tx, named).await?;
        let mut route = tx
            .route_for_update(id)
            .await?
            .ok_or_else(|| AppError::not_found("approval route"))?;
        let before = route_json(&route);
        if let Some(name) = name {
            if tx.route_name_taken(name.as_str(), Some(id)).await? {
                return Err(
                    AppError::conflict("route_name_taken", format!("a route named {} already exists", name.as_str())).on_field("name"),
                );
            }
            route.name = name;
        }
        if let Some(active) = input.active {
            route.active = active;
        }
        if let Some(levels) = &input.levels {
            route.levels = resolve_levels(&mut tx, levels).await?;
        }
        route.updated_at = now;
        tx.save_route(&route, false).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::RouteUpdated,
            Some(route.id.as_str()),
            Some(before),
            Some(route_json(&route)),
        )
        .await?;
        tx.commit().await?;
        Ok(route)
    }

    #[tracing::instrument(name = "list_routes", skip_all)]
    pub async fn list_routes(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<ApprovalRoute>> {
        require_sysadmin(ctx)?;
        let mut tx = self.db.read().await?;
        let (items, total) = tx.list_routes(page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }

    #[tracing::instrument(name = "route", skip_all)]
    pub async fn route(&self, ctx: &Ctx, id: &RouteId) -> AppResult<ApprovalRoute> {
        require_sysadmin(ctx)?;
        let mut tx = self.db.read().await?;
        tx.route(id).await?.ok_or_else(|| AppError::not_found("approval route"))
    }
}
