//! Invoice approval routes and their levels.

use crate::db::{exec, fetch_all, fetch_optional, scalar_one, statement, Tx};
use crate::Result;
use domain::model::{ApprovalRoute, RouteLevel};
use domain::text::fold;
use domain::{RouteId, UserId};

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: String,
    name: String,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl Tx {
    /// Inserts a route or replaces an existing one with its levels.
    pub async fn save_route(&mut self, r: &ApprovalRoute, is_new: bool) -> Result<()> {
        if is_new {
            statement!(
                INSERT_ROUTE =
                    "INSERT INTO approval_routes (id, name, name_norm, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
            );
            exec!(
                self,
                INSERT_ROUTE,
                r.id.as_str(),
                r.name.as_str(),
                fold(&r.name),
                r.active,
                r.created_at,
                r.updated_at
            )?;
        } else {
            statement!(UPDATE_ROUTE = "UPDATE approval_routes SET name = $2, name_norm = $3, active = $4, updated_at = $5 WHERE id = $1");
            exec!(
                self,
                UPDATE_ROUTE,
                r.id.as_str(),
                r.name.as_str(),
                fold(&r.name),
                r.active,
                r.updated_at
            )?;
            statement!(CLEAR_ROUTE_DELEGATES = "DELETE FROM approval_route_delegates WHERE route_id = $1");
            exec!(self, CLEAR_ROUTE_DELEGATES, r.id.as_str())?;
            statement!(CLEAR_ROUTE_LEVELS = "DELETE FROM approval_route_levels WHERE route_id = $1");
            exec!(self, CLEAR_ROUTE_LEVELS, r.id.as_str())?;
        }
        for (i, level) in r.levels.iter().enumerate() {
            let pos = i as i64 + 1;
            statement!(INSERT_ROUTE_LEVEL = "INSERT INTO approval_route_levels (route_id, position, primary_approver_id, alternate_approver_id) VALUES ($1, $2, $3, $4)");
            exec!(
                self,
                INSERT_ROUTE_LEVEL,
                r.id.as_str(),
                pos,
                level.primary_approver_id.as_str(),
                level.alternate_approver_id.as_ref().map(|u| u.as_str())
            )?;
            for d in &level.delegate_ids {
                statement!(
                    INSERT_ROUTE_DELEGATE = "INSERT INTO approval_route_delegates (route_id, position, user_id) VALUES ($1, $2, $3)"
                );
                exec!(self, INSERT_ROUTE_DELEGATE, r.id.as_str(), pos, d.as_str())?;
            }
        }
        Ok(())
    }

    pub async fn route(&mut self, id: &RouteId) -> Result<Option<ApprovalRoute>> {
        statement!(ROUTE = "SELECT id, name, active, created_at, updated_at FROM approval_routes WHERE id = $1");
        let row: Option<RouteRow> = fetch_optional!(self, ROUTE, id.as_str())?;
        match row {
            Some(row) => Ok(Some(self.with_levels(row).await?)),
            None => Ok(None),
        }
    }

    /// [`Tx::route`] with the route row locked on PostgreSQL until the
    /// transaction ends, for a change that writes the route back (S9).
    pub async fn route_for_update(&mut self, id: &RouteId) -> Result<Option<ApprovalRoute>> {
        if self.dialect() == crate::Dialect::Postgres {
            statement!(postgres LOCK_ROUTE = "SELECT id FROM approval_routes WHERE id = $1 FOR NO KEY UPDATE");
            exec!(self, LOCK_ROUTE, id.as_str())?;
        }
        self.route(id).await
    }

    pub async fn route_name_taken(&mut self, name: &str, except: Option<&RouteId>) -> Result<bool> {
        statement!(ROUTE_NAME_TAKEN = "SELECT COUNT(*) FROM approval_routes WHERE name_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(self, ROUTE_NAME_TAKEN, fold(name), except.map(|r| r.as_str()).unwrap_or(""))?;
        Ok(n > 0)
    }

    pub async fn list_routes(&mut self, limit: i64, offset: i64) -> Result<(Vec<ApprovalRoute>, i64)> {
        statement!(COUNT_ROUTES = "SELECT COUNT(*) FROM approval_routes");
        let total: i64 = scalar_one!(self, COUNT_ROUTES)?;
        statement!(
            ROUTES_PAGE = "SELECT id, name, active, created_at, updated_at FROM approval_routes ORDER BY name_norm, id LIMIT $1 OFFSET $2"
        );
        let rows: Vec<RouteRow> = fetch_all!(self, ROUTES_PAGE, limit, offset)?;
        let mut routes = Vec::with_capacity(rows.len());
        for row in rows {
            routes.push(self.with_levels(row).await?);
        }
        Ok((routes, total))
    }

    async fn with_levels(&mut self, row: RouteRow) -> Result<ApprovalRoute> {
        #[derive(sqlx::FromRow)]
        struct LevelRow {
            position: i64,
            primary_approver_id: String,
            alternate_approver_id: Option<String>,
        }
        statement!(ROUTE_LEVELS = "SELECT position, primary_approver_id, alternate_approver_id FROM approval_route_levels WHERE route_id = $1 ORDER BY position");
        let levels: Vec<LevelRow> = fetch_all!(self, ROUTE_LEVELS, &row.id)?;
        statement!(
            ROUTE_DELEGATES = "SELECT position, user_id FROM approval_route_delegates WHERE route_id = $1 ORDER BY position, user_id"
        );
        let delegates: Vec<(i64, String)> = fetch_all!(self, ROUTE_DELEGATES, &row.id)?;
        Ok(ApprovalRoute {
            name: crate::db::stored_name(format_args!("route {}", row.id), "name", row.name)?,
            levels: levels
                .into_iter()
                .map(|l| RouteLevel {
                    delegate_ids: delegates
                        .iter()
                        .filter(|(p, _)| *p == l.position)
                        .map(|(_, u)| UserId::from(u.as_str()))
                        .collect(),
                    primary_approver_id: l.primary_approver_id.into(),
                    alternate_approver_id: l.alternate_approver_id.map(UserId::from),
                })
                .collect(),
            id: row.id.into(),
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
