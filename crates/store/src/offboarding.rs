//! SPEC §5b: the facts of an offboarding plan, the set-based hand-over of
//! each kind of responsibility, and the stored plans of scheduled
//! deactivations.
//!
//! Every plan query starts from an index on the user's id (as D3/D4's do);
//! every hand-over is a targeted UPDATE guarded by the leaving user still
//! holding the position (S9: nothing read earlier is written back), and
//! the matters of a lead move in a handful of statements whatever their
//! number.

use crate::blockers::{FIRM_MATTERS, LED_OPEN};
use crate::db::{exec, fetch_all, fetch_optional, on, scalar_one, statement, stored_name, Stmt, Tx};
use crate::sql::{bind_args, push_in_list, Sql};
use crate::{Dialect, Result, StoreError};
use const_format::formatcp;
use domain::model::User;
use domain::offboarding::{MatterRef, ParticipationRef, PersonRef, PlaceRef, PlanFacts, PlanStatus};
use domain::{MatterRole, Millis, Side, UserId};

#[derive(sqlx::FromRow)]
struct MatterRow {
    id: String,
    name: String,
    number: String,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: String,
    name: String,
    level: Option<i64>,
    other: Option<String>,
    other_active: bool,
}

#[derive(sqlx::FromRow)]
struct ParticipationRow {
    id: String,
    name: String,
    number: String,
    role: String,
    receives_notifications: bool,
    sole: bool,
    sole_notified: bool,
}

statement!(
    COORDINATED = "SELECT o.id, o.name, NULL AS level, o.backup_coordinator_id AS other, COALESCE(u.active, FALSE) AS other_active \
    FROM offices o LEFT JOIN users u ON u.id = o.backup_coordinator_id WHERE o.coordinator_id = $1 ORDER BY o.name, o.id"
);
statement!(
    BACKED_UP = "SELECT o.id, o.name, NULL AS level, o.coordinator_id AS other, COALESCE(u.active, FALSE) AS other_active \
    FROM offices o LEFT JOIN users u ON u.id = o.coordinator_id WHERE o.backup_coordinator_id = $1 ORDER BY o.name, o.id"
);
statement!(
    PRIMARY = "SELECT r.id, r.name, l.position AS level, l.alternate_approver_id AS other, COALESCE(u.active, FALSE) AS other_active \
    FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id LEFT JOIN users u ON u.id = l.alternate_approver_id \
    WHERE l.primary_approver_id = $1 ORDER BY r.name, r.id, l.position"
);
statement!(
    ALTERNATE = "SELECT r.id, r.name, l.position AS level, l.primary_approver_id AS other, COALESCE(u.active, FALSE) AS other_active \
    FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id LEFT JOIN users u ON u.id = l.primary_approver_id \
    WHERE l.alternate_approver_id = $1 ORDER BY r.name, r.id, l.position"
);
statement!(
    ROUTE_DELEGATE = "SELECT r.id, r.name, d.position AS level, NULL AS other, FALSE AS other_active \
    FROM approval_route_delegates d JOIN approval_routes r ON r.id = d.route_id WHERE d.user_id = $1 ORDER BY r.name, r.id, d.position"
);
// A company user's participations in open matters they do not lead (those
// they lead are the lead items, whose successor becomes administrator).
statement!(
    COMPANY_PARTICIPATIONS = "SELECT m.id, m.name, m.number, p.role, p.receives_notifications, FALSE AS sole, FALSE AS sole_notified \
    FROM participants p JOIN matters m ON m.id = p.matter_id \
    WHERE p.user_id = $1 AND (m.open_for_editing OR m.open_for_invoicing) AND m.lead_company_person_id <> $1 ORDER BY m.name, m.id"
);

/// A stored plan of a scheduled deactivation (O3).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledDeactivation {
    pub user_id: String,
    pub effective_at: i64,
    pub successors_json: String,
    pub default_successor_id: Option<String>,
    #[sqlx(try_from = "crate::code::Code<PlanStatus>")]
    pub status: PlanStatus,
    pub failure: Option<String>,
    pub created_by_id: Option<String>,
    pub created_by_label: String,
    pub created_at: i64,
    pub reminded_at: Option<i64>,
    pub ran_at: Option<i64>,
}

