//! Copying a whole Tracker database into another, empty one — the way to
//! move an embedded SQLite deployment to PostgreSQL (or back). Tables are
//! copied in foreign-key order, in batches, with every value kept as it is
//! (ids, timestamps, hashes, the audit log).

use crate::db::{exec, on, statement, Tx};
use crate::{Db, Dialect, Result, StoreError};
use sqlx::{Column, Row, TypeInfo};

/// Every table, parents before children. `settings` and `audit_chain` (one
/// row each, made by the migrations) are updated in place.
const TABLES: &[(&str, &str)] = &[
    ("firms", "id"),
    ("offices", "id"),
    ("users", "id"),
    ("settings", "id"),
    ("matters", "id"),
    ("participants", "matter_id, user_id"),
    ("delegations", "delegator_id, delegate_id"),
    ("approval_routes", "id"),
    ("approval_route_levels", "route_id, position"),
    ("approval_route_delegates", "route_id, position, user_id"),
    ("sessions", "token_hash"),
    ("sso_identities", "issuer, subject"),
    ("sign_in_links", "token_hash"),
    ("password_history", "user_id, set_at"),
    ("mail_outbox", "id"),
    ("mail_fanout", "id"),
    ("scim_tokens", "id"),
    ("directory_users", "user_id"),
    ("offboarding_items", "id"),
    ("directory_groups", "id"),
    ("directory_group_members", "group_id, user_id"),
    ("audit_log", "id"),
    ("audit_chain", "id"),
    ("server_keys", "purpose"),
];

const BATCH: i64 = 2_000;

#[derive(Debug, Clone)]
enum Value {
    /// A NULL of a column of this kind, bound with its type so that
    /// PostgreSQL accepts it.
    Null(&'static str),
    Int(i64),
    Bool(bool),
    Text(String),
}

/// How many rows of each table were copied.
pub type Copied = Vec<(&'static str, u64)>;

fn kind(type_name: &str) -> &'static str {
    match type_name.to_ascii_uppercase().as_str() {
        "BOOLEAN" | "BOOL" => "bool",
        "INTEGER" | "BIGINT" | "INT8" | "INT" => "int",
        "INT4" | "INT2" => "int32",
        _ => "text",
    }
}

macro_rules! read_rows {
    ($rows:expr) => {{
        let mut out: Vec<(Vec<String>, Vec<Value>)> = Vec::new();
        for row in $rows {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for (i, col) in row.columns().iter().enumerate() {
                names.push(col.name().to_owned());
                let k = kind(col.type_info().name());
                let v = match k {
                    "bool" => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
                    "int" => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
                    "int32" => row.try_get::<Option<i32>, _>(i)?.map(|v| Value::Int(v.into())),
                    _ => match row.try_get::<Option<String>, _>(i) {
                        Ok(v) => v.map(Value::Text),
                        // SQLite reports the runtime type of expression-less
                        // NULL columns as "NULL".
                        Err(_) => None,
                    },
                };
                values.push(v.unwrap_or(Value::Null(k)));
            }
            out.push((names, values));
        }
        out
    }};
}

impl Tx {
    async fn read_batch(&mut self, table: &str, order: &str, offset: i64) -> Result<Vec<(Vec<String>, Vec<Value>)>> {
        let sql = format!("SELECT * FROM {table} ORDER BY {order} LIMIT {BATCH} OFFSET {offset}");
        Ok(on!(self, |c| {
            let rows = sqlx::query(&sql).fetch_all(c).await?;
            Ok::<_, StoreError>(read_rows!(rows))
        })?)
    }

