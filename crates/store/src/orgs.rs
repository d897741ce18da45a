//! Firms and offices/regions.

use crate::db::stored_name;
use crate::db::{exec, fetch_all, fetch_optional, scalar_one, statement, Tx};
use crate::{Result, StoreError};
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

impl TryFrom<FirmRow> for Firm {
    type Error = StoreError;

    fn try_from(r: FirmRow) -> Result<Self> {
        Ok(Firm {
            name: stored_name(format_args!("firm {}", r.id), "name", r.name)?,
            id: r.id.into(),
            active: r.active,
            created_at: r.created_at,
        })
    }
}

/// A row of a page and the number of rows of the whole list
/// (`COUNT(*) OVER ()`), so that a page and its total are one statement:
/// its own snapshot, read without a transaction around it.
#[derive(sqlx::FromRow)]
struct Counted<T> {
    #[sqlx(flatten)]
    row: T,
    total: i64,
}

/// The rows of a page of [`Counted`] rows, and the total. A page past the
/// end has no row to carry the total: it is then counted on its own.
async fn split_counted<R, T>(
    tx: &mut Tx,
    rows: Vec<Counted<R>>,
    offset: i64,
    count: &'static crate::db::Stmt,
    only: Option<String>,
) -> Result<(Vec<T>, i64)>
where
    T: TryFrom<R, Error = StoreError>,
{
    let total = match rows.first() {
        Some(r) => r.total,
        None if offset <= 0 => 0,
        None => scalar_one!(tx, count, only)?,
    };
    Ok((rows.into_iter().map(|r| T::try_from(r.row)).collect::<Result<_>>()?, total))
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

impl TryFrom<OfficeRow> for Office {
    type Error = StoreError;

    fn try_from(r: OfficeRow) -> Result<Self> {
        Ok(Office {
            name: stored_name(format_args!("office {}", r.id), "name", r.name)?,
            id: r.id.into(),
            active: r.active,
            coordinator_id: r.coordinator_id.map(UserId::from),
            backup_coordinator_id: r.backup_coordinator_id.map(UserId::from),
            created_at: r.created_at,
        })
    }
}

const OFFICE_COLUMNS: &str = "id, name, active, coordinator_id, backup_coordinator_id, created_at";
statement!(OFFICE = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE id = $1"));

impl Tx {
    pub async fn insert_firm(&mut self, f: &Firm) -> Result<()> {
        statement!(INSERT_FIRM = "INSERT INTO firms (id, name, name_norm, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)");
        exec!(
            self,
            INSERT_FIRM,
            f.id.as_str(),
            f.name.as_str(),
            fold(&f.name),
            f.active,
            f.created_at
        )?;
        Ok(())
    }

    pub async fn update_firm(&mut self, f: &Firm, now: i64) -> Result<()> {
        statement!(UPDATE_FIRM = "UPDATE firms SET name = $2, name_norm = $3, active = $4, updated_at = $5 WHERE id = $1");
        exec!(self, UPDATE_FIRM, f.id.as_str(), f.name.as_str(), fold(&f.name), f.active, now)?;
        Ok(())
    }

    pub async fn firm(&mut self, id: &FirmId) -> Result<Option<Firm>> {
        statement!(FIRM = "SELECT id, name, active, created_at FROM firms WHERE id = $1");
        let row: Option<FirmRow> = fetch_optional!(self, FIRM, id.as_str())?;
        row.map(Firm::try_from).transpose()
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
        statement!(
            FIRMS_PAGE = "SELECT id, name, active, created_at, COUNT(*) OVER () AS total FROM firms \
             WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3"
        );
        let rows: Vec<Counted<FirmRow>> = fetch_all!(self, FIRMS_PAGE, only.clone(), limit, offset)?;
        split_counted(self, rows, offset, &COUNT_FIRMS, only).await
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
            o.name.as_str(),
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
            o.name.as_str(),
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
        row.map(Office::try_from).transpose()
    }

    /// The office with this name (without regard to case), for SCIM's
    /// `department` (DIR1).
    pub async fn office_by_name(&mut self, name: &str) -> Result<Option<Office>> {
        statement!(OFFICE_BY_NAME = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE name_norm = $1"));
        let row: Option<OfficeRow> = fetch_optional!(self, OFFICE_BY_NAME, fold(name))?;
        row.map(Office::try_from).transpose()
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
        row.map(Office::try_from).transpose()
    }

    pub async fn office_name_taken(&mut self, name: &str, except: Option<&OfficeId>) -> Result<bool> {
        statement!(OFFICE_NAME_TAKEN = "SELECT COUNT(*) FROM offices WHERE name_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(self, OFFICE_NAME_TAKEN, fold(name), except.map(|o| o.as_str()).unwrap_or(""))?;
        Ok(n > 0)
    }

    pub async fn list_offices(&mut self, only: Option<&OfficeId>, limit: i64, offset: i64) -> Result<(Vec<Office>, i64)> {
        let only = only.map(|o| o.as_str().to_owned());
        statement!(COUNT_OFFICES = "SELECT COUNT(*) FROM offices WHERE (CAST($1 AS TEXT) IS NULL OR id = $1)");
        statement!(
            OFFICES_PAGE = formatcp!(
                "SELECT {OFFICE_COLUMNS}, COUNT(*) OVER () AS total FROM offices \
                 WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) ORDER BY name_norm, id LIMIT $2 OFFSET $3"
            )
        );
        let rows: Vec<Counted<OfficeRow>> = fetch_all!(self, OFFICES_PAGE, only.clone(), limit, offset)?;
        split_counted(self, rows, offset, &COUNT_OFFICES, only).await
    }

    /// D3: offices, active or inactive, where the user is coordinator or backup.
    pub async fn offices_coordinated_by(&mut self, user: &UserId) -> Result<Vec<Office>> {
        statement!(OFFICES_COORDINATED_BY = formatcp!("SELECT {OFFICE_COLUMNS} FROM offices WHERE coordinator_id = $1 UNION SELECT {OFFICE_COLUMNS} FROM offices WHERE backup_coordinator_id = $1 ORDER BY name"));
        let rows: Vec<OfficeRow> = fetch_all!(self, OFFICES_COORDINATED_BY, user.as_str())?;
        rows.into_iter().map(Office::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::db::on;
    use crate::{Db, StoreError};
    use domain::{FirmId, OfficeId, RouteId};

    /// A stored name is parsed by `domain::EntityName` on the way in: a
    /// good one reads as it was written, one the rule refuses (written
    /// around the app) is `Corrupt`, naming the row and the column.
    #[tokio::test]
    async fn stored_names_become_entity_names_and_refused_ones_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/names.db", dir.path().display())).await.unwrap();
        db.migrate().await.unwrap();
        let mut tx = db.write().await.unwrap();
        let seed = "INSERT INTO firms (id, name, name_norm, created_at, updated_at) VALUES ('f1', 'Smith LLP', 'smith llp', 0, 0), ('f2', 'Smith\u{202E}PLL', 'x', 0, 0); \
            INSERT INTO offices (id, name, name_norm, created_at, updated_at) VALUES ('o1', 'Head Office', 'head office', 0, 0), ('o2', '   ', 'y', 0, 0); \
            INSERT INTO approval_routes (id, name, name_norm, created_at, updated_at) VALUES ('r1', 'Route\nTwo', 'z', 0, 0); \
            UPDATE settings SET company_name = '' WHERE id = 1";
        on!(tx, |c| sqlx::raw_sql(seed).execute(c).await.map(|_| ())).unwrap();

        assert_eq!(tx.firm(&FirmId::from("f1")).await.unwrap().unwrap().name, "Smith LLP");
        assert_eq!(tx.office(&OfficeId::from("o1")).await.unwrap().unwrap().name, "Head Office");
        let corrupt = |r: Result<_, StoreError>| match r {
            Err(StoreError::Corrupt(m)) => m,
            other => panic!("expected corrupt data, got {:?}", other.map(|_: ()| ())),
        };
        assert_eq!(
            corrupt(tx.firm(&FirmId::from("f2")).await.map(drop)),
            "firm f2: name: name must be a single line of visible characters (U+202E is a control, format or invisible character)"
        );
        assert_eq!(
            corrupt(tx.office(&OfficeId::from("o2")).await.map(drop)),
            "office o2: name: name must not be empty"
        );
        assert!(corrupt(tx.list_offices(None, 10, 0).await.map(drop)).starts_with("office o2: name:"));
        assert!(corrupt(tx.route(&RouteId::from("r1")).await.map(drop)).starts_with("route r1: name: name must be a single line"));
        assert_eq!(
            corrupt(tx.settings().await.map(drop)),
            "settings: company_name: company_name must not be empty"
        );
    }
}