const SCHEDULE_COLUMNS: &str =
    "user_id, effective_at, successors_json, default_successor_id, status, failure, created_by_id, created_by_label, \
    created_at, reminded_at, ran_at";
/// The start of a claim of one due plan (`claim_scheduled`).
const CLAIM: &str = formatcp!("SELECT {SCHEDULE_COLUMNS} FROM scheduled_deactivations WHERE status = 'scheduled' AND");
statement!(SCHEDULED_DEACTIVATION = formatcp!("SELECT {SCHEDULE_COLUMNS} FROM scheduled_deactivations WHERE user_id = $1"));

/// `what` is the kind of place the rows are (`office`, `route`), to name
/// a stored name the rule refuses.
fn places(what: &str, rows: Vec<PlaceRow>) -> Result<Vec<PlaceRef>> {
    rows.into_iter()
        .map(|r| {
            Ok(PlaceRef {
                name: stored_name(format_args!("{what} {}", r.id), "name", r.name)?,
                id: r.id,
                level: r.level,
                other: r.other.map(UserId::from),
                other_active: r.other_active,
            })
        })
        .collect()
}

fn people(users: Vec<User>) -> Vec<PersonRef> {
    users
        .into_iter()
        .map(|u| PersonRef {
            name: u.full_name(),
            id: u.id,
        })
        .collect()
}

impl Tx {
    /// O1: every responsibility of `user`, each kind from an index on the
    /// user's id.
    pub async fn offboarding_facts(&mut self, user: &User) -> Result<PlanFacts> {
        let id = user.id.as_str();
        let mut f = PlanFacts::default();
        if user.side == Side::Company {
            let rows: Vec<MatterRow> = fetch_all!(self, LED_OPEN, id)?;
            f.led_open_matters = rows
                .into_iter()
                .map(|r| {
                    Ok(MatterRef {
                        name: stored_name(format_args!("matter {}", r.id), "name", r.name)?,
                        id: r.id,
                        number: r.number,
                    })
                })
                .collect::<Result<_>>()?;
            for (stmt, what, into) in [
                (&COORDINATED, "office", &mut f.coordinated_offices),
                (&BACKED_UP, "office", &mut f.backup_offices),
                (&PRIMARY, "route", &mut f.primary_levels),
                (&ALTERNATE, "route", &mut f.alternate_levels),
            ] {
                let rows: Vec<PlaceRow> = fetch_all!(self, stmt, id)?;
                *into = places(what, rows)?;
            }
        }
        let rows: Vec<PlaceRow> = fetch_all!(self, ROUTE_DELEGATE, id)?;
        f.route_delegate_levels = places("route", rows)?;
        let rows: Vec<ParticipationRow> = match user.side {
            Side::Company => fetch_all!(self, COMPANY_PARTICIPATIONS, id)?,
            Side::Firm => {
                let firm = user.firm_id.as_ref().map(|f| f.as_str()).unwrap_or("");
                fetch_all!(self, FIRM_MATTERS, id, firm)?
            }
        };
        f.participations = rows
            .into_iter()
            .map(|r| {
                Ok(ParticipationRef {
                    role: MatterRole::parse(&r.role).map_err(|e| StoreError::Corrupt(e.message))?,
                    matter: MatterRef {
                        name: stored_name(format_args!("matter {}", r.id), "name", r.name)?,
                        id: r.id,
                        number: r.number,
                    },
                    receives_notifications: r.receives_notifications,
                    sole: r.sole,
                    sole_notified: r.sole_notified,
                })
            })
            .collect::<Result<_>>()?;
        f.delegates = people(self.delegates_of(&user.id).await?);
        f.delegators = people(self.delegators_of(&user.id).await?);
        f.tracker_coordinator = self.settings().await?.tracker_coordinator_id.as_ref() == Some(&user.id);
        Ok(f)
    }

