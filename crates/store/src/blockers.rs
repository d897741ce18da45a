//! D3/D4 facts. Each query starts from an index on the user's id (open
//! matters by lead, offices by coordinator, route levels by approver,
//! participations by user), so its cost follows what involves the user, not
//! the size of the tables.

use crate::db::{fetch_all, on, statement, stored_name, Tx};
use crate::{Dialect, Result};
use domain::deactivation::{BlockingObject, Facts};
use domain::model::User;
use domain::Side;

#[derive(sqlx::FromRow)]
struct MatterRef {
    id: String,
    name: String,
    number: String,
}

#[derive(sqlx::FromRow)]
struct FirmMatterRef {
    id: String,
    name: String,
    number: String,
    sole: bool,
    sole_notified: bool,
}

#[derive(sqlx::FromRow)]
struct OfficeRef {
    id: String,
    name: String,
    active: bool,
}

#[derive(sqlx::FromRow)]
struct LevelRef {
    id: String,
    name: String,
    active: bool,
    position: i64,
}

fn matter(id: String, name: String, number: String) -> Result<BlockingObject> {
    Ok(BlockingObject::Matter {
        name: stored_name(format_args!("matter {id}"), "name", name)?,
        id,
        number,
    })
}
fn matters(rows: Vec<MatterRef>) -> Result<Vec<BlockingObject>> {
    rows.into_iter().map(|r| matter(r.id, r.name, r.number)).collect()
}
fn offices(rows: Vec<OfficeRef>) -> Result<Vec<BlockingObject>> {
    rows.into_iter()
        .map(|r| {
            Ok(BlockingObject::Office {
                name: stored_name(format_args!("office {}", r.id), "name", r.name)?,
                id: r.id,
                active: r.active,
            })
        })
        .collect()
}
fn levels(rows: Vec<LevelRef>) -> Result<Vec<BlockingObject>> {
    rows.into_iter()
        .map(|r| {
            Ok(BlockingObject::Route {
                name: stored_name(format_args!("route {}", r.id), "name", r.name)?,
                id: r.id,
                active: r.active,
                level: r.position,
            })
        })
        .collect()
}

// D3: open matters led by `$1`.
statement!(pub(crate) LED_OPEN = "SELECT id, name, number FROM matters WHERE lead_company_person_id = $1 AND (open_for_editing OR open_for_invoicing) ORDER BY name, id");
// D3: offices, active or not, coordinated by `$1`.
statement!(COORDINATED = "SELECT id, name, active FROM offices WHERE coordinator_id = $1 ORDER BY name, id");
// D3: offices, active or not, with `$1` as backup coordinator.
statement!(BACKED_UP = "SELECT id, name, active FROM offices WHERE backup_coordinator_id = $1 ORDER BY name, id");
// D3: levels of routes, active or not, with `$1` as primary approver.
statement!(
    PRIMARY = "SELECT r.id, r.name, r.active, l.position FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id \
    WHERE l.primary_approver_id = $1 ORDER BY r.name, r.id, l.position"
);
// D3: levels of routes, active or not, with `$1` as alternate approver.
statement!(
    ALTERNATE = "SELECT r.id, r.name, r.active, l.position FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id \
    WHERE l.alternate_approver_id = $1 ORDER BY r.name, r.id, l.position"
);
// D4: every open matter where `$1` takes part, with whether no other
// active user of firm `$2` takes part (`sole`), and whether `$1` receives
// its notifications and no other active user of the firm does
// (`sole_notified`). Colleagues are found from the matter's own
// participants (primary key by matter) and each looked up by id, so the
// cost follows the user's matters and their participants, never the size
// of the firm: the nested `EXISTS` keeps the planner from starting at "all
// active users of the firm" (with a join there, SQLite did, once per
// matter). The second look is only taken for a user who is notified.
statement!(pub(crate) FIRM_MATTERS = "SELECT m.id, m.name, m.number, p.role, p.receives_notifications, \
    NOT EXISTS (SELECT 1 FROM participants p2 WHERE p2.matter_id = p.matter_id AND p2.user_id <> $1 \
        AND EXISTS (SELECT 1 FROM users u2 WHERE u2.id = p2.user_id AND u2.active = TRUE AND u2.firm_id = $2)) AS sole, \
    CASE WHEN p.receives_notifications = TRUE THEN NOT EXISTS (SELECT 1 FROM participants p3 \
        WHERE p3.matter_id = p.matter_id AND p3.user_id <> $1 AND p3.receives_notifications = TRUE \
        AND EXISTS (SELECT 1 FROM users u3 WHERE u3.id = p3.user_id AND u3.active = TRUE AND u3.firm_id = $2)) \
    ELSE FALSE END AS sole_notified \
    FROM participants p JOIN matters m ON m.id = p.matter_id \
    WHERE p.user_id = $1 AND (m.open_for_editing OR m.open_for_invoicing) \
    ORDER BY m.name, m.id");

