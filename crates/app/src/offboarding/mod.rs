//! SPEC §5b: the offboarding plan (O1), handing everything over and
//! deactivating in one transaction (O2), and scheduled deactivations (O3).
//!
//! [`plan_in`] is the one computation of a user's responsibilities, inside
//! any transaction: the API's plan, the hand-over, the scheduler and its
//! reminders all use it (and the directory's offboarding items can).
//!
//! Here: the plan and the choices checked against it; `hand_over`: O2's
//! one transaction; `schedule`: O3's stored plans and the scheduler.

mod hand_over;
mod schedule;
pub(crate) use schedule::sees_leaving_dates;

use crate::audit::record;
use crate::delegates::MAX_DELEGATES;
use crate::users::{require_manage, subject};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::model::User;
use domain::offboarding::{check, chosen, plan, Candidate, Fit, Item, ItemKind, PlanStatus, Source};
use domain::{Invalid, MatterId, MatterRole, Millis, Role, UserId};
pub(crate) use hand_over::hand_over_and_deactivate;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use store::{ScheduledDeactivation, Tx};

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
    /// D6/DIR3.
    pub directory_managed: bool,
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
