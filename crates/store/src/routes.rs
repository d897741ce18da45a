//! Invoice approval routes and their levels.

use crate::db::{on, Tx};
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
            on!(self, c => sqlx::query("INSERT INTO approval_routes (id, name, name_norm, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(r.id.as_str()).bind(&r.name).bind(fold(&r.name)).bind(r.active).bind(r.created_at).bind(r.updated_at).execute(c).await.map(|r| r.rows_affected()))?;
        } else {
            on!(self, c => sqlx::query("UPDATE approval_routes SET name = $2, name_norm = $3, active = $4, updated_at = $5 WHERE id = $1")
                .bind(r.id.as_str()).bind(&r.name).bind(fold(&r.name)).bind(r.active).bind(r.updated_at).execute(c).await.map(|r| r.rows_affected()))?;
            on!(self, c => sqlx::query("DELETE FROM approval_route_delegates WHERE route_id = $1").bind(r.id.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
            on!(self, c => sqlx::query("DELETE FROM approval_route_levels WHERE route_id = $1").bind(r.id.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
        }
        for (i, level) in r.levels.iter().enumerate() {
            let pos = i as i64 + 1;
            on!(self, c => sqlx::query("INSERT INTO approval_route_levels (route_id, position, primary_approver_id, alternate_approver_id) VALUES ($1, $2, $3, $4)")
                .bind(r.id.as_str()).bind(pos).bind(level.primary_approver_id.as_str())
                .bind(level.alternate_approver_id.as_ref().map(|u| u.as_str())).execute(c).await.map(|r| r.rows_affected()))?;
            for d in &level.delegate_ids {
                on!(self, c => sqlx::query("INSERT INTO approval_route_delegates (route_id, position, user_id) VALUES ($1, $2, $3)")
                    .bind(r.id.as_str()).bind(pos).bind(d.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
            }
        }
        Ok(())
    }

    pub async fn route(&mut self, id: &RouteId) -> Result<Option<ApprovalRoute>> {
        let row: Option<RouteRow> = on!(self, c => sqlx::query_as("SELECT id, name, active, created_at, updated_at FROM approval_routes WHERE id = $1")
            .bind(id.as_str()).fetch_optional(c).await)?;
        match row {
            Some(row) => Ok(Some(self.with_levels(row).await?)),
            None => Ok(None),
        }
    }

    /// [`Tx::route`] with the route row locked on PostgreSQL until the
    /// transaction ends, for a change that writes the route back (S9).
    pub async fn route_for_update(&mut self, id: &RouteId) -> Result<Option<ApprovalRoute>> {
        if self.dialect() == crate::Dialect::Postgres {
            on!(self, c => sqlx::query("SELECT id FROM approval_routes WHERE id = $1 FOR NO KEY UPDATE")
                .bind(id.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
        }
        self.route(id).await
    }

    pub async fn route_name_taken(&mut self, name: &str, except: Option<&RouteId>) -> Result<bool> {
        let n: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM approval_routes WHERE name_norm = $1 AND id <> $2")
            .bind(fold(name)).bind(except.map(|r| r.as_str()).unwrap_or("")).fetch_one(c).await)?;
        Ok(n > 0)
    }

    pub async fn list_routes(&mut self, limit: i64, offset: i64) -> Result<(Vec<ApprovalRoute>, i64)> {
        let total: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM approval_routes").fetch_one(c).await)?;
        let rows: Vec<RouteRow> = on!(self, c => sqlx::query_as("SELECT id, name, active, created_at, updated_at FROM approval_routes ORDER BY name_norm, id LIMIT $1 OFFSET $2")
            .bind(limit).bind(offset).fetch_all(c).await)?;
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
        let levels: Vec<LevelRow> = on!(self, c => sqlx::query_as("SELECT position, primary_approver_id, alternate_approver_id FROM approval_route_levels WHERE route_id = $1 ORDER BY position")
            .bind(&row.id).fetch_all(c).await)?;
        let delegates: Vec<(i64, String)> = on!(self, c => sqlx::query_as("SELECT position, user_id FROM approval_route_delegates WHERE route_id = $1 ORDER BY position, user_id")
            .bind(&row.id).fetch_all(c).await)?;
        Ok(ApprovalRoute {
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
            name: row.name,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
