//! D3/D4 facts. Each query starts from an index on the user's id (open
//! matters by lead, offices by coordinator, route levels by approver,
//! participations by user), so its cost follows what involves the user, not
//! the size of the tables.

use crate::db::{on, Tx};
use crate::Result;
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

fn matters(rows: Vec<MatterRef>) -> Vec<BlockingObject> {
    rows.into_iter().map(|r| BlockingObject::Matter { id: r.id, name: r.name, number: r.number }).collect()
}
fn offices(rows: Vec<OfficeRef>) -> Vec<BlockingObject> {
    rows.into_iter().map(|r| BlockingObject::Office { id: r.id, name: r.name, active: r.active }).collect()
}
fn levels(rows: Vec<LevelRef>) -> Vec<BlockingObject> {
    rows.into_iter().map(|r| BlockingObject::Route { id: r.id, name: r.name, active: r.active, level: r.position }).collect()
}

/// Open matters where `$1` takes part and no other active user of firm `$2`
/// does (with `$3` set, counting only those receiving notifications).
const SOLE_FIRM: &str = "SELECT m.id, m.name, m.number FROM participants p JOIN matters m ON m.id = p.matter_id \
    WHERE p.user_id = $1 AND (m.open_for_editing OR m.open_for_invoicing) \
    AND ($3 = FALSE OR p.receives_notifications = TRUE) \
    AND NOT EXISTS (SELECT 1 FROM participants p2 JOIN users u2 ON u2.id = p2.user_id \
        WHERE p2.matter_id = p.matter_id AND p2.user_id <> $1 AND u2.active = TRUE AND u2.firm_id = $2 \
        AND ($3 = FALSE OR p2.receives_notifications = TRUE)) \
    ORDER BY m.name, m.id";

impl Tx {
    /// Everything that D3 and D4 weigh for deactivating `user`.
    pub async fn deactivation_facts(&mut self, user: &User) -> Result<Facts> {
        let id = user.id.as_str();
        let mut f = Facts::default();
        match user.side {
            Side::Company => {
                let rows: Vec<MatterRef> = on!(self, c => sqlx::query_as(
                    "SELECT id, name, number FROM matters WHERE lead_company_person_id = $1 AND (open_for_editing OR open_for_invoicing) ORDER BY name, id")
                    .bind(id).fetch_all(c).await)?;
                f.led_open_matters = matters(rows);
                let rows: Vec<OfficeRef> = on!(self, c => sqlx::query_as("SELECT id, name, active FROM offices WHERE coordinator_id = $1 ORDER BY name, id")
                    .bind(id).fetch_all(c).await)?;
                f.coordinated_offices = offices(rows);
                let rows: Vec<OfficeRef> = on!(self, c => sqlx::query_as("SELECT id, name, active FROM offices WHERE backup_coordinator_id = $1 ORDER BY name, id")
                    .bind(id).fetch_all(c).await)?;
                f.backup_offices = offices(rows);
                let rows: Vec<LevelRef> = on!(self, c => sqlx::query_as(
                    "SELECT r.id, r.name, r.active, l.position FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id \
                     WHERE l.primary_approver_id = $1 ORDER BY r.name, r.id, l.position")
                    .bind(id).fetch_all(c).await)?;
                f.primary_levels = levels(rows);
                let rows: Vec<LevelRef> = on!(self, c => sqlx::query_as(
                    "SELECT r.id, r.name, r.active, l.position FROM approval_route_levels l JOIN approval_routes r ON r.id = l.route_id \
                     WHERE l.alternate_approver_id = $1 ORDER BY r.name, r.id, l.position")
                    .bind(id).fetch_all(c).await)?;
                f.alternate_levels = levels(rows);
            }
            Side::Firm => {
                let firm = user.firm_id.as_ref().map(|f| f.as_str()).unwrap_or("");
                let rows: Vec<MatterRef> = on!(self, c => sqlx::query_as(SOLE_FIRM).bind(id).bind(firm).bind(false).fetch_all(c).await)?;
                f.sole_firm_matters = matters(rows);
                let rows: Vec<MatterRef> = on!(self, c => sqlx::query_as(SOLE_FIRM).bind(id).bind(firm).bind(true).fetch_all(c).await)?;
                f.sole_notified_matters = matters(rows);
            }
        }
        Ok(f)
    }
}
