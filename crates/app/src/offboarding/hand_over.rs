//! O2: everything handed over and the user deactivated, in one transaction.

use super::{plan_in, resolve};
use crate::audit::record;
use crate::lifecycle::set_active;
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::deactivation::BlockerKind as B;
use domain::model::User;
use domain::offboarding::{Item, ItemKind};
use domain::{MatterId, Millis, UserId};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use store::{AuditEntry, OffboardingDigest, OutboxPayload, Tx};

fn entry(ctx: &Ctx, now: Millis, action: AuditAction, target: &str, before: serde_json::Value, after: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at: now,
        actor_id: ctx.actor_id().map(|a| a.to_string()),
        actor_label: ctx.label.clone(),
        action: action.as_str().to_owned(),
        target_kind: action.target_kind(),
        target_id: Some(target.to_owned()),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
        source_ip: ctx.source_ip.clone(),
    }
}

/// O2: hands every item over as resolved, deactivates the user (D2, with
/// D3/D4 checked again on what is left) and queues one digest per
/// successor, all in the caller's transaction. The caller holds the user's
/// row. Returns how many responsibilities changed hands.
pub(crate) async fn hand_over_and_deactivate(
    app: &App,
    tx: &mut Tx,
    ctx: &Ctx,
    user: &mut User,
    named: &HashMap<String, UserId>,
    default: Option<&UserId>,
    now: Millis,
) -> AppResult<usize> {
    if ctx.actor_id() == Some(&user.id) {
        return Err(AppError::Forbidden {
            code: "cannot_deactivate_self",
            message: "you cannot deactivate yourself".into(),
        });
    }
    // D4 weighs other users' rows: hold them still until commit.
    tx.lock_for_deactivation(user).await?;
    // After the users (see `lock_people`), before any position changes.
    // removed
    app.hooks.pause(crate::hooks::Point::OffboardLocked).await;
    let items = plan_in(tx, ctx.actor.as_ref().map(|a| a.role), user).await?;
    let (assignments, people) = resolve(tx, ctx, user, &items, named, default, true).await?;
    let from = user.id.clone();
    let mut audit = Vec::new();
    let mut taken: BTreeMap<UserId, Vec<String>> = BTreeMap::new();
    let mut took = |to: &UserId, what: String| taken.entry(to.clone()).or_default().push(what);
    let offboarding = json!(from);
    // Leads and participations move set-based, grouped by successor.
    let mut leads: BTreeMap<UserId, Vec<&Item>> = BTreeMap::new();
    let mut joins: BTreeMap<UserId, Vec<&Item>> = BTreeMap::new();
    let lead_total = items.iter().filter(|i| i.kind == ItemKind::Blocker(B::LeadCompanyPerson)).count();
    for a in &assignments {
        let item = &items[a.item];
        let target = item.target.id.as_str();
        let level = item.target.level.unwrap_or(0);
        match (item.kind, &a.to) {
            (ItemKind::Blocker(B::LeadCompanyPerson), Some(to)) => leads.entry(to.clone()).or_default().push(item),
            (ItemKind::Blocker(B::OnlyFirmUserOnMatter | B::OnlyNotifiedFirmUserOnMatter) | ItemKind::MatterParticipation, Some(to)) => {
                joins.entry(to.clone()).or_default().push(item)
            }
            (ItemKind::Blocker(B::OfficeCoordinator), Some(to)) => {
                if tx.hand_over_coordinator(target, &from, to, now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::OfficeUpdated,
                        target,
                        json!({"coordinator_id": from}),
                        json!({"coordinator_id": to, "offboarding_of": offboarding}),
                    ));
                    took(to, format!("Coordinator of {}", item.target.name));
                }
            }
            (ItemKind::Blocker(B::OfficeBackupCoordinator), to) => {
                if tx.hand_over_backup(target, &from, to.as_ref(), now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::OfficeUpdated,
                        target,
                        json!({"backup_coordinator_id": from}),
                        json!({"backup_coordinator_id": to, "offboarding_of": offboarding}),
                    ));
                    if let Some(to) = to {
                        took(to, format!("Backup coordinator of {}", item.target.name));
                    }
                }
            }
            (ItemKind::Blocker(B::RoutePrimaryApprover), Some(to)) => {
                if tx.hand_over_primary(target, level, &from, to, now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::RouteUpdated,
                        target,
                        json!({"level": level, "primary_approver_id": from}),
                        json!({"level": level, "primary_approver_id": to, "offboarding_of": offboarding}),
                    ));
                    took(to, format!("Primary approver on {}", item.target.name));
                }
            }
            (ItemKind::Blocker(B::RouteAlternateApprover), to) => {
                if tx.hand_over_alternate(target, level, &from, to.as_ref(), now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::RouteUpdated,
                        target,
                        json!({"level": level, "alternate_approver_id": from}),
                        json!({"level": level, "alternate_approver_id": to, "offboarding_of": offboarding}),
                    ));
                    if let Some(to) = to {
                        took(to, format!("Alternate approver on {}", item.target.name));
                    }
                }
            }
            (ItemKind::RouteDelegate, Some(to)) => {
                if tx.hand_over_route_delegate(target, level, &from, to, now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::RouteDelegateReplaced,
                        target,
                        json!({"level": level, "delegate_id": from}),
                        json!({"level": level, "delegate_id": to, "offboarding_of": offboarding}),
                    ));
                    took(to, format!("Delegate on {}", item.target.name));
                }
            }
            (ItemKind::DelegationGiven | ItemKind::DelegationReceived, Some(to)) => {
                let other = UserId::from(target);
                let (delegator, delegate) = if item.kind == ItemKind::DelegationGiven {
                    (to, &other)
                } else {
                    (&other, to)
                };
                if tx.add_delegation(delegator, delegate, now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::DelegationTakenOver,
                        delegator.as_str(),
                        json!({"delegate_id": null}),
                        json!({"delegate_id": delegate, "offboarding_of": offboarding}),
                    ));
                    took(
                        to,
                        if item.kind == ItemKind::DelegationGiven {
                            format!("{} as your delegate", item.target.name)
                        } else {
                            format!("Delegate of {}", item.target.name)
                        },
                    );
                }
            }
            (ItemKind::TrackerCoordinator, Some(to)) => {
                if tx.hand_over_tracker_coordinator(&from, to, now).await? {
                    audit.push(entry(
                        ctx,
                        now,
                        AuditAction::SettingsUpdated,
                        "settings",
                        json!({"tracker_coordinator_id": from}),
                        json!({"tracker_coordinator_id": to, "offboarding_of": offboarding}),
                    ));
                    took(to, "Tracker Coordinator".into());
                }
            }

            (_, None) => {}
        }
    }
    for (to, group) in &leads {
        let ids: Vec<MatterId> = group.iter().map(|i| MatterId::from(i.target.id.as_str())).collect();
        // The whole set needs no list: one UPDATE of the lead's open matters.
        let only = (group.len() != lead_total).then_some(ids.as_slice());
        let moved = tx.reassign_lead(&from, to, only, now).await?;
        let names: HashMap<&str, &str> = group.iter().map(|i| (i.target.id.as_str(), i.target.name.as_str())).collect();
        for m in &moved {
            audit.push(entry(
                ctx,
                now,
                AuditAction::MatterLeadReassigned,
                m.as_str(),
                json!({"lead_company_person_id": from}),
                json!({"lead_company_person_id": to, "offboarding_of": offboarding}),
            ));
            took(
                to,
                format!("Lead company person of {}", names.get(m.as_str()).copied().unwrap_or(m.as_str())),
            );
        }
    }
    for (to, group) in &joins {
        let ids: Vec<String> = group.iter().map(|i| i.target.id.clone()).collect();
        let added = tx.add_successor_participations(&from, to, &ids, now).await?;
        let by_id: HashMap<&str, &Item> = group.iter().map(|i| (i.target.id.as_str(), *i)).collect();
        for m in &added {
            let Some(item) = by_id.get(m.as_str()) else { continue };
            let role = item.matter_role.map(|r| r.as_str()).unwrap_or("");
            audit.push(entry(
                ctx,
                now,
                AuditAction::ParticipantAdded,
                m,
                json!(null),
                json!({"user_id": to, "role": role, "receives_notifications": item.receives_notifications, "offboarding_of": offboarding}),
            ));
            took(to, format!("Participant ({role}) in {}", item.target.name));
        }
    }
    let reassigned = audit.len();
    tx.audit_many(audit).await?;
    set_active(app, tx, ctx, user, false, now).await?;
    let successors: BTreeMap<String, usize> = taken.iter().map(|(k, v)| (k.to_string(), v.len())).collect();
    record(
        tx,
        ctx,
        now,
        AuditAction::UserOffboarded,
        Some(user.id.as_str()),
        None,
        Some(json!({"reassigned": reassigned, "successors": successors})),
    )
    .await?;
    // One digest per successor (never one per matter); every successor was
    // read active under lock above (N7).
    for (to, lines) in taken {
        let Some(who) = people.get(&to).filter(|u| u.active) else {
            continue;
        };
        let total = lines.len() as i64;
        let payload = OutboxPayload::OffboardingDigest(OffboardingDigest {
            leaving_user_name: user.full_name(),
            lines: lines.into_iter().take(OffboardingDigest::MAX_LINES).collect(),
            total,
        });
        tx.enqueue_mail(&payload, Some(&who.id), &who.email, now).await?;
    }
    Ok(reassigned)
}
