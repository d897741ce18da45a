//! SPEC §5b: the offboarding plan (O1), handing everything over and
//! deactivating in one transaction (O2), and scheduled deactivations (O3).
//!
//! [`plan_in`] is the one computation of a user's responsibilities, inside
//! any transaction: the API's plan, the hand-over, the scheduler and its
//! reminders all use it (and the directory's offboarding items can).

use crate::audit::record;
use crate::delegates::MAX_DELEGATES;
use crate::lifecycle::set_active;
use crate::users::{require_manage, subject};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::deactivation::BlockerKind as B;
use domain::model::User;
use domain::offboarding::{check, chosen, plan, Candidate, Fit, Item, ItemKind, PlanStatus, Source};
use domain::{Invalid, MatterId, MatterRole, Millis, Role, UserId};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use store::{AuditEntry, OffboardingDigest, OutboxPayload, ScheduledDeactivation, Tx};

/// `POST /users/{id}/offboard`.
#[derive(Debug, Clone, Default)]
pub struct OffboardInput {
    /// Fills every item nobody is named for.
    pub default_successor_id: Option<String>,
    /// By item key, or by item kind for every item of that kind.
    pub successors: HashMap<String, String>,
    /// In the future: store the plan and run it then (O3).
    pub effective_at: Option<Millis>,
}

/// O1's answer.
#[derive(Debug, Clone)]
pub struct Plan {
    pub user: User,
    pub items: Vec<Item>,
    /// The stored plan, when the deactivation is scheduled.
    pub scheduled: Option<ScheduledDeactivation>,
}

/// O2's answer.
#[derive(Debug, Clone)]
pub struct Offboarded {
    pub user: User,
    /// Responsibilities handed over (each is one audit entry).
    pub reassigned: usize,
    pub scheduled: Option<ScheduledDeactivation>,
}

/// A stored plan with the user it is about (`GET /scheduled-deactivations`).
#[derive(Debug, Clone)]
pub struct ScheduledView {
    pub plan: ScheduledDeactivation,
    pub user: User,
}

/// The responsibilities of `user`, blocking as D3/D4 decide for `actor_role`.
pub async fn plan_in(tx: &mut Tx, actor_role: Option<Role>, user: &User) -> AppResult<Vec<Item>> {
    let facts = tx.offboarding_facts(user).await?;
    Ok(plan(actor_role, user.side, &facts))
}

/// Locks the leaving user and every successor named in `named` or as
/// `default`, all in id order, and returns the leaving user. Lock order of
/// an offboarding on PostgreSQL: the stored plan, these users, then
/// ([`hand_over_and_deactivate`]) the offices and routes the user holds a
/// position in. Office and route edits lock their users before their row,
/// so neither side can hold a row the other waits for while it waits.
async fn lock_people(tx: &mut Tx, leaving: &UserId, named: &HashMap<String, UserId>, default: Option<&UserId>) -> AppResult<Option<User>> {
    let mut ids: Vec<&UserId> = named.values().chain(default).chain([leaving]).collect();
    ids.sort();
    ids.dedup();
    let mut found = None;
    for id in ids {
        let row = tx.user_for_update(id).await?;
        if id == leaving {
            found = row;
        }
    }
    Ok(found)
}

/// A user deactivated by other means than their plan (`PATCH` with
/// `active: false`, the profile's Active box, the directory): a plan still
/// stored for them is moot, so it is cancelled in the deactivation's
/// transaction and audited as a cancellation with the reason. The caller
/// locked the plan before the user; a plan stored in between was stored
/// under the user's lock, which the caller now holds, so it is committed
/// and found here. A plan that ran (`done`) stays as history.
pub(crate) async fn settle_plan_on_deactivation(tx: &mut Tx, ctx: &Ctx, id: &UserId, now: Millis) -> AppResult<()> {
    let Some(plan) = tx.scheduled_deactivation(id).await?.filter(|p| p.status != PlanStatus::Done) else {
        return Ok(());
    };
    tx.delete_scheduled_deactivation(id).await?;
    record(
        tx,
        ctx,
        now,
        AuditAction::UserDeactivationCancelled,
        Some(id.as_str()),
        Some(json!({"effective_at": plan.effective_at, "status": plan.status})),
        Some(json!({"reason": "user_deactivated"})),
    )
    .await
}

/// What [`resolve`] decided for one item.
struct Assignment {
    item: usize,
    to: Option<UserId>,
}

