//! DIR3: a directory (de)activation happens at once; what D3/D4 would have
//! refused becomes open offboarding items and one digest email.

use crate::views::user_json;
use crate::{App, AppResult, Ctx, Listing, Page};
use domain::model::User;
use domain::{Millis, Role, UserId};
use serde_json::{json, Value};
use store::{OffboardingItem, OutboxPayload, Tx};

impl App {
    /// DIR3: `GET /offboarding-items`, for company system administrators.
    #[tracing::instrument(name = "offboarding_items", skip_all)]
    pub async fn offboarding_items(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<OffboardingItem>> {
        Self::require_sysadmin(ctx)?;
        let mut tx = self.db.read().await?;
        let (items, total) = tx.open_offboarding_items(page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }
}

/// DIR3: the directory (de)activates a user at once. Responsibilities that
/// D3/D4 would have refused the deactivation for become open offboarding
/// items, and the system administrators get one digest email about them.
/// R1: a reactivation gives everything back and settles the items.
pub(super) async fn directory_set_active(tx: &mut Tx, ctx: &Ctx, mut user: User, active: bool, now: Millis) -> AppResult<bool> {
    let before = user_json(&user);
    if active {
        crate::lifecycle::reactivate_now(tx, ctx, &mut user, before, now).await?;
        tx.resolve_offboarding_items(&user.id, now).await?;
        return Ok(false);
    }
    tx.lock_for_deactivation(&user).await?;
    crate::offboarding::settle_plan_on_deactivation(tx, ctx, &user.id, now).await?;
    // The one computation of a user's responsibilities (§5b's plan); each
    // D3/D4 one becomes an item, whether D3 blocks or D4 only warns.
    let plan = crate::offboarding::plan_in(tx, Some(Role::CompanySystemAdministrator), &user).await?;
    let mut items = Vec::new();
    for (i, blocker) in plan.iter().filter_map(|i| i.kind.blocker().map(|b| (i, b))) {
        let item = OffboardingItem {
            id: UserId::generate().to_string(),
            user_id: user.id.to_string(),
            kind: i.kind,
            target_type: i.target.kind,
            target_id: i.target.id.clone(),
            target_name: i.target.name.clone(),
            fix: blocker.fix().into(),
            created_at: now,
            resolved_at: None,
        };
        tx.insert_offboarding_item(&item).await?;
        items.push(item);
    }
    let open: Vec<Value> = items
        .iter()
        .map(|i| json!({"kind": i.kind.as_str(), "target": {"type": i.target_type, "id": i.target_id, "name": i.target_name}}))
        .collect();
    crate::lifecycle::deactivate_now(
        tx,
        ctx,
        &mut user,
        before,
        json!({"by_directory": true, "offboarding_items": open}),
        now,
    )
    .await?;
    if items.is_empty() {
        return Ok(false);
    }
    let digest = OutboxPayload::DirectoryDigest(store::DirectoryDigest {
        user_name: format!("{} {}", user.first_name, user.last_name),
        user_email: user.email.to_string(),
        items: items
            .iter()
            .map(|i| format!("{}: {} — {}", i.kind.as_str().replace('_', " "), i.target_name, i.fix))
            .collect(),
    });
    let mut queued = false;
    for admin in tx.active_system_administrators().await? {
        tx.enqueue_mail(&digest, Some(&admin.id), &admin.email, now).await?;
        queued = true;
    }
    Ok(queued)
}
