//! The append-only audit log (R3). Rows are only ever inserted, in the
//! transaction of the change they describe.

use crate::db::{on, Tx};
use crate::sql::{bind_args, Sql};
use crate::Result;
use domain::Millis;

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: Millis,
    pub actor_id: Option<String>,
    /// Who acted, readable even without the user row ("system", "cli").
    pub actor_label: String,
    pub action: String,
    pub target_kind: &'static str,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub source_ip: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: i64,
    pub offset: i64,
}

fn filters(sql: &mut Sql, q: &AuditQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(a) = &q.actor_id {
        sql.push(" AND actor_id = ").text(a.clone());
    }
    if let Some(t) = &q.target_id {
        sql.push(" AND target_id = ").text(t.clone());
    }
    if let Some(a) = &q.action {
        sql.push(" AND action = ").text(a.clone());
    }
    if let Some(f) = q.from {
        sql.push(" AND at >= ").int(f);
    }
    if let Some(t) = q.to {
        sql.push(" AND at < ").int(t);
    }
}

impl Tx {
    pub async fn audit(&mut self, e: &AuditEntry) -> Result<()> {
        let before = e.before.as_ref().map(|v| v.to_string());
        let after = e.after.as_ref().map(|v| v.to_string());
        on!(self, c => sqlx::query("INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(e.at).bind(e.actor_id.as_deref()).bind(&e.actor_label).bind(&e.action).bind(e.target_kind).bind(e.target_id.as_deref())
            .bind(before.as_deref()).bind(after.as_deref()).bind(e.source_ip.as_deref()).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Appends many entries, a few hundred per statement: a change that
    /// touches thousands of rows (an offboarding) writes one entry per row
    /// without one round trip per entry.
    pub async fn audit_many(&mut self, entries: &[AuditEntry]) -> Result<()> {
        for chunk in entries.chunks(500) {
            let mut sql = Sql::new(
                "INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip) VALUES ",
            );
            for (i, e) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.int(e.at)
                    .push(", ")
                    .opt_text(e.actor_id.clone())
                    .push(", ")
                    .text(e.actor_label.clone());
                sql.push(", ").text(e.action.clone()).push(", ").text(e.target_kind);
                sql.push(", ").opt_text(e.target_id.clone());
                sql.push(", ").opt_text(e.before.as_ref().map(|v| v.to_string()));
                sql.push(", ").opt_text(e.after.as_ref().map(|v| v.to_string()));
                sql.push(", ").opt_text(e.source_ip.clone()).push(")");
            }
            on!(self, c => bind_args!(sqlx::query(&sql.text), sql.args.clone()).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Newest first.
    pub async fn list_audit(&mut self, q: &AuditQuery) -> Result<(Vec<AuditRecord>, i64)> {
        let mut count = Sql::new("SELECT COUNT(*) FROM audit_log");
        filters(&mut count, q);
        let total: i64 = on!(self, c => bind_args!(sqlx::query_scalar(&count.text), count.args.clone()).fetch_one(c).await)?;
        let mut page = Sql::new(
            "SELECT id, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip FROM audit_log",
        );
        filters(&mut page, q);
        page.push(" ORDER BY id DESC LIMIT ").int(q.limit).push(" OFFSET ").int(q.offset);
        let rows: Vec<AuditRecord> = on!(self, c => bind_args!(sqlx::query_as(&page.text), page.args.clone()).fetch_all(c).await)?;
        Ok((rows, total))
    }
}
