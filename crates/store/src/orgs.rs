//! Firms and offices/regions.

use crate::db::{exec, fetch_all, fetch_optional, scalar_one, statement, Tx};
use crate::Result;
use const_format::formatcp;
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
statement!(OFFICE = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE id = $1"));

impl Tx {
    pub async fn insert_firm(&mut self, f: &Firm) -> Result<()> {
        statement!(INSERT_FIRM = "INSERT INTO firms (id, name, name_norm, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)");
        exec!(self, INSERT_FIRM, f.id.as_str(), &f.name, fold(&f.name), f.active, f.created_at)?;
        Ok(())
    }

    pub async fn update_firm(&mut self, f: &Firm, now: i64) -> Result<()> {
        statement!(UPDATE_FIRM = "UPDATE firms SET name = $2, name_norm = $3, active = $4, updated_at = $5 WHERE id = $1");
        exec!(self, UPDATE_FIRM, f.id.as_str(), &f.name, fold(&f.name), f.active, now)?;
        Ok(())
    }

    pub async fn firm(&mut self, id: &FirmId) -> Result<Option<Firm>> {
        statement!(FIRM = "SELECT id, name, active, created_at FROM firms WHERE id = $1");
        let row: Option<FirmRow> = fetch_optional!(self, FIRM, id.as_str())?;
        Ok(row.map(Firm::from))
    }

    pub async fn firm_name_taken(&mut self, name: &str, except: Option<&FirmId>) -> Result<bool> {
        statement!(FIRM_NAME_TAKEN = "SELECT COUNT(*) FROM firms WHERE name_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(self, FIRM_NAME_TAKEN, fold(name), except.map(|f| f.as_str()).unwrap_or(""))?;
        Ok(n > 0)
    }

    /// Firms by name; `only` restricts to one firm (a firm administrator's view).
    pub async fn list_firms(&mut self, only: Option<&FirmId>, limit: i64, offset: i64) -> Result<(Vec<Firm>, i64)> {
        let only = only.map(|f| f.as_str().to_owned());
        statement!(COUNT_FIRMS = "SELECT COUNT(*) FROM firms WHERE (CAST($1 AS TEXT) IS NULL OR id = $1)");
        let total: i64 = scalar_one!(self, COUNT_FIRMS, only.clone())?;
        statement!(
            FIRMS_PAGE =
                "SELECT id, name, active, created_at FROM firms WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3"
        );
        let rows: Vec<FirmRow> = fetch_all!(self, FIRMS_PAGE, only.clone(), limit, offset)?;
        Ok((rows.into_iter().map(Firm::from).collect(), total))
    }

    pub async fn insert_office(&mut self, o: &Office) -> Result<()> {
        statement!(
            INSERT_OFFICE =
                "INSERT INTO offices (id, name, name_norm, active, coordinator_id, backup_coordinator_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        );
        exec!(
            self,
            INSERT_OFFICE,
            o.id.as_str(),
            &o.name,
            fold(&o.name),
            o.active,
            o.coordinator_id.as_ref().map(|u| u.as_str()),
            o.backup_coordinator_id.as_ref().map(|u| u.as_str()),
            o.created_at
        )?;
        Ok(())
    }

    pub async fn update_office(&mut self, o: &Office, now: i64) -> Result<()> {
        statement!(UPDATE_OFFICE = "UPDATE offices SET name = $2, name_norm = $3, active = $4, coordinator_id = $5, backup_coordinator_id = $6, updated_at = $7 WHERE id = $1");
        exec!(
            self,
            UPDATE_OFFICE,
            o.id.as_str(),
            &o.name,
            fold(&o.name),
            o.active,
            o.coordinator_id.as_ref().map(|u| u.as_str()),
            o.backup_coordinator_id.as_ref().map(|u| u.as_str()),
            now
        )?;
        Ok(())
    }

    pub async fn office(&mut self, id: &OfficeId) -> Result<Option<Office>> {
        let row: Option<OfficeRow> = fetch_optional!(self, OFFICE, id.as_str())?;
        Ok(row.map(Office::from))
    }

    /// The office with this name (without regard to case), for SCIM's
    /// `department` (DIR1).
    pub async fn office_by_name(&mut self, name: &str) -> Result<Option<Office>> {
        statement!(OFFICE_BY_NAME = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE name_norm = $1"));
        let row: Option<OfficeRow> = fetch_optional!(self, OFFICE_BY_NAME, fold(name))?;
        Ok(row.map(Office::from))
    }

    /// [`Tx::office`] with the row locked on PostgreSQL until the
    /// transaction ends, for a change that writes the office back (S9).
    pub async fn office_for_update(&mut self, id: &OfficeId) -> Result<Option<Office>> {
        statement!(postgres OFFICE_FOR_UPDATE = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE id = $1 FOR NO KEY UPDATE"));
        let stmt = match self.dialect() {
            crate::Dialect::Sqlite => &OFFICE,
            crate::Dialect::Postgres => &OFFICE_FOR_UPDATE,
        };
        let row: Option<OfficeRow> = fetch_optional!(self, stmt, id.as_str())?;
        Ok(row.map(Office::from))
    }

    pub async fn office_name_taken(&mut self, name: &str, except: Option<&OfficeId>) -> Result<bool> {
        statement!(OFFICE_NAME_TAKEN = "SELECT COUNT(*) FROM offices WHERE name_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(self, OFFICE_NAME_TAKEN, fold(name), except.map(|o| o.as_str()).unwrap_or(""))?;
        Ok(n > 0)
    }

    pub async fn list_offices(&mut self, only: Option<&OfficeId>, limit: i64, offset: i64) -> Result<(Vec<Office>, i64)> {
        let only = only.map(|o| o.as_str().to_owned());
        statement!(COUNT_OFFICES = "SELECT COUNT(*) FROM offices WHERE (CAST($1 AS TEXT) IS NULL OR id = $1)");
        let total: i64 = scalar_one!(self, COUNT_OFFICES, only.clone())?;
        statement!(
            OFFICES_PAGE =
                formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3")
        );
        let rows: Vec<OfficeRow> = fetch_all!(self, OFFICES_PAGE, only.clone(), limit, offset)?;
        Ok((rows.into_iter().map(Office::from).collect(), total))
    }

    /// D3: offices, active or inactive, where the user is coordinator or backup.
    pub async fn offices_coordinated_by(&mut self, user: &UserId) -> Result<Vec<Office>> {
        statement!(OFFICES_COORDINATED_BY = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE coordinator_id = $1 UNION SELECT {OFFICE_COLUMNS} FROM offices WHERE backup_coordinator_id = $1 ORDER BY name"));
        let rows: Vec<OfficeRow> = fetch_all!(self, OFFICES_COORDINATED_BY, user.as_str())?;
        Ok(rows.into_iter().map(Office::from).collect())
    }
}