    /// Makes `to` coordinator of `office` if `from` still is; `to` leaves
    /// the backup position if they held it. Whether it changed.
    pub async fn hand_over_coordinator(&mut self, office: &str, from: &UserId, to: &UserId, now: Millis) -> Result<bool> {
        statement!(
            HAND_OVER_COORDINATOR = "UPDATE offices SET coordinator_id = $3, \
            backup_coordinator_id = CASE WHEN backup_coordinator_id = $3 THEN NULL ELSE backup_coordinator_id END, updated_at = $4 \
            WHERE id = $1 AND coordinator_id = $2"
        );
        let n = exec!(self, HAND_OVER_COORDINATOR, office, from.as_str(), to.as_str(), now)?;
        Ok(n > 0)
    }

    /// Gives `office`'s backup position to `to`, or leaves it empty, if
    /// `from` still holds it and `to` is not the coordinator.
    pub async fn hand_over_backup(&mut self, office: &str, from: &UserId, to: Option<&UserId>, now: Millis) -> Result<bool> {
        statement!(
            HAND_OVER_BACKUP = "UPDATE offices SET backup_coordinator_id = $3, updated_at = $4 \
            WHERE id = $1 AND backup_coordinator_id = $2 AND (CAST($3 AS TEXT) IS NULL OR coordinator_id IS NULL OR coordinator_id <> $3)"
        );
        let n = exec!(self, HAND_OVER_BACKUP, office, from.as_str(), to.map(|u| u.as_str()), now)?;
        Ok(n > 0)
    }

    /// Makes `to` primary approver of a level `from` still holds; `to`
    /// leaves the alternate position of that level if they held it.
    pub async fn hand_over_primary(&mut self, route: &str, level: i64, from: &UserId, to: &UserId, now: Millis) -> Result<bool> {
        statement!(
            HAND_OVER_PRIMARY = "UPDATE approval_route_levels SET primary_approver_id = $4, \
            alternate_approver_id = CASE WHEN alternate_approver_id = $4 THEN NULL ELSE alternate_approver_id END \
            WHERE route_id = $1 AND position = $2 AND primary_approver_id = $3"
        );
        let n = exec!(self, HAND_OVER_PRIMARY, route, level, from.as_str(), to.as_str())?;
        self.touch_route(route, n, now).await
    }

    /// Gives a level's alternate position to `to`, or leaves it empty.
    pub async fn hand_over_alternate(&mut self, route: &str, level: i64, from: &UserId, to: Option<&UserId>, now: Millis) -> Result<bool> {
        statement!(
            HAND_OVER_ALTERNATE = "UPDATE approval_route_levels SET alternate_approver_id = $4 \
            WHERE route_id = $1 AND position = $2 AND alternate_approver_id = $3 AND (CAST($4 AS TEXT) IS NULL OR primary_approver_id <> $4)"
        );
        let n = exec!(self, HAND_OVER_ALTERNATE, route, level, from.as_str(), to.map(|u| u.as_str()))?;
        self.touch_route(route, n, now).await
    }

    /// Replaces `from` by `to` among a level's delegates.
    pub async fn hand_over_route_delegate(&mut self, route: &str, level: i64, from: &UserId, to: &UserId, now: Millis) -> Result<bool> {
        statement!(REMOVE_ROUTE_DELEGATE = "DELETE FROM approval_route_delegates WHERE route_id = $1 AND position = $2 AND user_id = $3");
        let n = exec!(self, REMOVE_ROUTE_DELEGATE, route, level, from.as_str())?;
        if n > 0 {
            statement!(
                ADD_ROUTE_DELEGATE =
                    "INSERT INTO approval_route_delegates (route_id, position, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
            );
            exec!(self, ADD_ROUTE_DELEGATE, route, level, to.as_str())?;
        }
        self.touch_route(route, n, now).await
    }