/// Whether the caller may hand this kind of item over: the rules of the use
/// case that changes it (system administrators for matters' leads, offices,
/// routes and settings; a matter's administrators for its participants;
/// whoever manages the leaving user for their delegations).
async fn may_hand_over(tx: &mut Tx, ctx: &Ctx, item: &Item) -> AppResult<bool> {
    let Some(actor) = &ctx.actor else { return Ok(true) };
    if actor.is_system_administrator() {
        return Ok(true);
    }
    Ok(match item.kind {
        ItemKind::DelegationGiven | ItemKind::DelegationReceived => true,
        k if k.is_participation() => tx
            .participant(&MatterId::from(item.target.id.as_str()), &actor.id)
            .await?
            .is_some_and(|p| p.role == MatterRole::MatterAdministrator),
        _ => false,
    })
}

/// O2: checks every successor (known, visible to the caller, active,
/// eligible) and, when `require_all`, that every blocking item that cannot
/// be left empty has one. Every problem is listed, keyed by the item
/// (`successors.<key>`). Successor rows stay locked until commit, in id
/// order.
async fn resolve(
    tx: &mut Tx,
    ctx: &Ctx,
    leaving: &User,
    items: &[Item],
    named: &HashMap<String, UserId>,
    default: Option<&UserId>,
    require_all: bool,
) -> AppResult<(Vec<Assignment>, BTreeMap<UserId, User>)> {
    let mut problems = Vec::new();
    for key in named.keys() {
        if ItemKind::parse(key).is_none() && !items.iter().any(|i| &i.key == key) {
            problems.push(Invalid::new(
                format!("successors.{key}"),
                "unknown_item",
                format!("successors.{key}: the user has no such responsibility"),
            ));
        }
    }
    let mut ids: Vec<&UserId> = named.values().chain(default).collect();
    ids.sort();
    ids.dedup();
    let mut people = BTreeMap::new();
    for id in ids {
        let visible = tx
            .user_for_update(id)
            .await?
            .filter(|u| ctx.actor.as_ref().is_none_or(|a| a.can_see(subject(u))));
        if let Some(u) = visible {
            people.insert(id.clone(), u);
        }
    }
    let me = Candidate {
        id: &leaving.id,
        side: leaving.side,
        firm_id: leaving.firm_id.as_ref(),
        active: true,
    };
    let mut out = Vec::with_capacity(items.len());
    let mut new_delegates: HashMap<UserId, i64> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let field = || format!("successors.{}", item.key);
        let Some((id, source)) = chosen(item, named, default) else {
            if require_all && item.needs_successor() {
                problems.push(Invalid::new(
                    field(),
                    "successor_required",
                    format!(
                        "{}: {} needs a successor before the user can be deactivated",
                        field(),
                        item.target.name
                    ),
                ));
            }
            out.push(Assignment { item: i, to: None });
            continue;
        };
        let by = if source == Source::Default {
            " (the default successor)"
        } else {
            ""
        };
        let Some(who) = people.get(id) else {
            problems.push(Invalid::new(field(), "unknown_user", format!("{}: no such user{by}", field())));
            continue;
        };
        let candidate = Candidate {
            id: &who.id,
            side: who.side,
            firm_id: who.firm_id.as_ref(),
            active: who.active,
        };
        match check(item, candidate, me, source) {
            Fit::No(code, message) => problems.push(Invalid::new(field(), code, format!("{}: {message}{by}", field()))),
            Fit::Nothing => out.push(Assignment { item: i, to: None }),
            Fit::Takes if !may_hand_over(tx, ctx, item).await? => problems.push(Invalid::new(
                field(),
                "not_permitted",
                format!("{}: your role does not hand over {}", field(), item.kind.as_str()),
            )),
            Fit::Takes => {
                // Delegations stay within the limit of five a delegator.
                let delegator = match item.kind {
                    ItemKind::DelegationGiven => Some(who.id.clone()),
                    ItemKind::DelegationReceived => item.other.clone(),
                    _ => None,
                };
                if let Some(d) = delegator {
                    let n = match new_delegates.get(&d) {
                        Some(n) => *n,
                        None => tx.count_delegates(&d).await?,
                    } + 1;
                    new_delegates.insert(d, n);
                    if n > MAX_DELEGATES as i64 {
                        problems.push(Invalid::new(
                            field(),
                            "too_many_delegates",
                            format!("{}: the delegator would have more than {MAX_DELEGATES} delegates", field()),
                        ));
                    }
                }
                out.push(Assignment {
                    item: i,
                    to: Some(who.id.clone()),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    Ok((out, people))
}

fn entry(ctx: &Ctx, now: Millis, action: AuditAction, target: &str, before: serde_json::Value, after: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at: now,
        actor_id: ctx.actor_id().map(|a| a.to_string()),
        actor_label: ctx.label.clone(),
        action: action.as_str().to_owned(),
        target_kind: action.target_kind(),
        target_id: Some(target.to_owned()),
        before: Some(before),
        after: Some(after),
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
    tx.audit_many(&audit).await?;
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

fn named_successors(input: &HashMap<String, String>) -> HashMap<String, UserId> {
    input.iter().map(|(k, v)| (k.clone(), UserId::from(v.as_str()))).collect()
}

impl App {
    /// O1: `GET /users/{id}/offboarding-plan`.
    #[tracing::instrument(name = "offboarding_plan", skip_all)]
    pub async fn offboarding_plan(&self, ctx: &Ctx, id: &UserId) -> AppResult<Plan> {
        let mut tx = self.db.read().await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        let items = plan_in(&mut tx, ctx.actor.as_ref().map(|a| a.role), &user).await?;
        let scheduled = tx.scheduled_deactivation(id).await?.filter(|s| s.status != PlanStatus::Done);
        Ok(Plan { user, items, scheduled })
    }

    /// O2/O3: `POST /users/{id}/offboard`. Now: every successor checked,
    /// then everything handed over and the user deactivated in one
    /// transaction. With a future `effective_at`: the successors are
    /// checked and the plan stored for the scheduler.
    #[tracing::instrument(name = "offboard", skip_all)]
    pub async fn offboard(&self, ctx: &Ctx, id: &UserId, input: OffboardInput) -> AppResult<Offboarded> {
        let now = self.now();
        let named = named_successors(&input.successors);
        let default = input.default_successor_id.as_deref().map(UserId::from);
        let mut tx = self.db.write().await?;
        // Lock order: the stored plan, then the users (as the scheduler).
        let existing = tx.scheduled_deactivation_for_update(id).await?;
        let mut user = lock_people(&mut tx, id, &named, default.as_ref())
            .await?
            .ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        if !user.active {
            return Err(AppError::conflict("user_inactive", "the user is already deactivated"));
        }
        match input.effective_at.filter(|at| *at > now) {
            None => {
                let reassigned = hand_over_and_deactivate(self, &mut tx, ctx, &mut user, &named, default.as_ref(), now).await?;
                if existing.is_some() {
                    tx.finish_scheduled_deactivation(id, None, now).await?;
                }
                self.commit(tx, true).await?;
                Ok(Offboarded {
                    user,
                    reassigned,
                    scheduled: None,
                })
            }
            Some(at) => {
                if ctx.actor_id() == Some(&user.id) {
                    return Err(AppError::Forbidden {
                        code: "cannot_deactivate_self",
                        message: "you cannot deactivate yourself".into(),
                    });
                }
                let items = plan_in(&mut tx, ctx.actor.as_ref().map(|a| a.role), &user).await?;
                resolve(&mut tx, ctx, &user, &items, &named, default.as_ref(), false).await?;
                let plan = ScheduledDeactivation {
                    user_id: user.id.to_string(),
                    effective_at: at,
                    successors_json: serde_json::to_string(&input.successors).unwrap_or_else(|_| "{}".into()),
                    default_successor_id: default.map(|d| d.to_string()),
                    status: PlanStatus::Scheduled,
                    failure: None,
                    created_by_id: ctx.actor_id().map(|a| a.to_string()),
                    created_by_label: ctx.label.clone(),
                    created_at: now,
                    reminded_at: None,
                    ran_at: None,
                };
                tx.schedule_deactivation(&plan).await?;
                record(
                    &mut tx,
                    ctx,
                    now,
                    AuditAction::UserDeactivationScheduled,
                    Some(user.id.as_str()),
                    None,
                    Some(json!({"effective_at": at, "successors": input.successors, "default_successor_id": plan.default_successor_id})),
                )
                .await?;
                tx.commit().await?;
                Ok(Offboarded {
                    user,
                    reassigned: 0,
                    scheduled: Some(plan),
                })
            }
        }
    }
}

/// Who acts when the scheduler runs a plan: the system, named after the
/// administrator who scheduled it.
fn scheduler_ctx(plan: &ScheduledDeactivation) -> Ctx {
    Ctx {
        actor: None,
        label: format!("scheduler (planned by {})", plan.created_by_label),
        source_ip: None,
    }
}

fn stored_successors(plan: &ScheduledDeactivation) -> HashMap<String, UserId> {
    let map: HashMap<String, String> = serde_json::from_str(&plan.successors_json).unwrap_or_default();
    named_successors(&map)
}

/// Why a plan was refused, as lines for the record and the email.
fn reasons(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
        AppError::DeactivationBlocked { blockers, .. } => {
            blockers.iter().map(|b| format!("{}: {}", b.kind.as_str(), b.kind.fix())).collect()
        }
        other => vec![other.message()],
    }
}

/// Refusals a plan can meet at run time; anything else (the database) is
/// retried at the next tick.
fn is_refusal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid(_)
            | AppError::DeactivationBlocked { .. }
            | AppError::ManagedByDirectory
            | AppError::Forbidden { .. }
            | AppError::Conflict { .. }
    )
}

/// Queues one alert to every active system administrator (N7).
async fn alert_admins(tx: &mut Tx, alert: &str, user: &User, effective_at: Millis, details: Vec<String>, now: Millis) -> AppResult<()> {
    for admin in tx.active_system_administrators().await? {
        let payload = OutboxPayload::OffboardingAlert(store::OffboardingAlert {
            alert: alert.to_owned(),
            user_id: user.id.to_string(),
            user_name: user.full_name(),
            effective_at,
            details: details.clone(),
        });
        tx.enqueue_mail(&payload, Some(&admin.id), &admin.email, now).await?;
    }
    Ok(())
}

impl App {
    /// O3: `GET /scheduled-deactivations`, the plans of users the caller manages.
    #[tracing::instrument(name = "scheduled_deactivations", skip_all)]
    pub async fn scheduled_deactivations(&self, ctx: &Ctx) -> AppResult<Vec<ScheduledView>> {
        let actor = ctx.signed_in()?;
        if !actor.role.is_user_administrator() {
            return Err(AppError::forbidden("your role does not administer users"));
        }
        let mut tx = self.db.read().await?;
        let plans = tx.list_scheduled_deactivations().await?;
        let ids: Vec<UserId> = plans.iter().map(|p| UserId::from(p.user_id.as_str())).collect();
        let users: HashMap<UserId, User> = tx.users_by_ids(&ids).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
        Ok(plans
            .into_iter()
            .filter_map(|plan| {
                let user = users.get(&UserId::from(plan.user_id.as_str()))?.clone();
                require_manage(ctx, &user).ok()?;
                Some(ScheduledView { plan, user })
            })
            .collect())
    }

    /// O3: `DELETE /users/{id}/scheduled-deactivation`.
    #[tracing::instrument(name = "cancel_scheduled_deactivation", skip_all)]
    pub async fn cancel_scheduled_deactivation(&self, ctx: &Ctx, id: &UserId) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let plan = tx.scheduled_deactivation_for_update(id).await?;
        let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        let Some(plan) = plan.filter(|p| p.status != PlanStatus::Done) else {
            return Err(AppError::not_found("scheduled deactivation"));
        };
        tx.delete_scheduled_deactivation(id).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDeactivationCancelled,
            Some(id.as_str()),
            Some(json!({"effective_at": plan.effective_at, "status": plan.status})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// O3, the scheduler's tick: runs every plan due by the application
    /// clock, each in its own transaction, and sends the reminders that
    /// are due. Returns how many plans ran (carried out or refused).
    #[tracing::instrument(name = "run_scheduled_deactivations", skip_all)]
    pub async fn run_scheduled_deactivations(&self) -> AppResult<usize> {
        let mut ran = 0;
        while self.run_one_due().await? {
            ran += 1;
        }
        while self.remind_one().await? {}
        Ok(ran)
    }

    /// Claims one due plan and carries it out, or records why not, in one
    /// transaction that holds the plan's row throughout: exactly once.
    async fn run_one_due(&self) -> AppResult<bool> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let Some(plan) = tx.claim_due_deactivation(now).await? else {
            return Ok(false);
        };
        let id = UserId::from(plan.user_id.as_str());
        let ctx = scheduler_ctx(&plan);
        let named = stored_successors(&plan);
        let default = plan.default_successor_id.as_deref().map(UserId::from);
        let mut user = lock_people(&mut tx, &id, &named, default.as_ref())
            .await?
            .ok_or_else(|| AppError::internal("a scheduled user is missing"))?;
        tx.savepoint("scheduled_run").await?;
        let outcome = if user.active {
            hand_over_and_deactivate(self, &mut tx, &ctx, &mut user, &named, default.as_ref(), now).await
        } else {
            Err(AppError::conflict("user_inactive", "the user was already deactivated"))
        };
        match outcome {
            Ok(reassigned) => {
                tx.finish_scheduled_deactivation(&id, None, now).await?;
                tracing::info!(reassigned, "scheduled deactivation carried out");
            }
            Err(e) if is_refusal(&e) => {
                // Nothing of the run stays; the plan records why (O3).
                tx.rollback_to("scheduled_run").await?;
                let why = reasons(&e);
                tx.finish_scheduled_deactivation(&id, Some(&why.join("; ")), now).await?;
                record(
                    &mut tx,
                    &ctx,
                    now,
                    AuditAction::UserDeactivationFailed,
                    Some(id.as_str()),
                    None,
                    Some(json!({"effective_at": plan.effective_at, "reasons": why})),
                )
                .await?;
                alert_admins(&mut tx, "failed", &user, plan.effective_at, why, now).await?;
                tracing::warn!("scheduled deactivation refused; the system administrators are told");
            }
            Err(e) => return Err(e),
        }
        self.commit(tx, true).await?;
        Ok(true)
    }

    /// O3: reminds the administrators, once, of a plan coming up within the
    /// reminder days that still has blocking items nobody takes over.
    async fn remind_one(&self) -> AppResult<bool> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let days = tx.offboarding_reminder_days().await?;
        let Some(plan) = tx.claim_reminder(now, days * 86_400_000).await? else {
            return Ok(false);
        };
        let id = UserId::from(plan.user_id.as_str());
        tx.mark_reminded(&id, now).await?;
        let mut queued = false;
        if let Some(user) = tx.user(&id).await? {
            let items = plan_in(&mut tx, None, &user).await?;
            let named = stored_successors(&plan);
            let default = plan.default_successor_id.as_deref().map(UserId::from);
            let open: Vec<String> = items
                .iter()
                .filter(|i| i.needs_successor() && chosen(i, &named, default.as_ref()).is_none())
                .map(|i| format!("{} — {}", i.kind.as_str().replace('_', " "), i.target.name))
                .collect();
            if !open.is_empty() {
                alert_admins(&mut tx, "reminder", &user, plan.effective_at, open, now).await?;
                queued = true;
            }
        }
        self.commit(tx, queued).await?;
        Ok(true)
    }
}

/// O4's preview: each item with the person who would take it over (`None`:
/// nobody — it stays, or a backup/alternate is left empty).
#[derive(Debug, Clone)]
pub struct Preview {
    pub user: User,
    pub rows: Vec<(Item, Option<User>)>,
    /// Deactivation now (every blocking item must be taken) or on a date.
    pub effective_at: Option<Millis>,
}

impl App {
    /// O4: what [`App::offboard`] would do with these choices, checked the
    /// same way (a 422 lists every invalid item) but changing nothing: the
    /// checks run in a write transaction that is rolled back, so they lock
    /// and read exactly what the change would.
    #[tracing::instrument(name = "offboarding_preview", skip_all)]
    pub async fn offboarding_preview(&self, ctx: &Ctx, id: &UserId, input: &OffboardInput) -> AppResult<Preview> {
        let now = self.now();
        let named = named_successors(&input.successors);
        let default = input.default_successor_id.as_deref().map(UserId::from);
        let mut tx = self.db.write().await?;
        let user = lock_people(&mut tx, id, &named, default.as_ref())
            .await?
            .ok_or_else(|| AppError::not_found("user"))?;
        require_manage(ctx, &user)?;
        if !user.active {
            return Err(AppError::conflict("user_inactive", "the user is already deactivated"));
        }
        let effective_at = input.effective_at.filter(|at| *at > now);
        let items = plan_in(&mut tx, ctx.actor.as_ref().map(|a| a.role), &user).await?;
        let (assignments, people) = resolve(&mut tx, ctx, &user, &items, &named, default.as_ref(), effective_at.is_none()).await?;
        drop(tx);
        let mut rows: Vec<(Item, Option<User>)> = items.into_iter().map(|i| (i, None)).collect();
        for a in assignments {
            if let Some(to) = a.to {
                rows[a.item].1 = people.get(&to).cloned();
            }
        }
        Ok(Preview { user, rows, effective_at })
    }
}

impl App {
    /// O3: the leaving dates of those of `users` with a scheduled
    /// deactivation, for the user list and the profile ("leaves on …").
    /// The ids come from a list the caller was allowed to read.
    #[tracing::instrument(name = "leaving_dates", skip_all)]
    pub async fn leaving_dates(&self, ctx: &Ctx, users: &[UserId]) -> AppResult<HashMap<UserId, Millis>> {
        let actor = ctx.signed_in()?;
        if !actor.role.is_user_administrator() || users.is_empty() {
            return Ok(HashMap::new());
        }
        let mut tx = self.db.read().await?;
        Ok(tx
            .leaving_dates(users)
            .await?
            .into_iter()
            .map(|(id, at)| (UserId::from(id), at))
            .collect())
    }
}