    async fn write_row(&mut self, table: &str, names: &[String], values: &[Value]) -> Result<()> {
        let cols = names.join(", ");
        let sql = if table == "settings" || table == "audit_chain" {
            let sets: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| *n != "id")
                .map(|(i, n)| format!("{n} = ${}", i + 1))
                .collect();
            let id_pos = names.iter().position(|n| n == "id").map(|i| i + 1).unwrap_or(1);
            format!("UPDATE {table} SET {} WHERE id = ${id_pos}", sets.join(", "))
        } else {
            let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            format!("INSERT INTO {table} ({cols}) VALUES ({})", params.join(", "))
        };
        on!(self, |c| {
            let mut q = sqlx::query(&sql);
            for v in values {
                q = match v {
                    Value::Null("int") | Value::Null("int32") => q.bind(Option::<i64>::None),
                    Value::Null("bool") => q.bind(Option::<bool>::None),
                    Value::Null(_) => q.bind(Option::<String>::None),
                    Value::Int(i) => q.bind(*i),
                    Value::Bool(b) => q.bind(*b),
                    Value::Text(s) => q.bind(s.clone()),
                };
            }
            q.execute(c).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    async fn restart_identities(&mut self) -> Result<()> {
        if self.dialect() == Dialect::Postgres {
            statement!(postgres RESTART_MAIL_IDS = "SELECT setval(pg_get_serial_sequence('mail_outbox', 'id'), COALESCE((SELECT MAX(id) FROM mail_outbox), 0) + 1, false)");
            statement!(postgres RESTART_AUDIT_IDS = "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false)");
            statement!(postgres RESTART_FANOUT_IDS = "SELECT setval(pg_get_serial_sequence('mail_fanout', 'id'), COALESCE((SELECT MAX(id) FROM mail_fanout), 0) + 1, false)");
            for stmt in [&RESTART_MAIL_IDS, &RESTART_FANOUT_IDS, &RESTART_AUDIT_IDS] {
                exec!(self, stmt)?;
            }
        }
        Ok(())
    }
}

impl Db {
    /// Copies everything from `self` into `target`, which must be migrated
    /// and hold no users. One transaction on the target: all or nothing.
    pub async fn copy_into(&self, target: &Db) -> Result<Copied> {
        let mut to = target.write().await?;
        if to.count_users().await? > 0 {
            return Err(StoreError::Corrupt(
                "the target database already has users; copy only into an empty, migrated database".into(),
            ));
        }
        let mut from = self.read().await?;
        let mut copied = Vec::new();
        for (table, order) in TABLES {
            let mut n = 0u64;
            let mut offset = 0;
            loop {
                let rows = from.read_batch(table, order, offset).await?;
                if rows.is_empty() {
                    break;
                }
                for (names, values) in &rows {
                    to.write_row(table, names, values).await?;
                    n += 1;
                }
                offset += BATCH;
            }
            copied.push((*table, n));
        }
        to.restart_identities().await?;
        to.commit().await?;
        Ok(copied)
    }
}

/// Rows per statement of the import's batched writes (a few thousand bound
/// values each, well under either database's limit).
const IMPORT_BATCH: usize = 500;

impl Tx {
    /// A3: which of `emails` (compared by `Email::normalized`, like
    /// [`Tx::email_taken`]) an account already has, as their normalized
    /// forms: one statement per few hundred emails instead of one per row.
    pub async fn taken_emails(&mut self, emails: &[&domain::Email]) -> Result<std::collections::HashSet<String>> {
        let mut taken = std::collections::HashSet::new();
        for chunk in emails.chunks(IMPORT_BATCH) {
            let mut sql = crate::sql::Sql::new("SELECT email_norm FROM users WHERE");
            let norm: Vec<String> = chunk.iter().map(|e| e.normalized()).collect();
            crate::sql::push_in_list(&mut sql, " email_norm", norm.iter().map(String::as_str));
            let text = sql.text_for(self.dialect());
            let found: Vec<String> = on!(self, |c| crate::sql::bind_args!(sqlx::query_scalar(&text), sql.args.clone())
                .fetch_all(c)
                .await)?;
            taken.extend(found);
        }
        Ok(taken)
    }

    /// A3: queues `payload` for each `(user, address)`, in that order (ids
    /// ascend with it), in multi-row inserts: what [`Tx::enqueue_mail`]
    /// writes for one.
    pub async fn enqueue_mails(
        &mut self,
        payload: &crate::OutboxPayload,
        to: &[(&domain::UserId, &str)],
        now: domain::Millis,
    ) -> Result<()> {
        let kind = payload.kind().as_str();
        let json = payload.to_json();
        for chunk in to.chunks(IMPORT_BATCH) {
            let mut sql = crate::sql::Sql::new(
                "INSERT INTO mail_outbox (kind, to_user_id, to_address, payload, status, next_attempt_at, created_at) VALUES ",
            );
            for (i, (user, address)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.text(kind).push(", ").text(user.as_str()).push(", ").text(*address);
                sql.push(", ")
                    .text(json.as_str())
                    .push(", 'queued', ")
                    .int(now)
                    .push(", ")
                    .int(now)
                    .push(")");
            }
            let text = sql.text_for(self.dialect());
            on!(self, |c| crate::sql::bind_args!(sqlx::query(&text), sql.args.clone())
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }
}