    async fn touch_route(&mut self, route: &str, changed: u64, now: Millis) -> Result<bool> {
        if changed > 0 {
            statement!(TOUCH_ROUTE = "UPDATE approval_routes SET updated_at = $2 WHERE id = $1");
            exec!(self, TOUCH_ROUTE, route, now)?;
        }
        Ok(changed > 0)
    }

    /// Adds `to` to each of `matters` where `from` takes part, with
    /// `from`'s role and notification flag; where `to` already takes part
    /// their own role stays. Set-based, a statement per thousand matters.
    /// Returns the matters `to` joined.
    pub async fn add_successor_participations(
        &mut self,
        from: &UserId,
        to: &UserId,
        matters: &[String],
        now: Millis,
    ) -> Result<Vec<String>> {
        let mut added = Vec::new();
        for chunk in matters.chunks(1000) {
            let mut sql =
                Sql::new("INSERT INTO participants (matter_id, user_id, role, receives_notifications, added_at) SELECT matter_id, ");
            sql.text(to.as_str())
                .push(", role, receives_notifications, ")
                .int(now)
                .push(" FROM participants WHERE user_id = ")
                .text(from.as_str());
            push_in_list(&mut sql, " AND matter_id", chunk.iter().map(String::as_str));
            sql.push(" ON CONFLICT (matter_id, user_id) DO NOTHING RETURNING matter_id");
            let ids: Vec<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
                .fetch_all(c)
                .await)?;
            added.extend(ids);
        }
        Ok(added)
    }

    /// Adds one delegation unless it exists. Whether it was added.
    pub async fn add_delegation(&mut self, delegator: &UserId, delegate: &UserId, now: Millis) -> Result<bool> {
        statement!(
            ADD_DELEGATION = "INSERT INTO delegations (delegator_id, delegate_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        );
        let n = exec!(self, ADD_DELEGATION, delegator.as_str(), delegate.as_str(), now)?;
        Ok(n > 0)
    }

    pub async fn count_delegates(&mut self, delegator: &UserId) -> Result<i64> {
        statement!(COUNT_DELEGATES = "SELECT COUNT(*) FROM delegations WHERE delegator_id = $1");
        Ok(scalar_one!(self, COUNT_DELEGATES, delegator.as_str())?)
    }

    /// Makes `to` the Tracker Coordinator if `from` still is.
    pub async fn hand_over_tracker_coordinator(&mut self, from: &UserId, to: &UserId, now: Millis) -> Result<bool> {
        statement!(
            HAND_OVER_TRACKER_COORDINATOR =
                "UPDATE settings SET tracker_coordinator_id = $2, updated_at = $3 WHERE id = 1 AND tracker_coordinator_id = $1"
        );
        let n = exec!(self, HAND_OVER_TRACKER_COORDINATOR, from.as_str(), to.as_str(), now)?;
        Ok(n > 0)
    }

    /// Lock order of an offboarding on PostgreSQL, after its users: the
    /// offices and the routes where `user` holds a position, each in id
    /// order, before any of them changes. An office or route edit locks
    /// its users, then its one row, so the two cannot wait on each other
    /// crosswise; two offboardings take shared rows in the same order.
    pub async fn lock_positions_of(&mut self, user: &UserId) -> Result<()> {
        if self.dialect() != Dialect::Postgres {
            return Ok(());
        }
        statement!(postgres LOCK_OFFICES_OF = "SELECT id FROM offices WHERE id IN (SELECT id FROM offices WHERE coordinator_id = $1 \
            UNION SELECT id FROM offices WHERE backup_coordinator_id = $1) ORDER BY id FOR NO KEY UPDATE");
        statement!(postgres LOCK_ROUTES_OF = "SELECT id FROM approval_routes WHERE id IN (SELECT route_id FROM approval_route_levels WHERE primary_approver_id = $1 \
            UNION SELECT route_id FROM approval_route_levels WHERE alternate_approver_id = $1 \
            UNION SELECT route_id FROM approval_route_delegates WHERE user_id = $1) ORDER BY id FOR NO KEY UPDATE");
        // Every row is read (not only the first), so every one is locked.
        on!(self, |c| sqlx::query(LOCK_OFFICES_OF.sql)
            .bind(user.as_str())
            .fetch_all(c)
            .await
            .map(|_| ()))?;
        on!(self, |c| sqlx::query(LOCK_ROUTES_OF.sql)
            .bind(user.as_str())
            .fetch_all(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// O3: stores (or replaces) the plan of a scheduled deactivation.
    pub async fn schedule_deactivation(&mut self, s: &ScheduledDeactivation) -> Result<()> {
        statement!(SCHEDULE_DEACTIVATION = "INSERT INTO scheduled_deactivations (user_id, effective_at, successors_json, default_successor_id, status, failure, \
            created_by_id, created_by_label, created_at, reminded_at, ran_at) VALUES ($1, $2, $3, $4, 'scheduled', NULL, $5, $6, $7, NULL, NULL) \
            ON CONFLICT (user_id) DO UPDATE SET effective_at = excluded.effective_at, successors_json = excluded.successors_json, \
            default_successor_id = excluded.default_successor_id, status = 'scheduled', failure = NULL, created_by_id = excluded.created_by_id, \
            created_by_label = excluded.created_by_label, created_at = excluded.created_at, reminded_at = NULL, ran_at = NULL");
        exec!(
            self,
            SCHEDULE_DEACTIVATION,
            &s.user_id,
            s.effective_at,
            &s.successors_json,
            s.default_successor_id.as_deref(),
            s.created_by_id.as_deref(),
            &s.created_by_label,
            s.created_at
        )?;
        Ok(())
    }

    /// The stored plan of `user`, locked on PostgreSQL until the
    /// transaction ends. Lock order: the plan, then the user.
    pub async fn scheduled_deactivation_for_update(&mut self, user: &UserId) -> Result<Option<ScheduledDeactivation>> {
        statement!(postgres SCHEDULED_DEACTIVATION_FOR_UPDATE = formatcp!("SELECT {SCHEDULE_COLUMNS} FROM scheduled_deactivations WHERE user_id = $1 FOR UPDATE"));
        let stmt = match self.dialect() {
            Dialect::Sqlite => &SCHEDULED_DEACTIVATION,
            Dialect::Postgres => &SCHEDULED_DEACTIVATION_FOR_UPDATE,
        };
        Ok(fetch_optional!(self, stmt, user.as_str())?)
    }

    pub async fn scheduled_deactivation(&mut self, user: &UserId) -> Result<Option<ScheduledDeactivation>> {
        Ok(fetch_optional!(self, SCHEDULED_DEACTIVATION, user.as_str())?)
    }

    pub async fn delete_scheduled_deactivation(&mut self, user: &UserId) -> Result<bool> {
        statement!(DELETE_SCHEDULED_DEACTIVATION = "DELETE FROM scheduled_deactivations WHERE user_id = $1");
        let n = exec!(self, DELETE_SCHEDULED_DEACTIVATION, user.as_str())?;
        Ok(n > 0)
    }

    /// Every stored plan, still scheduled or not carried out, soonest first.
    pub async fn list_scheduled_deactivations(&mut self) -> Result<Vec<ScheduledDeactivation>> {
        statement!(LIST_SCHEDULED_DEACTIVATIONS = formatcp!("SELECT {SCHEDULE_COLUMNS} FROM scheduled_deactivations WHERE status IN ('scheduled', 'failed') ORDER BY effective_at, user_id"));
        Ok(fetch_all!(self, LIST_SCHEDULED_DEACTIVATIONS)?)
    }

    /// The leaving dates of those of `users` with a scheduled deactivation.
    pub async fn leaving_dates(&mut self, users: &[UserId]) -> Result<Vec<(String, i64)>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT user_id, effective_at FROM scheduled_deactivations WHERE status = 'scheduled' AND");
        push_in_list(&mut sql, " user_id", users.iter().map(|u| u.as_str()));
        Ok(on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone())
            .fetch_all(c)
            .await)?)
    }

    /// O3: claims one plan due at `now` (its row stays locked until the
    /// transaction ends). Exactly once across processes: PostgreSQL skips
    /// a plan another process is running, and a run that commits leaves it
    /// `done` or `failed`; SQLite serialises writers.
    pub async fn claim_due_deactivation(&mut self, now: Millis) -> Result<Option<ScheduledDeactivation>> {
        statement!(sqlite CLAIM_DUE = formatcp!("{CLAIM} effective_at <= $1 ORDER BY effective_at LIMIT 1"));
        statement!(postgres CLAIM_DUE_SKIP_LOCKED = formatcp!("{CLAIM} effective_at <= $1 ORDER BY effective_at LIMIT 1 FOR UPDATE SKIP LOCKED"));
        self.claim_scheduled([&CLAIM_DUE, &CLAIM_DUE_SKIP_LOCKED], now).await
    }

    /// O3: claims one plan whose reminder is due (`effective_at` within
    /// `ahead_ms` of `now`, not reminded yet).
    pub async fn claim_reminder(&mut self, now: Millis, ahead_ms: i64) -> Result<Option<ScheduledDeactivation>> {
        statement!(sqlite CLAIM_REMINDER = formatcp!("{CLAIM} reminded_at IS NULL AND effective_at <= $1 ORDER BY effective_at LIMIT 1"));
        statement!(postgres CLAIM_REMINDER_SKIP_LOCKED = formatcp!(
            "{CLAIM} reminded_at IS NULL AND effective_at <= $1 ORDER BY effective_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        ));
        self.claim_scheduled([&CLAIM_REMINDER, &CLAIM_REMINDER_SKIP_LOCKED], now.saturating_add(ahead_ms))
            .await
    }

    /// Runs the SQLite or the PostgreSQL form of a claim (the latter skips
    /// plans another process holds).
    async fn claim_scheduled(&mut self, [sqlite, postgres]: [&Stmt; 2], bound: Millis) -> Result<Option<ScheduledDeactivation>> {
        let stmt = match self.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        };
        Ok(fetch_optional!(self, stmt, bound)?)
    }

    /// Records the outcome of a run: `done`, or `failed` with why.
    pub async fn finish_scheduled_deactivation(&mut self, user: &UserId, failure: Option<&str>, now: Millis) -> Result<()> {
        let status = if failure.is_some() { PlanStatus::Failed } else { PlanStatus::Done }.as_str();
        statement!(
            FINISH_SCHEDULED_DEACTIVATION = "UPDATE scheduled_deactivations SET status = $2, failure = $3, ran_at = $4 WHERE user_id = $1"
        );
        exec!(self, FINISH_SCHEDULED_DEACTIVATION, user.as_str(), status, failure, now)?;
        Ok(())
    }

    pub async fn mark_reminded(&mut self, user: &UserId, now: Millis) -> Result<()> {
        statement!(MARK_REMINDED = "UPDATE scheduled_deactivations SET reminded_at = $2 WHERE user_id = $1");
        exec!(self, MARK_REMINDED, user.as_str(), now)?;
        Ok(())
    }

    /// O3: how many days before a scheduled deactivation the
    /// administrators are reminded of blocking items without a successor.
    pub async fn offboarding_reminder_days(&mut self) -> Result<i64> {
        statement!(OFFBOARDING_REMINDER_DAYS = "SELECT offboarding_reminder_days FROM settings WHERE id = 1");
        Ok(scalar_one!(self, OFFBOARDING_REMINDER_DAYS)?)
    }

    /// The active company system administrators, to tell about a plan.
    pub async fn active_system_administrators(&mut self) -> Result<Vec<User>> {
        statement!(ACTIVE_SYSTEM_ADMINISTRATORS = formatcp!(
            "SELECT {} FROM users u WHERE u.side = 'company' AND u.active = TRUE AND u.role = 'company_system_administrator' ORDER BY u.id LIMIT 100",
            crate::users::USER_COLUMNS
        ));
        let rows: Vec<crate::users::UserRow> = fetch_all!(self, ACTIVE_SYSTEM_ADMINISTRATORS)?;
        crate::users::users_from(rows)
    }
}