impl Tx {
    /// Every statement [`Tx::deactivation_facts`] runs, by name, with the
    /// side they run for: `$1` is the user's id, `$2` their firm's id. For plans and benchmarks (the check must stay
    /// index-backed, D5).
    pub const DEACTIVATION_FACT_QUERIES: &'static [(&'static str, Side, &'static str)] = &[
        ("led_open_matters", Side::Company, LED_OPEN.sql),
        ("coordinated_offices", Side::Company, COORDINATED.sql),
        ("backup_offices", Side::Company, BACKED_UP.sql),
        ("primary_levels", Side::Company, PRIMARY.sql),
        ("alternate_levels", Side::Company, ALTERNATE.sql),
        ("firm_matters", Side::Firm, FIRM_MATTERS.sql),
    ];

    /// Takes, in a write transaction, the lock that makes a deactivation's
    /// verdict hold until commit even where it rests on other users' rows.
    ///
    /// D3's facts all name the user, and every change that could add one
    /// (lead, coordinator, approver) locks the user's row, which the caller
    /// of a deactivation holds already. D4's facts depend on the *other*
    /// users of the firm: two firm colleagues alone on a matter, deactivated
    /// at the same time, would each see the other still active and both
    /// succeed (write skew under PostgreSQL's READ COMMITTED). Deactivations
    /// of a firm's users therefore queue on the firm's row. SQLite's single
    /// writer already serialises them. Lock order: the user, then the firm.
    pub async fn lock_for_deactivation(&mut self, user: &User) -> Result<()> {
        if let (Side::Firm, Some(firm), Dialect::Postgres) = (user.side, user.firm_id.as_ref(), self.dialect()) {
            statement!(postgres LOCK_FIRM = "SELECT id FROM firms WHERE id = $1 FOR NO KEY UPDATE");
            on!(self, |c| sqlx::query(LOCK_FIRM.sql)
                .bind(firm.as_str())
                .fetch_optional(c)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    /// Everything that D3 and D4 weigh for deactivating `user`.
    pub async fn deactivation_facts(&mut self, user: &User) -> Result<Facts> {
        let id = user.id.as_str();
        let mut f = Facts::default();
        match user.side {
            Side::Company => {
                let rows: Vec<MatterRef> = fetch_all!(self, LED_OPEN, id)?;
                f.led_open_matters = matters(rows)?;
                let rows: Vec<OfficeRef> = fetch_all!(self, COORDINATED, id)?;
                f.coordinated_offices = offices(rows)?;
                let rows: Vec<OfficeRef> = fetch_all!(self, BACKED_UP, id)?;
                f.backup_offices = offices(rows)?;
                let rows: Vec<LevelRef> = fetch_all!(self, PRIMARY, id)?;
                f.primary_levels = levels(rows)?;
                let rows: Vec<LevelRef> = fetch_all!(self, ALTERNATE, id)?;
                f.alternate_levels = levels(rows)?;
            }
            Side::Firm => {
                let firm = user.firm_id.as_ref().map(|f| f.as_str()).unwrap_or("");
                let rows: Vec<FirmMatterRef> = fetch_all!(self, FIRM_MATTERS, id, firm)?;
                for r in rows {
                    let on = matter(r.id, r.name, r.number)?;
                    if r.sole_notified {
                        f.sole_notified_matters.push(on.clone());
                    }
                    if r.sole {
                        f.sole_firm_matters.push(on);
                    }
                }
            }
        }
        Ok(f)
    }
}
