//! Firms and offices/regions.

use crate::db::{on, Tx};
use crate::Result;
use domain::model::{Firm, Office};
use domain::text::fold;
use domain::{FirmId, OfficeId, UserId};

#[derive(sqlx::FromRow)]
struct FirmRow {
    id: String,
    name: String,
    active: bool,
    created_at: i64,
}

impl From<FirmRow> for Firm {
    fn from(r: FirmRow) -> Self {
        Firm {
            id: r.id.into(),
            name: r.name,
            active: r.active,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct OfficeRow {
    id: String,
    name: String,
    active: bool,
    coordinator_id: Option<String>,
    backup_coordinator_id: Option<String>,
    created_at: i64,
}

impl From<OfficeRow> for Office {
    fn from(r: OfficeRow) -> Self {
        Office {
            id: r.id.into(),
            name: r.name,
            active: r.active,
            coordinator_id: r.coordinator_id.map(UserId::from),
            backup_coordinator_id: r.backup_coordinator_id.map(UserId::from),
            created_at: r.created_at,
        }
    }
}

const OFFICE_COLUMNS: &str = "id, name, active, coordinator_id, backup_coordinator_id, created_at";

impl Tx {
    pub async fn insert_firm(&mut self, f: &Firm) -> Result<()> {
        on!(self, c => sqlx::query("INSERT INTO firms (id, name, name_norm, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(f.id.as_str()).bind(&f.name).bind(fold(&f.name)).bind(f.active).bind(f.created_at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn update_firm(&mut self, f: &Firm, now: i64) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE firms SET name = $2, name_norm = $3, active = $4, updated_at = $5 WHERE id = $1")
            .bind(f.id.as_str()).bind(&f.name).bind(fold(&f.name)).bind(f.active).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn firm(&mut self, id: &FirmId) -> Result<Option<Firm>> {
        let row: Option<FirmRow> = on!(self, c => sqlx::query_as("SELECT id, name, active, created_at FROM firms WHERE id = $1")
            .bind(id.as_str()).fetch_optional(c).await)?;
        Ok(row.map(Firm::from))
    }

    pub async fn firm_name_taken(&mut self, name: &str, except: Option<&FirmId>) -> Result<bool> {
        let n: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM firms WHERE name_norm = $1 AND id <> $2")
            .bind(fold(name)).bind(except.map(|f| f.as_str()).unwrap_or("")).fetch_one(c).await)?;
        Ok(n > 0)
    }

    /// Firms by name; `only` restricts to one firm (a firm administrator's view).
    pub async fn list_firms(&mut self, only: Option<&FirmId>, limit: i64, offset: i64) -> Result<(Vec<Firm>, i64)> {
        let only = only.map(|f| f.as_str().to_owned());
        let total: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM firms WHERE ($1 IS NULL OR id = $1)")
            .bind(only.clone()).fetch_one(c).await)?;
        let rows: Vec<FirmRow> = on!(self, c => sqlx::query_as(
            "SELECT id, name, active, created_at FROM firms WHERE ($1 IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3")
            .bind(only.clone()).bind(limit).bind(offset).fetch_all(c).await)?;
        Ok((rows.into_iter().map(Firm::from).collect(), total))
    }

    pub async fn insert_office(&mut self, o: &Office) -> Result<()> {
        on!(self, c => sqlx::query("INSERT INTO offices (id, name, name_norm, active, coordinator_id, backup_coordinator_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(o.id.as_str()).bind(&o.name).bind(fold(&o.name)).bind(o.active)
            .bind(o.coordinator_id.as_ref().map(|u| u.as_str())).bind(o.backup_coordinator_id.as_ref().map(|u| u.as_str()))
            .bind(o.created_at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn update_office(&mut self, o: &Office, now: i64) -> Result<()> {
        on!(self, c => sqlx::query("UPDATE offices SET name = $2, name_norm = $3, active = $4, coordinator_id = $5, backup_coordinator_id = $6, updated_at = $7 WHERE id = $1")
            .bind(o.id.as_str()).bind(&o.name).bind(fold(&o.name)).bind(o.active)
            .bind(o.coordinator_id.as_ref().map(|u| u.as_str())).bind(o.backup_coordinator_id.as_ref().map(|u| u.as_str()))
            .bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn office(&mut self, id: &OfficeId) -> Result<Option<Office>> {
        let sql = format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE id = $1");
        let row: Option<OfficeRow> = on!(self, c => sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(c).await)?;
        Ok(row.map(Office::from))
    }

    /// The office with this name (without regard to case), for SCIM's
    /// `department` (DIR1).
    pub async fn office_by_name(&mut self, name: &str) -> Result<Option<Office>> {
        let sql = format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE name_norm = $1");
        let row: Option<OfficeRow> = on!(self, c => sqlx::query_as(&sql).bind(fold(name)).fetch_optional(c).await)?;
        Ok(row.map(Office::from))
    }

    /// [`Tx::office`] with the row locked on PostgreSQL until the
    /// transaction ends, for a change that writes the office back (S9).
    pub async fn office_for_update(&mut self, id: &OfficeId) -> Result<Option<Office>> {
        let lock = match self.dialect() {
            crate::Dialect::Sqlite => "",
            crate::Dialect::Postgres => " FOR NO KEY UPDATE",
        };
        let sql = format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE id = $1{lock}");
        let row: Option<OfficeRow> = on!(self, c => sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(c).await)?;
        Ok(row.map(Office::from))
    }

    pub async fn office_name_taken(&mut self, name: &str, except: Option<&OfficeId>) -> Result<bool> {
        let n: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM offices WHERE name_norm = $1 AND id <> $2")
            .bind(fold(name)).bind(except.map(|o| o.as_str()).unwrap_or("")).fetch_one(c).await)?;
        Ok(n > 0)
    }

    pub async fn list_offices(&mut self, only: Option<&OfficeId>, limit: i64, offset: i64) -> Result<(Vec<Office>, i64)> {
        let only = only.map(|o| o.as_str().to_owned());
        let total: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM offices WHERE ($1 IS NULL OR id = $1)")
            .bind(only.clone()).fetch_one(c).await)?;
        let sql = format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE ($1 IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3");
        let rows: Vec<OfficeRow> = on!(self, c => sqlx::query_as(&sql).bind(only.clone()).bind(limit).bind(offset).fetch_all(c).await)?;
        Ok((rows.into_iter().map(Office::from).collect(), total))
    }

    /// D3: offices, active or inactive, where the user is coordinator or backup.
    pub async fn offices_coordinated_by(&mut self, user: &UserId) -> Result<Vec<Office>> {
        let sql = format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE coordinator_id = $1 UNION SELECT {OFFICE_COLUMNS} FROM offices WHERE backup_coordinator_id = $1 ORDER BY name");
        let rows: Vec<OfficeRow> = on!(self, c => sqlx::query_as(&sql).bind(user.as_str()).fetch_all(c).await)?;
        Ok(rows.into_iter().map(Office::from).collect())
    }
}
